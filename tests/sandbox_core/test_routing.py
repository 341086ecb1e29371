"""Routing order, multi-reservation, multi-tasking capacity, TTL, target timeouts, skip_if."""

from __future__ import annotations

import json
from typing import Any

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.service import SandboxService


class World:
    """A workspace built for one routing test."""

    def __init__(
        self,
        service: SandboxService,
        *,
        multi: bool = False,
        order: str = "FIFO",
        max_reserved: int = 1,
        workers: int = 2,
    ) -> None:
        self.service = service
        ws = service.create(
            "workspace", {}, {"friendly_name": "routing", "multi_task_enabled": multi}
        )
        self.scope = {"workspace_sid": ws["sid"]}
        acts = {a["friendly_name"]: a["sid"] for a in service.list("activity", self.scope).records}
        self.available, self.offline = acts["Available"], acts["Offline"]
        self.queue = service.create(
            "task_queue",
            self.scope,
            {
                "friendly_name": "Q",
                "task_order": order,
                "max_reserved_workers": max_reserved,
            },
        )["sid"]
        self.workers = [
            service.create(
                "worker",
                self.scope,
                {
                    "friendly_name": f"w{i}",
                    "attributes": json.dumps({"level": i}),
                },
            )["sid"]
            for i in range(workers)
        ]
        self.workflow = self.make_workflow({"filters": [], "default_filter": {"queue": self.queue}})

    def make_workflow(self, routing: dict[str, Any], name: str = "wf", **extra: Any) -> str:
        existing = [
            w
            for w in self.service.list("workflow", self.scope).records
            if w["friendly_name"] == name
        ]
        params = {
            "friendly_name": name,
            "configuration": json.dumps({"task_routing": routing}),
            **extra,
        }
        if existing:
            return self.service.update("workflow", self.scope, existing[0]["sid"], params)["sid"]
        return self.service.create("workflow", self.scope, params)["sid"]

    def task(self, **params: Any) -> str:
        params.setdefault("workflow_sid", self.workflow)
        return self.service.create("task", self.scope, params)["sid"]

    def online(self, worker: str) -> None:
        self.service.update("worker", self.scope, worker, {"activity_sid": self.available})

    def reservations(self, task: str) -> list[dict[str, Any]]:
        return self.service.list("reservation", {**self.scope, "task_sid": task}).records

    def reserved_task(self, worker: str) -> str:
        rows = self.service.list(
            "reservation", {**self.scope, "worker_sid": worker}, {"reservation_status": "pending"}
        ).records
        assert len(rows) == 1
        return str(rows[0]["task_sid"])

    def status(self, task: str) -> str:
        return str(self.service.fetch("task", self.scope, task)["assignment_status"])


def test_priority_then_fifo(service: SandboxService, clock: FakeClock) -> None:
    world = World(service)
    first = world.task()
    clock.advance(1)
    second = world.task()
    urgent = world.task(priority=10)
    world.online(world.workers[0])
    assert world.reserved_task(world.workers[0]) == urgent
    world.online(world.workers[1])
    assert world.reserved_task(world.workers[1]) == first
    assert world.status(second) == "pending"


def test_lifo_queue_takes_newest(service: SandboxService, clock: FakeClock) -> None:
    world = World(service, order="LIFO")
    world.task()
    clock.advance(1)
    newest = world.task()
    world.online(world.workers[0])
    assert world.reserved_task(world.workers[0]) == newest


def test_longest_idle_worker_first(service: SandboxService, clock: FakeClock) -> None:
    world = World(service)
    world.online(world.workers[1])
    clock.advance(5)
    world.online(world.workers[0])
    task = world.task()
    [res] = world.reservations(task)
    assert res["worker_sid"] == world.workers[1]


def test_order_by_overrides_idle_time(service: SandboxService, clock: FakeClock) -> None:
    world = World(service, workers=3)
    for worker in world.workers:
        world.online(worker)
        clock.advance(1)
    world.make_workflow(
        {
            "filters": [
                {
                    "expression": "1==1",
                    "targets": [{"queue": world.queue, "order_by": "worker.level DESC"}],
                }
            ]
        }
    )
    [res] = world.reservations(world.task())
    assert res["worker_sid"] == world.workers[2]


def test_multi_reservation_rescinds_the_others(service: SandboxService) -> None:
    world = World(service, max_reserved=2, workers=3)
    for worker in world.workers:
        world.online(worker)
    task = world.task()
    rows = world.reservations(task)
    assert len(rows) == 2 and {r["reservation_status"] for r in rows} == {"pending"}
    scope = {**world.scope, "task_sid": task}
    service.update("reservation", scope, rows[1]["sid"], {"reservation_status": "accepted"})
    statuses = [r["reservation_status"] for r in world.reservations(task)]
    assert statuses == ["rescinded", "accepted"]
    from taskrouter_cli.sandbox.errors import TaskRouterError

    try:
        service.update("reservation", scope, rows[0]["sid"], {"reservation_status": "accepted"})
    except TaskRouterError as exc:
        assert exc.status == 410 and "[rescinded]" in exc.message
    else:
        raise AssertionError("accepting a rescinded reservation must fail")


