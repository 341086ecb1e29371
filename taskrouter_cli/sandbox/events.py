"""Event records (the Events resource) and their event-callback form parameters (§6).

Event types use the callback names (``worker.activity.update``, not ``worker.activity``), in the
REST resource too. ``event_data`` holds snake_case keys of the §6 field groups; the event callback
sends the same keys in PascalCase plus the common parameters.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from .json_codec import to_json
from .records import Event, EventData, Task, Worker, Workspace
from .state import Record
from .store import StoredEvent, new_row


def events_filter_allows(events_filter: str | None, event_type: str) -> bool:
    """Whether a workspace's ``EventsFilter`` lets ``event_type`` through (empty = all).

    Entries are comma-separated; spaces around them are ignored (the docs' example has them).
    """
    if not events_filter:
        return True
    wanted = _filter_entries(events_filter)
    return not wanted or event_type in wanted


@functools.lru_cache(maxsize=256)
def _filter_entries(events_filter: str) -> frozenset[str]:
    """An ``EventsFilter``'s entries (parsed once per filter: every event asks)."""
    return frozenset(part.strip() for part in events_filter.split(",") if part.strip())


def task_fields(task: Task, now: datetime) -> EventData:
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


def worker_fields(worker: Worker) -> EventData:
    return {
        "worker_sid": worker["sid"],
        "worker_name": worker["friendly_name"],
        "worker_attributes": worker["attributes"],
        "worker_activity_sid": worker["activity_sid"],
        "worker_activity_name": worker["activity_name"],
    }


_COLUMN_SIDS = ("task_sid", "worker_sid", "reservation_sid", "task_queue_sid", "workflow_sid")
"""``event_data`` entries that the store keeps in columns of their own."""
_DEFAULTS: dict[str, Any] = {
    "actor_type": "workspace",
    "actor_url": None,
    "resource_url": None,
    "source": "twilio",
    "source_ip_address": "127.0.0.1",
}
_SAME_AS_COLUMN = None
"""Stored in place of an ``event_data`` value equal to its column (``event_data`` never holds
None -- :func:`public_event` leaves such entries out -- so None is free to mean this)."""


_COLUMN_SID_SET = frozenset(_COLUMN_SIDS)


class EventFacts(NamedTuple):
    """What an Event is made of: :func:`public_event` and :func:`stored_event` build from it."""

    sid: str
    account_sid: str
    workspace: Workspace
    event_type: str
    resource_type: str
    resource_sid: str
    description: str
    data: EventData
    now: datetime
    actor_type: str = "workspace"
    actor_sid: str | None = None


def public_event(facts: EventFacts) -> Event:
    """The public Event record (``actor_url``/``resource_url`` are left for the HTTP layer)."""
    workspace, now = facts.workspace, facts.now
    event_data: EventData = {
        "workspace_sid": workspace["sid"],
        "workspace_name": workspace["friendly_name"],
    }
    event_data.update({key: value for key, value in facts.data.items() if value is not None})
    return {
        "account_sid": facts.account_sid,
        "actor_sid": facts.actor_sid or workspace["sid"],
        "actor_type": facts.actor_type,
        "actor_url": None,
        "description": facts.description,
        "event_data": event_data,
        "event_date": now.replace(microsecond=0),
        "event_date_ms": int(now.timestamp() * 1000),
        "event_type": facts.event_type,
        "resource_sid": facts.resource_sid,
        "resource_type": facts.resource_type,
        "resource_url": None,
        "sid": facts.sid,
        "source": "twilio",
        "source_ip_address": "127.0.0.1",
        "workspace_sid": workspace["sid"],
    }


def stored_event(facts: EventFacts) -> StoredEvent:
    """The event as the store keeps it: its columns, and a compact body without what they hold
    (built from the facts: the public record is needed only for a callback or the log).

    Four Events are stored for every task created, and each used to repeat the columns (SIDs,
    type, time) and the same constants in its body: ~1.1 KB each, 5.5 KB of a 7.6 KB task. The
    body keeps only what cannot be derived; :func:`load_event` puts :func:`public_event` back.
    """
    workspace, data, now = facts.workspace, facts.data, facts.now
    actor_sid, actor_type = facts.actor_sid, facts.actor_type
    workspace_sid = workspace["sid"]
    compact: dict[str, Any] = {
        "workspace_sid": _SAME_AS_COLUMN,
        "workspace_name": workspace["friendly_name"],
    }
    columns: dict[str, Any] = dict.fromkeys(_COLUMN_SIDS)
    channel = None
    for key, value in data.items():
        if value is None:
            continue
        if key in _COLUMN_SID_SET:
            columns[key] = value
            compact[key] = _SAME_AS_COLUMN
        elif key == "task_channel_unique_name":
            channel = value
            compact[key] = _SAME_AS_COLUMN
        elif key == "workspace_sid":
            compact[key] = _SAME_AS_COLUMN if value == workspace_sid else value
        else:
            compact[key] = value
    body: dict[str, Any] = {"account_sid": facts.account_sid}
    if actor_sid and actor_sid != workspace_sid:
        body["actor_sid"] = actor_sid
    if actor_type != _DEFAULTS["actor_type"]:
        body["actor_type"] = actor_type
    body["description"] = facts.description
    body["event_data"] = compact
    date_ms = int(now.timestamp() * 1000)
    if now.tzinfo is not timezone.utc:  # UTC (every clock's): the second of date_ms, as read
        date = now.replace(microsecond=0)
        if date.utcoffset() != _UTC_OFFSET or date.timestamp() != date_ms // 1000:
            body["event_date"] = date.isoformat()
    body["resource_sid"] = facts.resource_sid
    body["resource_type"] = facts.resource_type
    return new_row(
        StoredEvent,
        (
            facts.sid,
            workspace_sid,
            facts.event_type,
            date_ms,
            columns["task_sid"],
            columns["worker_sid"],
            columns["reservation_sid"],
            columns["task_queue_sid"],
            columns["workflow_sid"],
            channel,
            to_json(body),
        ),
    )


def load_event(stored: StoredEvent) -> Record:
    """The public Event record of a stored one (also of bodies stored whole, before compaction);
    untyped: it goes to the HTTP layer."""
    body: dict[str, Any] = json.loads(stored.body)
    if "sid" in body:  # stored whole by an earlier version
        body["event_date"] = datetime.fromisoformat(body["event_date"])
        return body
    data = body.get("event_data") or {}
    for key, value in data.items():
        if value is _SAME_AS_COLUMN:
            if key == "workspace_sid":
                data[key] = stored.workspace_sid
            elif key == "task_channel_unique_name":
                data[key] = stored.task_channel
            else:
                data[key] = getattr(stored, key)
    date = body.get("event_date")
    event: Record = {
        "account_sid": body.get("account_sid"),
        "actor_sid": body.get("actor_sid", stored.workspace_sid),
        "actor_type": body.get("actor_type", _DEFAULTS["actor_type"]),
        "actor_url": body.get("actor_url"),
        "description": body.get("description"),
        "event_data": data,
        "event_date": datetime.fromisoformat(date) if date else _second_of(stored.event_date_ms),
        "event_date_ms": stored.event_date_ms,
        "event_type": stored.event_type,
        "resource_sid": body.get("resource_sid"),
        "resource_type": body.get("resource_type"),
        "resource_url": body.get("resource_url"),
        "sid": stored.sid,
        "source": body.get("source", _DEFAULTS["source"]),
        "source_ip_address": body.get("source_ip_address", _DEFAULTS["source_ip_address"]),
        "workspace_sid": stored.workspace_sid,
    }
    return event


_UTC_OFFSET = timedelta(0)


def _second_of(event_date_ms: int) -> datetime:
    return datetime.fromtimestamp(event_date_ms // 1000, timezone.utc)


@functools.lru_cache(maxsize=256)
def _pascal(name: str) -> str:
    """``task_queue_sid`` -> ``TaskQueueSid`` (cached: Events use a few dozen names)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def callback_params(event: Event) -> list[tuple[str, str]]:
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
