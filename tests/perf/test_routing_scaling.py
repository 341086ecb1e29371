"""Routing work must not grow with the number of pending tasks: counted, not timed.

Each measured operation runs under ``sys.setprofile`` counting every Python and C function call
it makes (a deterministic measure of how much routing does: a scan of the waiting tasks would
multiply it), and SQLite's ``total_changes`` counts the rows it writes. Both are compared with
10 and with 10,000 pending tasks that no worker can take. A control measurement (listing every
task) shows the counters do see work that grows with the pending tasks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import Any

import pytest

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore
from tests.helpers.sandbox_setup import one_queue_workspace

WORKERS = 12


@dataclass
class Work:
    calls: int
    rows_written: int


@dataclass
class Bench:
    service: SandboxService
    scope: dict[str, str]
    workflow: str
    available: str
    workers: list[str]

    def create_task(self) -> dict[str, Any]:
        return self.service.create("task", self.scope, {"workflow_sid": self.workflow})

    def make_available(self, worker: str) -> None:
        self.service.update("worker", self.scope, worker, {"activity_sid": self.available})


def measure(service: SandboxService, operation: Callable[[], object]) -> Work:
    """Function calls made and rows written by ``operation`` (in this thread)."""
    calls = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    connection = service.store._conn
    rows_before = connection.total_changes
    sys.setprofile(count)
    try:
        operation()
    finally:
        sys.setprofile(None)
    return Work(calls=calls, rows_written=connection.total_changes - rows_before)


@pytest.fixture
def bench_factory() -> Iterator[Callable[[int], Bench]]:
    services: list[SandboxService] = []

    def build(pending: int) -> Bench:
        service = SandboxService(SqliteStore(":memory:"), FakeClock())
        services.append(service)
        scope, _, workflow = one_queue_workspace(service, "s", multi_task_enabled=False)
        activities = service.list("activity", scope).records
        available = next(a["sid"] for a in activities if a["available"])
        workers = [
            service.create("worker", scope, {"friendly_name": f"w{i}"})["sid"]
            for i in range(WORKERS)
        ]
        bench = Bench(service, scope, workflow, available, workers)
        for _ in range(pending):
            bench.create_task()
        return bench

    yield build
    for service in services:
        service.close()


def routing_work(bench: Bench) -> tuple[Work, Work]:
    """(task create routed into the queue, worker becoming Available), the median of 5 each."""
    creates, availables = [], []
    oldest = bench.service.list("task", bench.scope, {"ordering": "DateCreated:asc"}, 1)
    first_waiting = oldest.records[0]["sid"]
    for index in range(5):
        creates.append(measure(bench.service, bench.create_task))
        worker = bench.workers[index]
        availables.append(measure(bench.service, partial(bench.make_available, worker)))
        if index == 0:
            # the worker took the oldest waiting task: routing did its job
            task = bench.service.fetch("task", bench.scope, first_waiting)
            assert task["assignment_status"] == "reserved"
    return median_work(creates), median_work(availables)


def median_work(samples: list[Work]) -> Work:
    calls = sorted(s.calls for s in samples)[len(samples) // 2]
    rows = sorted(s.rows_written for s in samples)[len(samples) // 2]
    return Work(calls, rows)


def test_routing_work_is_flat_from_10_to_10000_pending(
    bench_factory: Callable[[int], Bench],
) -> None:
    small = bench_factory(10)
    large = bench_factory(10_000)
    small_create, small_available = routing_work(small)
    large_create, large_available = routing_work(large)

    assert small_create.calls > 50 and small_available.calls > 50  # the counter sees the work
    assert large_create.calls < 2 * small_create.calls, (large_create, small_create)
    assert large_available.calls < 2 * small_available.calls, (large_available, small_available)
    assert large_create.rows_written <= small_create.rows_written + 2
    assert large_available.rows_written <= small_available.rows_written + 2

    # control: listing every pending task is work that grows, and the counters show it
    small_list = measure(small.service, lambda: small.service.list("task", small.scope))
    large_list = measure(large.service, lambda: large.service.list("task", large.scope))
    assert large_list.calls > 20 * small_list.calls
