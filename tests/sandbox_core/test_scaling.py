"""Routing cost must not grow with the number of pending tasks (within 2x from 10 to 10,000)."""

from __future__ import annotations

import json
import time

import pytest

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore


def _routing_cost(pending: int) -> float:
    """Seconds per routing operation (task create + worker becoming available) at ``pending``."""
    service = SandboxService(SqliteStore(":memory:"), FakeClock())
    try:
        ws = service.create(
            "workspace", {}, {"friendly_name": "scale", "multi_task_enabled": False}
        )
        scope = {"workspace_sid": ws["sid"]}
        queue = service.create("task_queue", scope, {"friendly_name": "q"})
        routing = {"task_routing": {"default_filter": {"queue": queue["sid"]}}}
        workflow = service.create(
            "workflow", scope, {"friendly_name": "wf", "configuration": json.dumps(routing)}
        )["sid"]
        available = next(
            a["sid"] for a in service.list("activity", scope).records if a["available"]
        )
        workers = [
            service.create("worker", scope, {"friendly_name": f"w{i}"})["sid"] for i in range(20)
        ]
        for _ in range(pending):
            service.create("task", scope, {"workflow_sid": workflow})
        samples = []
        for batch in range(3):
            started = time.perf_counter()
            for _ in range(50):
                service.create("task", scope, {"workflow_sid": workflow})
            for worker in workers[batch * 6 : batch * 6 + 6]:
                service.update("worker", scope, worker, {"activity_sid": available})
            samples.append((time.perf_counter() - started) / 56)
        reserved = service.list("task", scope, {"assignment_status": "reserved"}).records
        assert len(reserved) == 18  # every worker that came online got the oldest task
        return min(samples)
    finally:
        service.close()


@pytest.mark.slow
def test_routing_cost_flat_from_10_to_10000_pending() -> None:
    small = _routing_cost(10)
    large = _routing_cost(10_000)
    assert large < 2 * small, f"{large * 1e6:.0f} us at 10,000 vs {small * 1e6:.0f} us at 10"
