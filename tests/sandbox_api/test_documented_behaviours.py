"""Documented TaskRouter behaviours, each driven through the real twilio SDK over HTTP.

LIFO ignores priority; time-of-day keys on the sandbox clock; UpdateTask ``Priority`` vs a
target's priority; finished tasks deleted after 5 minutes (Events stay); ``Reason`` required to
cancel or complete; undocumented constructs accepted with a warning. Plus engine behaviours the
suite pinned only once or at unit level: a multi-tasking worker already available and at
capacity, longest idle, ``max_reserved_workers``, ``skip_if``, deletions surviving a reopen.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.options import SandboxOptions
from taskrouter_cli.sandbox.server import SandboxServer
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore
from tests.fixtures.sandbox import FAKE_START, validating_http_client
from tests.helpers.cli import invoke
from tests.sandbox_api.util import ES_TASK, quickstart


@dataclass
class World:
    """A fresh workspace built through the SDK: activities Offline / Available / Unavailable."""

    client: Any
    ws: Any
    activities: dict[str, str]
    workers: dict[str, str] = field(default_factory=dict)

    def queue(self, name: str, **params: Any) -> str:
        return str(self.ws.task_queues.create(friendly_name=name, **params).sid)

    def workflow(self, routing: dict[str, Any], **params: Any) -> str:
        config = json.dumps({"task_routing": routing})
        return str(self.ws.workflows.create(friendly_name="wf", configuration=config, **params).sid)

    def worker(self, name: str, attributes: dict[str, Any] | None = None) -> str:
        sid = str(
            self.ws.workers.create(friendly_name=name, attributes=json.dumps(attributes or {})).sid
        )
        self.workers[name] = sid
        return sid

    def available(self, name: str) -> Any:
        return self.ws.workers(self.workers[name]).update(activity_sid=self.activities["Available"])

    def task(self, workflow: str, **params: Any) -> str:
        return str(self.ws.tasks.create(workflow_sid=workflow, **params).sid)

    def reservations(self, task: str) -> list[Any]:
        return list(self.ws.tasks(task).reservations.list())


def make_world(client: Any, *, multi_tasking: bool = False) -> World:
    workspace = client.taskrouter.v1.workspaces.create(
        friendly_name="behaviours", multi_task_enabled=multi_tasking
    )
    ws = client.taskrouter.v1.workspaces(workspace.sid)
    return World(client, ws, {a.friendly_name: a.sid for a in ws.activities.list()})


def sdk_for(service: SandboxService, server: SandboxServer) -> Any:
    client = Client(
        service.account_sid, service.auth_token, http_client=validating_http_client(server.base_url)
    )
    client.region = None
    client.edge = None
    return client


# --- 2. LIFO ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("order", "first"), [("LIFO", "newest"), ("FIFO", "urgent")])
def test_lifo_serves_the_newest_task_whatever_its_priority(
    sandbox: Any, sdk_client: Any, order: str, first: str
) -> None:
    world = make_world(sdk_client)
    queue = world.queue("q", task_order=order)
    workflow = world.workflow({"filters": [], "default_filter": {"queue": queue}})
    world.worker("w")
    tasks = {"urgent": world.task(workflow, priority=10)}
    sandbox.advance(1)
    tasks["newest"] = world.task(workflow, priority=0)
    sandbox.settle()

    world.available("w")
    sandbox.settle()
    assert [r.task_sid for r in world.ws.workers(world.workers["w"]).reservations.list()] == [
        tasks[first]
    ]


# --- 3. time of day ---------------------------------------------------------------------------
def test_time_of_day_keys_route_on_the_sandbox_clock(sandbox: Any, sdk_client: Any) -> None:
    world = make_world(sdk_client)
    day, night = world.queue("day"), world.queue("night")
    office = (
        "taskrouter.currentTime > 0800 AND taskrouter.currentTime < 1830 "
        'AND taskrouter.dayOfWeek == "Mon" AND taskrouter.currentHour == "12"'
    )
    workflow = world.workflow(
        {
            "filters": [
                {
                    "filter_friendly_name": "office",
                    "expression": office,
                    "targets": [{"queue": day}],
                }
            ],
            "default_filter": {"queue": night},
        }
    )
    at_noon = world.task(workflow)  # FAKE_START is Monday 12:00 UTC
    sandbox.advance(8 * 3600)  # 20:00
    in_the_evening = world.task(workflow)
    sandbox.settle()

    assert world.ws.tasks(at_noon).fetch().task_queue_sid == day
    assert world.ws.tasks(in_the_evening).fetch().task_queue_sid == night


# --- 4. UpdateTask Priority -------------------------------------------------------------------
def test_update_priority_does_not_override_a_target_priority(sandbox: Any, sdk_client: Any) -> None:
    world = make_world(sdk_client)
    vip, plain = world.queue("vip"), world.queue("plain")
    workflow = world.workflow(
        {
            "filters": [{"expression": "vip == true", "targets": [{"queue": vip, "priority": 20}]}],
            "default_filter": {"queue": plain},
        }
    )
    targeted = world.task(workflow, attributes=json.dumps({"vip": True}), priority=1)
    ordinary = world.task(workflow, priority=1)
    sandbox.settle()
    assert world.ws.tasks(targeted).fetch().priority == 20

    assert world.ws.tasks(targeted).update(priority=50).priority == 20
    assert world.ws.tasks(ordinary).update(priority=50).priority == 50
    sandbox.settle()
    assert (
        world.ws.tasks(targeted).fetch().priority,
        world.ws.tasks(ordinary).fetch().priority,
    ) == (
        20,
        50,
    )


# --- 5. finished tasks deleted ------------------------------------------------------------------
def finish_a_task(sandbox: Any, sdk_client: Any) -> tuple[Any, str]:
    qs = quickstart(sdk_client, sandbox.workspace_sid)
    qs.set_activity("Alice", "Idle")
    task = qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid).sid
    sandbox.settle()
    [reservation] = qs.ws.tasks(task).reservations.list()
    qs.ws.tasks(task).reservations(reservation.sid).update(reservation_status="accepted")
    qs.ws.tasks(task).update(assignment_status="completed", reason="resolved")
    return qs, task


def test_a_finished_task_is_deleted_five_minutes_later_and_its_events_stay(
    sandbox: Any, sdk_client: Any
) -> None:
    qs, task = finish_a_task(sandbox, sdk_client)
    sandbox.advance(299)
    assert qs.ws.tasks(task).fetch().assignment_status == "completed"

    sandbox.advance(1)
    with pytest.raises(TwilioRestException) as gone:
        qs.ws.tasks(task).fetch()
    assert gone.value.status == 404
    events = [e.event_type for e in qs.ws.events.list(task_sid=task, minutes=60)]
    assert events[0] == "task.created" and events[-1] == "task.completed"
    stats = qs.ws.cumulative_statistics().fetch(minutes=60)
    assert (stats.tasks_completed, stats.tasks_deleted) == (1, 0)

    explained = invoke(["explain", task, "--json"], sandbox.env).ok().json()
    assert (explained["status"], explained["reason"]) == ("completed", "deleted")
    assert "TaskRouter deletes a Task about 5 minutes after" in explained["message"]
    assert "(reason: resolved)" in explained["message"]
    assert any("task.completed" in line for line in explained["history"])
    watched = invoke(["task", "watch", task, "--timeout", "1"], sandbox.env).ok()
    assert "task.created" in watched.stdout and "no longer exists" in watched.stdout


def test_keep_finished_keeps_finished_tasks(tmp_path: Path) -> None:
    service = SandboxService(
        SqliteStore(":memory:"), FakeClock(FAKE_START), options=SandboxOptions(keep_finished=True)
    )
    service.seed_quickstart()
    with SandboxServer(service) as server:

        class Handle:
            workspace_sid = service.list("workspace", {}).records[0]["sid"]

            @staticmethod
            def settle() -> None:
                assert service.settle(10)

            @staticmethod
            def advance(seconds: float) -> None:
                service.route_now()
                service.clock.advance(seconds)
                service.tick()

        qs, task = finish_a_task(Handle, sdk_for(service, server))
        Handle.advance(3600)
        assert qs.ws.tasks(task).fetch().assignment_status == "completed"


# --- 6. Reason ----------------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["canceled", "completed"])
def test_cancel_or_complete_without_reason_is_refused_naming_reason(
    sandbox: Any, sdk_client: Any, status: str
) -> None:
    qs = quickstart(sdk_client, sandbox.workspace_sid)
    task = qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid).sid
    if status == "completed":
        qs.set_activity("Alice", "Idle")
        sandbox.settle()
        [reservation] = qs.ws.tasks(task).reservations.list()
        qs.ws.tasks(task).reservations(reservation.sid).update(reservation_status="accepted")
    with pytest.raises(TwilioRestException) as refused:
        qs.ws.tasks(task).update(assignment_status=status)
    assert refused.value.status == 400 and "Reason" in refused.value.msg

    verb = "cancel" if status == "canceled" else "complete"
    done = invoke(["task", verb, task, "--json"], sandbox.env).ok().json()
    assert (done["assignment_status"], done["reason"]) == (status, f"{status} with trcli")


# --- 7. undocumented constructs -------------------------------------------------------------------
def test_undocumented_constructs_are_accepted_with_a_warning(
    sandbox: Any, sdk_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(sdk_client)
    queue = world.queue("q", target_workers="NOT (level < 2)")
    with caplog.at_level(logging.WARNING, logger="taskrouter_cli.sandbox"):
        workflow = world.workflow(
            {
                "filters": [
                    {"expression": 'lang == "es" and vip == true', "targets": [{"queue": queue}]}
                ],
            }
        )
    logged = [r.getMessage() for r in caplog.records if r.name == "taskrouter_cli.sandbox"]
    assert any(
        f"Workflow {workflow} task_routing.filters[0].expression" in m
        and "may be refused live" in m
        for m in logged
    )
    task = world.task(workflow, attributes=json.dumps({"lang": "es", "vip": True}))
    sandbox.settle()
    assert world.ws.tasks(task).fetch().task_queue_sid == queue  # still accepted

    env = {**sandbox.env, "TRCLI_WORKSPACE": str(world.ws._solution["sid"])}
    explained = invoke(["explain", task], env).ok().stdout
    assert "lower-case 'and' is not documented by Twilio; may be refused live" in explained
    assert "unary NOT is not documented by Twilio" in explained


# --- engine behaviours --------------------------------------------------------------------------
def test_a_multitasking_worker_already_available_at_capacity_is_not_offered_more(
    sandbox: Any, sdk_client: Any
) -> None:
    world = make_world(sdk_client, multi_tasking=True)
    queue = world.queue("q")
    workflow = world.workflow({"filters": [], "default_filter": {"queue": queue}})
    worker = world.worker("w")
    world.available("w")
    sandbox.settle()
    first = world.task(workflow)
    sandbox.settle()
    [reservation] = world.reservations(first)
    world.ws.tasks(first).reservations(reservation.sid).update(reservation_status="accepted")

    second = world.task(workflow)  # the worker is available, its default channel full (1/1)
    sandbox.settle()
    assert world.reservations(second) == []
    assert world.ws.tasks(second).fetch().assignment_status == "pending"

    world.ws.workers(worker).worker_channels("default").update(capacity=2)
    sandbox.settle()
    assert [r.reservation_status for r in world.reservations(second)] == ["pending"]


def test_the_longest_idle_worker_is_reserved_first(sandbox: Any, sdk_client: Any) -> None:
    world = make_world(sdk_client)
    queue = world.queue("q")
    workflow = world.workflow({"filters": [], "default_filter": {"queue": queue}})
    world.worker("early")
    world.worker("late")
    world.available("late")
    sandbox.advance(10)
    world.available("early")
    sandbox.advance(10)
    task = world.task(workflow)
    sandbox.settle()
    assert [r.worker_name for r in world.reservations(task)] == ["late"]


def test_max_reserved_workers_reserves_several_and_an_accept_rescinds_the_rest(
    sandbox: Any, sdk_client: Any
) -> None:
    world = make_world(sdk_client)
    queue = world.queue("q", max_reserved_workers=2)
    workflow = world.workflow({"filters": [], "default_filter": {"queue": queue}})
    for name in ("a", "b", "c"):
        world.worker(name)
        world.available(name)
    task = world.task(workflow)
    sandbox.settle()
    pending = world.reservations(task)
    assert [r.reservation_status for r in pending] == ["pending", "pending"]

    world.ws.tasks(task).reservations(pending[0].sid).update(reservation_status="accepted")
    sandbox.settle()
    statuses = {r.sid: r.reservation_status for r in world.reservations(task)}
    assert statuses == {pending[0].sid: "accepted", pending[1].sid: "rescinded"}


def test_skip_if_moves_a_task_past_a_target_with_no_available_worker(
    sandbox: Any, sdk_client: Any
) -> None:
    world = make_world(sdk_client)
    experts = world.queue("experts", target_workers='skill == "expert"')
    anyone = world.queue("anyone")
    workflow = world.workflow(
        {
            "filters": [
                {
                    "expression": "1 == 1",
                    "targets": [
                        {"queue": experts, "skip_if": "workers.available == 0", "timeout": 600},
                        {"queue": anyone},
                    ],
                }
            ]
        }
    )
    world.worker("expert", {"skill": "expert"})  # Offline
    world.worker("novice")
    world.available("novice")
    task = world.task(workflow)
    sandbox.settle()
    assert world.ws.tasks(task).fetch().task_queue_sid == anyone
    assert [r.worker_name for r in world.reservations(task)] == ["novice"]


def test_deletions_are_still_gone_after_reopening_the_database(tmp_path: Path) -> None:
    database = tmp_path / "sandbox.db"
    service = SandboxService(SqliteStore(database), FakeClock(FAKE_START))
    with SandboxServer(service) as server:
        world = make_world(sdk_for(service, server))
        queue = world.queue("q")
        workflow = world.workflow({"filters": [], "default_filter": {"queue": queue}})
        task = world.task(workflow)
        worker = world.worker("w")
        spare_queue = world.queue("spare")
        assert service.settle(10)
        world.ws.tasks(task).delete()
        world.ws.workers(worker).delete()
        world.ws.task_queues(spare_queue).delete()
        ws_sid = str(world.ws._solution["sid"])

    reopened = SandboxService(SqliteStore(database), FakeClock(FAKE_START))
    with SandboxServer(reopened) as server:
        ws = sdk_for(reopened, server).taskrouter.v1.workspaces(ws_sid)
        for resource in (ws.tasks(task), ws.workers(worker), ws.task_queues(spare_queue)):
            with pytest.raises(TwilioRestException) as missing:
                resource.fetch()
            assert missing.value.status == 404
        assert [q.sid for q in ws.task_queues.list()] == [queue]
