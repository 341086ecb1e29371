"""``trcli events list`` and ``trcli events tail``."""

from __future__ import annotations

from typing import Any

from tests.helpers.cli import Trcli


def test_list_filters(trcli: Trcli, spanish_task: Any) -> None:
    sid = spanish_task()
    other = spanish_task()
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    task_events = trcli("events", "list", "--task", sid, "--json").ok().json()
    types = [e["event_type"] for e in task_events]
    assert "task.created" in types and "reservation.created" in types
    assert all(e["resource_sid"] != other for e in task_events)
    created = trcli("events", "list", "--type", "task.created", "--since", "10m", "--json").ok()
    assert {e["resource_sid"] for e in created.json()} == {sid, other}
    worker = trcli("events", "list", "--worker", "Alice", "--type", "worker.activity.update")
    assert worker.ok().stdout.count("worker.activity.update") >= 1
    limited = trcli("events", "list", "--limit", "1", "--json").ok().json()
    assert len(limited) == 1
    table = trcli("events", "list", "--task", sid).ok().stdout
    assert "task.created" in table


def test_since_accepts_iso_and_rejects_nonsense(trcli: Trcli, spanish_task: Any) -> None:
    spanish_task()
    iso = trcli("events", "list", "--since", "2024-01-01T11:59:00Z", "--json").ok().json()
    assert any(e["event_type"] == "task.created" for e in iso)
    later = trcli("events", "list", "--since", "2024-01-01T12:30:00Z", "--json").ok().json()
    assert later == []
    bad = trcli("events", "list", "--since", "yesterday")
    assert bad.exit_code == 2 and "neither a duration nor an ISO-8601 time" in bad.stderr


def test_tail_with_since_prints_then_stops(trcli: Trcli, spanish_task: Any) -> None:
    sid = spanish_task()
    outcome = trcli(
        "events", "tail", "--since", "5m", "--task", sid, "--timeout", "0.3", "--interval", "0.1"
    ).ok()
    assert "task.created" in outcome.stdout and sid in outcome.stdout
    assert "Stopped after 0.3 s" in outcome.stderr
    as_json = trcli(
        "events", "tail", "--since", "5m", "--type", "task.created", "--timeout", "0.2", "--json"
    ).ok()
    lines = [line for line in as_json.stdout.splitlines() if line]
    assert len(lines) == 1 and '"event_type": "task.created"' in lines[0]


def test_tail_without_since_shows_only_new_events(trcli: Trcli, spanish_task: Any) -> None:
    spanish_task()
    outcome = trcli("events", "tail", "--timeout", "0.2", "--interval", "0.1").ok()
    assert outcome.stdout == ""
    assert "0 event(s)" in outcome.stderr


def test_events_name_workers_as_a_person_does(trcli: Trcli, spanish_task: Any) -> None:
    sid = spanish_task()
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    listed = trcli("events", "list", "--since", "5m").ok().stdout
    assert "Alice (WK" in listed
    followed = trcli(
        "events", "tail", "--since", "5m", "--type", "reservation.created", "--timeout", "0.2"
    ).ok()
    assert "for Alice (WK" in followed.stdout and "WR" in followed.stdout
    assert sid
