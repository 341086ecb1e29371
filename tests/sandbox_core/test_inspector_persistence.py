"""The callback inspector (service.deliveries()) is kept in the database: it survives a
restart, numbering goes on, old deliveries are trimmed, and reset empties it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.options import SandboxOptions
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore

from .conftest import CallbackServer, json_reply, make_task, reservations, set_activity


def open_quickstart(path: Path, clock: FakeClock, **options: Any) -> tuple[SandboxService, Any]:
    service = SandboxService(SqliteStore(path), clock, options=SandboxOptions(**options))
    service.seed_quickstart()
    [workspace] = service.list("workspace", {}).records
    scope = {"workspace_sid": workspace["sid"]}
    qs = {
        "scope": scope,
        "workflow": service.list("workflow", scope).records[0]["sid"],
        "workers": {w["friendly_name"]: w["sid"] for w in service.list("worker", scope).records},
        "activities": {
            a["friendly_name"]: a["sid"] for a in service.list("activity", scope).records
        },
    }
    return service, qs


def deliver_one(service: SandboxService, qs: Any) -> str:
    """Create a task, reserve Alice (one assignment callback), then free her again."""
    task = make_task(service, qs)
    set_activity(service, qs, "Alice", "Idle")
    assert service.dispatcher.flush(10)
    [reservation] = reservations(service, qs, task["sid"])
    service.update(
        "task", qs["scope"], task["sid"], {"assignment_status": "canceled", "reason": "test"}
    )
    set_activity(service, qs, "Alice", "Offline")
    return str(reservation["sid"])


def test_deliveries_survive_a_restart(tmp_path: Path, callback_server: CallbackServer) -> None:
    path, clock = tmp_path / "sandbox.db", FakeClock()
    url = callback_server.on("/cb", json_reply({}))
    first, qs = open_quickstart(path, clock)
    first.update("workflow", qs["scope"], qs["workflow"], {"assignment_callback_url": url})
    reservation_sid = deliver_one(first, qs)
    before = first.deliveries()
    first.close()

    second, qs = open_quickstart(path, clock)
    try:
        assert second.deliveries() == before
        assert before[-1]["reservation_sid"] == reservation_sid
        assert before[-1]["signature"] and before[-1]["params"]["ReservationSid"] == reservation_sid
        deliver_one(second, qs)
        ids = [d["id"] for d in second.deliveries()]
        assert ids == sorted(ids) and len(set(ids)) == len(ids) == len(before) + 1
    finally:
        second.close()


def test_old_deliveries_are_trimmed_and_reset_empties(
    tmp_path: Path, callback_server: CallbackServer
) -> None:
    path, clock = tmp_path / "sandbox.db", FakeClock()
    url = callback_server.on("/cb", json_reply({}))
    service, qs = open_quickstart(path, clock, max_deliveries=3)
    service.update("workflow", qs["scope"], qs["workflow"], {"assignment_callback_url": url})
    for _ in range(5):
        deliver_one(service, qs)
    kept = service.deliveries()
    assert len(kept) == 3
    service.close()

    reopened, _ = open_quickstart(path, clock, max_deliveries=3)
    try:
        assert reopened.deliveries() == kept
        reopened.reset()
        assert reopened.deliveries() == []
    finally:
        reopened.close()
    after_reset, _ = open_quickstart(path, clock, max_deliveries=3)
    try:
        assert after_reset.deliveries() == []
    finally:
        after_reset.close()