def test_multitasking_capacity_is_never_exceeded(service: SandboxService) -> None:
    world = World(service, multi=True, workers=1)
    worker = world.workers[0]
    scope = {**world.scope, "worker_sid": worker}
    service.update("worker_channel", scope, "default", {"capacity": 2})
    tasks = [world.task() for _ in range(3)]
    world.online(worker)
    assert [world.status(t) for t in tasks] == ["reserved", "reserved", "pending"]
    channel = service.fetch("worker_channel", scope, "default")
    assert channel["configured_capacity"] == 2
    res = world.reservations(tasks[0])[0]
    service.update(
        "reservation",
        {**world.scope, "task_sid": tasks[0]},
        res["sid"],
        {"reservation_status": "accepted"},
    )
    assert world.status(tasks[2]) == "pending"
    service.update(
        "task", world.scope, tasks[0], {"assignment_status": "completed", "reason": "done"}
    )
    assert world.status(tasks[2]) == "reserved"  # capacity freed -> routed
    # the worker stays in its activity in multi-tasking workspaces
    assert service.fetch("worker", world.scope, worker)["activity_sid"] == world.available


def test_task_ttl_cancels(service: SandboxService, clock: FakeClock) -> None:
    world = World(service)
    task = world.task(timeout=60)
    clock.advance(59)
    service.tick()
    assert world.status(task) == "pending"
    clock.advance(1)
    service.tick()
    record = service.fetch("task", world.scope, task)
    assert record["assignment_status"] == "canceled" and record["reason"] == "Task TTL Exceeded"


def test_target_timeouts_measured_on_task_age(service: SandboxService, clock: FakeClock) -> None:
    world = World(service)
    q2 = service.create("task_queue", world.scope, {"friendly_name": "Q2"})["sid"]
    world.make_workflow(
        {
            "filters": [
                {
                    "expression": "1==1",
                    "targets": [
                        {"queue": world.queue, "timeout": 10},
                        {"queue": q2, "timeout": 10},
                    ],
                }
            ]
        }
    )
    task = world.task()
    assert service.fetch("task", world.scope, task)["task_queue_sid"] == world.queue
    clock.advance(10)
    service.tick()
    assert service.fetch("task", world.scope, task)["task_queue_sid"] == q2
    clock.advance(10)
    service.tick()
    record = service.fetch("task", world.scope, task)
    assert record["assignment_status"] == "canceled"
    types = [
        e["event_type"] for e in service.list("event", world.scope, {"task_sid": task}).records
    ]
    assert "task-queue.timeout" in types and "workflow.timeout" in types


def test_skip_if_moves_on_when_nobody_is_available(service: SandboxService) -> None:
    world = World(service)
    q2 = service.create("task_queue", world.scope, {"friendly_name": "Q2"})["sid"]
    nobody = service.create(
        "task_queue", world.scope, {"friendly_name": "Nobody", "target_workers": "level > 100"}
    )["sid"]
    world.make_workflow(
        {
            "filters": [
                {
                    "expression": "1==1",
                    "targets": [
                        {"queue": nobody, "skip_if": "workers.available == 0"},
                        {"queue": q2},
                    ],
                }
            ]
        }
    )
    task = world.task()
    assert service.fetch("task", world.scope, task)["task_queue_sid"] == q2


def test_target_expression_with_task_and_worker_prefixes(service: SandboxService) -> None:
    world = World(service, workers=3)
    for worker in world.workers:
        world.online(worker)
    world.make_workflow(
        {
            "filters": [
                {
                    "expression": "1==1",
                    "targets": [
                        {"queue": world.queue, "expression": "worker.level == task.wanted_level"}
                    ],
                }
            ]
        }
    )
    [res] = world.reservations(world.task(attributes=json.dumps({"wanted_level": 2})))
    assert res["worker_sid"] == world.workers[2]


def test_no_matching_filter_cancels_by_default(service: SandboxService) -> None:
    world = World(service)
    world.make_workflow(
        {"filters": [{"expression": "x == 1", "targets": [{"queue": world.queue}]}]}
    )
    record = service.fetch("task", world.scope, world.task())
    assert record["assignment_status"] == "canceled" and record["reason"] == "No matching filter"


def test_re_evaluate_tasks_on_workflow_update(service: SandboxService) -> None:
    world = World(service)
    q2 = service.create("task_queue", world.scope, {"friendly_name": "Q2"})["sid"]
    task = world.task()
    world.make_workflow({"filters": [], "default_filter": {"queue": q2}}, re_evaluate_tasks="true")
    assert service.fetch("task", world.scope, task)["task_queue_sid"] == q2
