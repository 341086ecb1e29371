"""Events and records are stored compactly (no columns repeated in the body, deflated with a
fixed dictionary) and read back exactly as they were made -- also from older databases, whose
bodies are plain JSON text."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from taskrouter_cli.sandbox.body_codec import pack, unpack
from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.events import (
    EventFacts,
    load_event,
    public_event,
    stored_event,
)
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore

from .conftest import make_task, set_activity

WORKSPACE = {"sid": "WS" + "1" * 32, "friendly_name": "Quickstart"}
TASK_DATA = {
    "task_sid": "WT" + "2" * 32,
    "task_attributes": '{"selected_language": "es"}',
    "task_queue_sid": "WQ" + "3" * 32,
    "task_queue_name": "Spanish",
    "task_channel_unique_name": "default",
    "workflow_sid": "WW" + "4" * 32,
    "worker_sid": "WK" + "5" * 32,
    "reservation_sid": "WR" + "6" * 32,
    "task_priority": 0,
}
UTC = timezone.utc


def facts(now: datetime, data: dict[str, Any], **extra: Any) -> EventFacts:
    return EventFacts(
        sid="EV" + "8" * 32,
        account_sid="AC" + "7" * 32,
        workspace=WORKSPACE,  # type: ignore[arg-type]
        event_type="reservation.created",
        resource_type="reservation",
        resource_sid=TASK_DATA["reservation_sid"],
        description="Reservation created",
        data=data,  # type: ignore[arg-type]
        now=now,
        **extra,
    )


CASES = [
    facts(datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), TASK_DATA),
    facts(datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC), {"worker_name": "Alice"}),
    facts(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))), TASK_DATA),
    facts(
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        {"workspace_sid": "WS" + "9" * 32, "task_channel_unique_name": "voice"},
        actor_type="worker",
        actor_sid=TASK_DATA["worker_sid"],
    ),
    facts(
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        {**TASK_DATA, "task_canceled_reason": None, "workspace_name": "Renamed"},
        actor_sid=WORKSPACE["sid"],
    ),
]
CASE_IDS = ["task fields", "second boundary", "not UTC", "overridden defaults", "renamed"]


BASE_BODY = ["account_sid", "description", "event_data", "resource_sid", "resource_type"]
ACTOR_BODY = ["account_sid", "actor_sid", "actor_type", *BASE_BODY[1:]]
BODY_KEYS = [BASE_BODY, BASE_BODY, [*BASE_BODY[:3], "event_date", *BASE_BODY[3:]], ACTOR_BODY]
BODY_KEYS.append(BASE_BODY)
"""What each case's stored body keeps, in order: defaults, the workspace as actor and a date
that its milliseconds column gives back are left out."""


@pytest.mark.parametrize(("made", "keys"), list(zip(CASES, BODY_KEYS, strict=True)), ids=CASE_IDS)
def test_an_event_is_stored_compactly(made: EventFacts, keys: list[str]) -> None:
    body = json.loads(stored_event(made).body)
    assert list(body) == keys
    data = body["event_data"]
    in_columns = {"task_sid", "worker_sid", "reservation_sid", "task_queue_sid", "workflow_sid"}
    assert all(data[name] is None for name in in_columns & set(made.data))
    workspace_sid = made.data.get("workspace_sid", WORKSPACE["sid"])
    assert data["workspace_sid"] == (None if workspace_sid == WORKSPACE["sid"] else workspace_sid)
    assert data["workspace_name"] == made.data.get("workspace_name", WORKSPACE["friendly_name"])


@pytest.mark.parametrize("made", CASES, ids=CASE_IDS)
def test_an_event_reads_back_exactly_as_it_was_made(made: EventFacts) -> None:
    stored = stored_event(made)
    body = stored.body.decode() if isinstance(stored.body, bytes) else stored.body
    assert stored.sid not in body and TASK_DATA["task_sid"] not in body
    assert load_event(stored) == public_event(made)
    assert list(load_event(stored)["event_data"]) == list(public_event(made)["event_data"])


def test_bodies_are_deflated_and_bodies_stored_as_text_still_read() -> None:
    text = json.dumps({"attributes": '{"type": "support"}', "friendly_name": "é"})
    packed = pack(text)
    assert isinstance(packed, bytes) and len(packed) < len(text)
    assert unpack(packed) == text
    assert unpack(text) == text


def quickstart_on_file(path: Path) -> tuple[SandboxService, dict[str, str]]:
    """A sandbox on the SQLite file ``path`` with the quickstart workspace, and its scope."""
    service = SandboxService(SqliteStore(path), FakeClock())
    workspace = service.seed_quickstart()
    assert workspace is not None
    return service, {"workspace_sid": workspace["sid"]}


def test_plain_json_blobs_read_back() -> None:
    text = '{"friendly_name": "é"}'
    assert unpack(text.encode()) == text


def test_worker_bodies_are_stored_plain_task_bodies_deflated_and_both_survive_a_restart(
    tmp_path: Path,
) -> None:
    """Workers and their channels are rewritten at every reservation and activity change and
    are few: kept as plain JSON (no deflating on every write); tasks, many, stay deflated."""
    path = tmp_path / "sandbox.db"
    service, scope = quickstart_on_file(path)
    workers = service.list("worker", scope, {}, 50).records
    created = service.create("task", scope, {"attributes": '{"selected_language": "es"}'})
    task = service.fetch("task", scope, created["sid"])  # routed into a queue meanwhile
    service.close()
    with sqlite3.connect(path) as db:
        first_bytes = {
            str(kind): {
                bytes(body[:1])
                for (body,) in db.execute("SELECT body FROM records WHERE kind = ?", (kind,))
            }
            for kind in ("worker", "worker_channel", "task")
        }
    assert first_bytes == {"worker": {b"{"}, "worker_channel": {b"{"}, "task": {b"\x01"}}
    reopened = SandboxService(SqliteStore(path), FakeClock())
    try:
        assert reopened.list("worker", scope, {}, 50).records == workers
        assert reopened.fetch("task", scope, task["sid"]) == task
    finally:
        reopened.close()


def test_a_database_of_an_earlier_version_lists_its_events(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    service, scope = quickstart_on_file(path)
    made = service.list("event", scope, {}, 1000).records
    service.close()
    with sqlite3.connect(path) as db:  # rewrite every body as an earlier version stored it
        for event_made in made:
            body = {**event_made, "event_date": event_made["event_date"].isoformat()}
            db.execute("UPDATE events SET body = ? WHERE sid = ?", (json.dumps(body), body["sid"]))
    reopened = SandboxService(SqliteStore(path), FakeClock())
    try:
        assert reopened.list("event", scope, {}, 1000).records == made
    finally:
        reopened.close()


def test_events_api_gives_back_what_a_lifecycle_made(
    service: SandboxService, quickstart: dict[str, Any]
) -> None:
    task = make_task(service, quickstart)
    set_activity(service, quickstart, "Alice", "Idle")
    scope = quickstart["scope"]
    events = service.list("event", scope, {"task_sid": task["sid"]}, 1000).records
    assert [e["event_type"] for e in events][:2] == ["task.created", "workflow.entered"]
    for listed in events:
        assert service.fetch("event", scope, listed["sid"]) == listed
        assert listed["event_data"]["task_sid"] == task["sid"]
        assert listed["event_data"]["workspace_sid"] == scope["workspace_sid"]
        assert listed["source"] == "twilio" and listed["actor_url"] is None
