"""Tasks not in use are not held as dicts (``task_table.py``): they read back from SQLite as
they were, writes made while iterating are kept, and lists and statistics do not load them."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.server import SandboxServer
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore

from .conftest import accept, make_task, reservations, reserved_for_alice, set_activity

TASKS = 30


def _cold(service: SandboxService) -> SandboxService:
    """Keep no whole task in memory between operations (each one reads its tasks back)."""
    service.state.tasks.hot_size = 0
    service.state.tasks.trim()
    return service


def _held(service: SandboxService) -> int:
    return sum(1 for _ in service.state.tasks._hot)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sandbox.db"


@pytest.fixture
def service(db_path: Path, clock: FakeClock) -> Iterator[SandboxService]:
    """conftest's ``service`` on a SQLite file, holding no whole task between operations (its
    ``quickstart`` fixture seeds this one)."""
    svc = _cold(SandboxService(SqliteStore(db_path), clock))
    yield svc
    svc.close()


def _all_tasks(service: SandboxService, scope: dict[str, Any]) -> list[dict[str, Any]]:
    return service.list("task", scope, page_size=1000).records


def _tasks_after_restart(
    service: SandboxService, db_path: Path, clock: FakeClock, scope: dict[str, Any]
) -> list[dict[str, Any]]:
    """Close ``service``, open its database again, list the tasks there."""
    service.close()
    restarted = SandboxService(SqliteStore(db_path), clock)
    try:
        return _all_tasks(restarted, scope)
    finally:
        restarted.close()


def test_tasks_dropped_from_memory_read_back_as_they_were(
    service: SandboxService, quickstart: dict[str, Any], db_path: Path, clock: FakeClock
) -> None:
    qs = quickstart
    created = [
        make_task(service, qs, language=("es", "en")[i % 2], priority=i) for i in range(TASKS)
    ]
    assert _held(service) == 0
    listed = _all_tasks(service, qs["scope"])
    fetched = [service.fetch("task", qs["scope"], task["sid"]) for task in created]
    assert [t["sid"] for t in listed] == [t["sid"] for t in created]
    assert listed == fetched
    assert [t["priority"] for t in fetched] == list(range(TASKS))
    assert {t["task_queue_friendly_name"] for t in fetched} == {
        "Customer Care Requests - Spanish",
        "Customer Care Requests - English",
    }
    assert _tasks_after_restart(service, db_path, clock, qs["scope"]) == listed


def test_a_whole_lifecycle_runs_with_every_task_read_back(
    service: SandboxService, quickstart: dict[str, Any]
) -> None:
    qs = quickstart
    task, res = reserved_for_alice(service, qs)
    assert res["reservation_status"] == "pending"
    accepted = accept(service, qs, task, res)
    assert accepted["reservation_status"] == "accepted"
    assert service.fetch("task", qs["scope"], task["sid"])["assignment_status"] == "assigned"
    done = service.update(
        "task", qs["scope"], task["sid"], {"assignment_status": "completed", "reason": "done"}
    )
    assert done["assignment_status"] == "completed"
    assert _held(service) == 0


def test_a_rename_reaches_every_task_not_in_memory(
    service: SandboxService, quickstart: dict[str, Any], db_path: Path, clock: FakeClock
) -> None:
    qs = quickstart
    created = [make_task(service, qs) for _ in range(TASKS)]
    etags = {t["sid"]: service.etag("task", qs["scope"], t["sid"]) for t in created}
    service.update(
        "task_queue",
        qs["scope"],
        qs["queues"]["Customer Care Requests - Spanish"],
        {"friendly_name": "Español"},
    )
    after = _all_tasks(service, qs["scope"])
    assert {t["task_queue_friendly_name"] for t in after} == {"Español"}
    assert all(service.etag("task", qs["scope"], sid) != etag for sid, etag in etags.items())
    restarted = _tasks_after_restart(service, db_path, clock, qs["scope"])
    assert {t["task_queue_friendly_name"] for t in restarted} == {"Español"}


def test_lists_and_statistics_count_tasks_without_keeping_them(
    service: SandboxService, quickstart: dict[str, Any]
) -> None:
    qs = quickstart
    for i in range(TASKS):
        make_task(service, qs, language=("es", "en")[i % 3 == 0], priority=i % 2)
    scope = qs["scope"]
    page = service.list("task", scope, {"assignment_status": "pending"}, page_size=5)
    assert len(page.records) == 5 and page.next_page_token
    by_priority = service.list("task", scope, {"ordering": "Priority:desc"}, page_size=TASKS)
    assert [t["priority"] for t in by_priority.records] == sorted(
        [i % 2 for i in range(TASKS)], reverse=True
    )
    english = service.list(
        "task", scope, {"evaluate_task_attributes": 'selected_language == "en"'}, page_size=50
    )
    assert len(english.records) == sum(1 for i in range(TASKS) if i % 3 == 0)
    stats = service.statistics("workspace.realtime", scope)
    assert isinstance(stats, dict)
    assert stats["total_tasks"] == TASKS
    assert stats["tasks_by_priority"] == {"0": TASKS // 2, "1": TASKS // 2}
    queue = service.statistics(
        "task_queue.realtime", scope, qs["queues"]["Customer Care Requests - English"]
    )
    assert isinstance(queue, dict)
    assert queue["tasks_by_status"]["pending"] == len(english.records)
    assert queue["longest_relative_task_sid_in_queue"] == english.records[0]["sid"]
    assert _held(service) == 0


def test_held_tasks_stay_within_the_bound(
    service: SandboxService, quickstart: dict[str, Any]
) -> None:
    service.state.tasks.hot_size = 10
    for _ in range(TASKS):
        make_task(service, quickstart)
    assert _held(service) == 10
    assert len(service.state.tasks) == TASKS


def test_routing_right_after_a_create_over_http_reads_the_task_back(
    service: SandboxService, quickstart: dict[str, Any]
) -> None:
    """On the server's loop a write waits for the group commit while its routing runs: a task
    no longer in memory must be read back with the writes not yet committed."""
    qs = quickstart
    set_activity(service, qs, "Alice", "Idle")
    set_activity(service, qs, "Bob", "Idle")
    auth = base64.b64encode(f"{service.account_sid}:{service.auth_token}".encode()).decode()
    with SandboxServer(service) as server:
        url = f"{server.base_url}/v1/Workspaces/{qs['scope']['workspace_sid']}/Tasks"
        body = urllib.parse.urlencode(
            {"WorkflowSid": qs["workflow"], "Attributes": '{"selected_language": "en"}'}
        ).encode()
        request = urllib.request.Request(url, data=body, headers={"Authorization": f"Basic {auth}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            sid = json.loads(answer.read())["sid"]
        assert service.settle()
        task = service.fetch("task", qs["scope"], sid)
        assert task["assignment_status"] == "reserved"
        assert [r["reservation_status"] for r in reservations(service, qs, sid)] == ["pending"]
