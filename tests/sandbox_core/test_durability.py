"""Persistence (reopen the SQLite file: records and timers resume) and concurrency."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.errors import TaskRouterError
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore

from .conftest import reservations, reserved_for_alice, set_activity


def _names(service: SandboxService, scope: dict[str, Any], kind: str) -> dict[str, str]:
    return {r["friendly_name"]: r["sid"] for r in service.list(kind, scope).records}


def test_reopen_keeps_everything_and_timers_resume(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    clock = FakeClock()
    first = SandboxService(SqliteStore(path), clock)
    workspace = first.seed_quickstart()
    assert workspace is not None
    scope = {"workspace_sid": workspace["sid"]}
    qs = {
        "scope": scope,
        "workflow": first.list("workflow", scope).records[0]["sid"],
        "workers": _names(first, scope, "worker"),
        "activities": _names(first, scope, "activity"),
    }
    task, res = reserved_for_alice(first, qs)
    credentials = (first.account_sid, first.auth_token)
    first.close()

    clock.advance(1200)
    second = SandboxService(SqliteStore(path), clock)
    try:
        assert (second.account_sid, second.auth_token) == credentials
        assert second.next_deadline() is not None
        second.tick()
        [after] = reservations(second, qs, task["sid"])
        assert after["sid"] == res["sid"] and after["reservation_status"] == "timeout"
        assert second.fetch("worker", scope, qs["workers"]["Alice"])["activity_name"] == "Offline"
        # the task is routed again once Alice comes back
        set_activity(second, qs, "Alice", "Idle")
        assert [r["reservation_status"] for r in reservations(second, qs, task["sid"])] == [
            "timeout",
            "pending",
        ]
        assert second.seed_quickstart() is None
    finally:
        second.close()


def test_reset_keeps_credentials(service: SandboxService, quickstart: dict[str, Any]) -> None:
    sid = service.account_sid
    service.reset()
    assert service.list("workspace", {}).records == []
    assert service.account_sid == sid
    assert service.authenticate(sid, service.auth_token)
    assert not service.authenticate(sid, "nope")
    assert service.seed_quickstart() is not None


def test_fifty_simultaneous_accepts_give_one_success(
    service: SandboxService, quickstart: dict[str, Any]
) -> None:
    qs = quickstart
    task, res = reserved_for_alice(service, qs)
    scope = {**qs["scope"], "task_sid": task["sid"]}
    barrier = threading.Barrier(50)
    outcomes: list[str] = []

    def accept() -> None:
        barrier.wait()
        try:
            service.update("reservation", scope, res["sid"], {"reservation_status": "accepted"})
            outcomes.append("ok")
        except TaskRouterError as exc:
            outcomes.append(str(exc.status))

    threads = [threading.Thread(target=accept) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes.count("ok") == 1 and outcomes.count("400") == 49


def test_a_failed_operation_leaves_no_trace(
    service: SandboxService, quickstart: dict[str, Any]
) -> None:
    qs = quickstart
    before = service.list("task", qs["scope"]).records
    try:
        service.create(
            "task", qs["scope"], {"attributes": "[1, 2]", "workflow_sid": qs["workflow"]}
        )
    except TaskRouterError as exc:
        assert exc.status == 400 and "Attributes" in exc.message
    else:
        raise AssertionError("a JSON array is not valid task attributes")
    assert service.list("task", qs["scope"]).records == before


def test_the_first_credentials_written_win(tmp_path: Path) -> None:
    # `trcli sandbox &` then `trcli sandbox env` right away: two processes may both find a new
    # database without credentials and generate some. Whatever the interleaving, the first
    # value stored must be the one both use (a second writer must not replace it).
    path = tmp_path / "sandbox.db"
    first, second = SqliteStore(path), SqliteStore(path)
    try:
        assert first.setdefault_meta("auth_token", "generated-by-first") == "generated-by-first"
        assert second.setdefault_meta("auth_token", "generated-by-second") == "generated-by-first"
        service = SandboxService(second, FakeClock())
        assert service.auth_token == "generated-by-first"
    finally:
        first.close()
        second.close()
