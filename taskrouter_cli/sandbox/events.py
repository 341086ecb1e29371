"""Event records (the Events resource) and their event-callback form parameters (§6).

Event types use the callback names (``worker.activity.update``, not ``worker.activity``), in the
REST resource too. ``event_data`` holds snake_case keys of the §6 field groups; the event callback
sends the same keys in PascalCase plus the common parameters.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .sids import new_sid
from .state import Record
from .store import StoredEvent


def events_filter_allows(events_filter: str | None, event_type: str) -> bool:
    """Whether a workspace's ``EventsFilter`` lets ``event_type`` through (empty = all).

    Entries are comma-separated; spaces around them are ignored (the docs' example has them).
    """
    if not events_filter or not events_filter.strip():
        return True
    wanted = {part.strip() for part in events_filter.split(",") if part.strip()}
    return event_type in wanted


def task_fields(task: Record, now: datetime) -> dict[str, Any]:
    return {
        "task_sid": task["sid"],
        "task_attributes": task["attributes"],
        "task_age": int((now - task["date_created"]).total_seconds()),
        "task_priority": task["priority"],
        "task_assignment_status": task["assignment_status"],
        "task_canceled_reason": task["reason"] if task["assignment_status"] == "canceled" else None,
        "task_completed_reason": task["reason"]
        if task["assignment_status"] == "completed"
        else None,
        "task_channel_sid": task["task_channel_sid"],
        "task_channel_unique_name": task["task_channel_unique_name"],
        "task_date_created": int(task["date_created"].timestamp()),
        "task_queue_sid": task["task_queue_sid"],
        "task_queue_name": task["task_queue_friendly_name"],
        "workflow_sid": task["workflow_sid"],
        "workflow_name": task["workflow_friendly_name"],
    }


def worker_fields(worker: Record) -> dict[str, Any]:
    return {
        "worker_sid": worker["sid"],
        "worker_name": worker["friendly_name"],
        "worker_attributes": worker["attributes"],
        "worker_activity_sid": worker["activity_sid"],
        "worker_activity_name": worker["activity_name"],
    }


def build_event(
    *,
    account_sid: str,
    workspace: Record,
    event_type: str,
    resource_type: str,
    resource_sid: str,
    description: str,
    data: dict[str, Any],
    now: datetime,
    actor_type: str = "workspace",
    actor_sid: str | None = None,
) -> Record:
    """A public Event record (``actor_url``/``resource_url`` are left for the HTTP layer)."""
    event_data = {"workspace_sid": workspace["sid"], "workspace_name": workspace["friendly_name"]}
    event_data.update({key: value for key, value in data.items() if value is not None})
    return {
        "account_sid": account_sid,
        "actor_sid": actor_sid or workspace["sid"],
        "actor_type": actor_type,
        "actor_url": None,
        "description": description,
        "event_data": event_data,
        "event_date": now.replace(microsecond=0),
        "event_date_ms": int(now.timestamp() * 1000),
        "event_type": event_type,
        "resource_sid": resource_sid,
        "resource_type": resource_type,
        "resource_url": None,
        "sid": new_sid("EV"),
        "source": "twilio",
        "source_ip_address": "127.0.0.1",
        "workspace_sid": workspace["sid"],
    }


def stored_event(event: Record) -> StoredEvent:
    data = event["event_data"]
    body = dict(event)
    body["event_date"] = event["event_date"].isoformat()
    return StoredEvent(
        sid=event["sid"],
        workspace_sid=event["workspace_sid"],
        event_type=event["event_type"],
        event_date_ms=event["event_date_ms"],
        task_sid=data.get("task_sid"),
        worker_sid=data.get("worker_sid"),
        reservation_sid=data.get("reservation_sid"),
        task_queue_sid=data.get("task_queue_sid"),
        workflow_sid=data.get("workflow_sid"),
        task_channel=data.get("task_channel_unique_name"),
        body=json.dumps(body, separators=(",", ":")),
    )


def load_event(body: str) -> Record:
    event: Record = json.loads(body)
    event["event_date"] = datetime.fromisoformat(event["event_date"])
    return event


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def callback_params(event: Record) -> list[tuple[str, str]]:
    """Form parameters of the event callback POST for ``event``."""
    data = event["event_data"]
    params: dict[str, str] = {
        "Sid": event["sid"],
        "EventType": event["event_type"],
        "AccountSid": event["account_sid"],
        "WorkspaceSid": event["workspace_sid"],
        "WorkspaceName": str(data.get("workspace_name", "")),
        "EventDescription": event["description"],
        "ResourceType": event["resource_type"],
        "ResourceSid": event["resource_sid"],
        "Timestamp": str(event["event_date_ms"] // 1000),
        "TimestampMs": str(event["event_date_ms"]),
    }
    for key, value in data.items():
        name = _pascal(key)
        if name in params:
            continue
        if isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            params[name] = json.dumps(value)
        else:
            params[name] = str(value)
    return list(params.items())
