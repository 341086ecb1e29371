"""Routing cost must not grow with the number of pending tasks (within 2x from 10 to 10,000).

Timed in CPU time of this process (``time.process_time``), the best of several batches, so other
processes sharing the machine (CI runs suites side by side) do not count; the counted twin of this
test is ``tests/perf/test_routing_scaling.py``.
"""

from __future__ import annotations

import time

import pytest

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore
from tests.helpers.sandbox_setup import one_queue_workspace

BATCHES = 5


def _routing_cost(pending: int) -> float:
    """Seconds per routing operation (task create + worker becoming available) at ``pending``."""
    service = SandboxService(SqliteStore(":memory:"), FakeClock())
    try:
        scope, _, workflow = one_queue_workspace(service, "scale", multi_task_enabled=False)
        available = next(
            a["sid"] for a in service.list("activity", scope).records if a["available"]
        )
        workers = [
            service.create("worker", scope, {"friendly_name": f"w{i}"})["sid"]
            for i in range(6 * BATCHES)
        ]
        for _ in range(pending):
            service.create("task", scope, {"workflow_sid": workflow})
        samples = []
        for batch in range(BATCHES):
            started = time.process_time()
            for _ in range(50):
                service.create("task", scope, {"workflow_sid": workflow})
            for worker in workers[batch * 6 : batch * 6 + 6]:
                service.update("worker", scope, worker, {"activity_sid": available})
            samples.append((time.process_time() - started) / 56)
        reserved = service.list("task", scope, {"assignment_status": "reserved"}).records
        assert len(reserved) == 6 * BATCHES  # every worker that came online got the oldest task
        return min(samples)
    finally:
        service.close()


@pytest.mark.slow
def test_routing_cost_flat_from_10_to_10000_pending() -> None:
    small = _routing_cost(10)
    large = _routing_cost(10_000)
    assert large < 2 * small, f"{large * 1e6:.0f} us at 10,000 vs {small * 1e6:.0f} us at 10"
