"""Routing runs after the write's answer, as on live TaskRouter (behaviour doc §13.5).

A write answers exactly the state it wrote (a worker: the activity just set; a task:
``pending``, no queue yet); queue entry, reservations, reservation/assignment activities,
Events and callbacks follow on the server's event loop. Tests wait with ``sandbox.settle()``
(in-process) or ``/sandbox/settle`` (control API), never by sleeping. Routing that was
acknowledged is durable: killed before it ran, it resumes when the database is reopened.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import requests
from twilio.rest import Client

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.server import SandboxServer
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore
from tests.fixtures.sandbox import FAKE_START, quickstart_workspace_sid, validating_http_client
from tests.sandbox_api.util import ES_TASK, Quickstart, quickstart

SPANISH = "Customer Care Requests - Spanish"


def test_a_worker_update_answers_the_activity_it_set_and_is_reserved_after(
    sandbox: Any, sdk_client: Any
) -> None:
    qs = quickstart(sdk_client, sandbox.workspace_sid)
    task = qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid)
    sandbox.settle()

    alice = qs.set_activity("Alice", "Idle")
    assert (alice.activity_name, alice.available) == ("Idle", True)

    sandbox.settle()
    alice = qs.worker("Alice").fetch()
    assert (alice.activity_name, alice.available) == ("Reserved", False)
    [reservation] = qs.ws.tasks(task.sid).reservations.list()
    assert (reservation.worker_name, reservation.reservation_status) == ("Alice", "pending")
    assert qs.ws.tasks(task.sid).fetch().assignment_status == "reserved"


def test_a_task_create_answers_pending_without_a_queue_and_routing_follows(
    sandbox: Any, sdk_client: Any
) -> None:
    qs = quickstart(sdk_client, sandbox.workspace_sid)
    qs.set_activity("Alice", "Idle")
    sandbox.settle()

    task = qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid)
    assert (task.assignment_status, task.task_queue_sid) == ("pending", None)

    sandbox.settle()
    routed = qs.ws.tasks(task.sid).fetch()
    assert (routed.assignment_status, routed.task_queue_friendly_name) == ("reserved", SPANISH)
    events = [e.event_type for e in qs.ws.events.list(task_sid=task.sid)]
    assert events.index("task.created") < events.index("task-queue.entered")
    assert events.index("task-queue.entered") < events.index("reservation.created")


def test_an_accept_answers_accepted_and_the_assignment_activity_follows(
    sandbox: Any, sdk_client: Any
) -> None:
    qs = quickstart(sdk_client, sandbox.workspace_sid)
    qs.set_activity("Alice", "Idle")
    task = qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid)
    sandbox.settle()
    [reservation] = qs.ws.tasks(task.sid).reservations.list()

    accepted = (
        qs.ws.tasks(task.sid).reservations(reservation.sid).update(reservation_status="accepted")
    )
    assert accepted.reservation_status == "accepted"

    sandbox.settle()
    assert qs.worker("Alice").fetch().activity_name == "Busy"
    assert qs.ws.tasks(task.sid).fetch().assignment_status == "assigned"


def test_settle_over_the_control_api_waits_for_the_assignment_callback(
    sandbox: Any, sdk_client: Any, callback_target: Any
) -> None:
    qs = quickstart(sdk_client, sandbox.workspace_sid)
    qs.ws.workflows(qs.workflow_sid).update(assignment_callback_url=callback_target.url)
    callback_target.reply({"instruction": "accept"}, delay=0.2)
    qs.set_activity("Alice", "Idle")
    task = qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid)

    answer = requests.post(sandbox.base_url + "/sandbox/settle", data={"timeout": "10"}, timeout=20)
    assert answer.status_code == 200 and answer.json() == {"settled": True}

    assert len(callback_target.requests) == 1
    assert qs.ws.tasks(task.sid).fetch().assignment_status == "assigned"
    assert qs.worker("Alice").fetch().activity_name == "Busy"
    bad = requests.get(sandbox.base_url + "/sandbox/settle?timeout=-1", timeout=10)
    assert bad.status_code == 400 and "timeout" in bad.json()["message"]


def _client(service: SandboxService, server: SandboxServer) -> Any:
    client = Client(
        service.account_sid,
        service.auth_token,
        http_client=validating_http_client(server.base_url),
    )
    client.region = None
    client.edge = None
    return client


def test_routing_acknowledged_before_a_kill_resumes_after_restart(tmp_path: Path) -> None:
    database = tmp_path / "sandbox.db"
    first = SandboxService(SqliteStore(database), FakeClock(FAKE_START))
    first.seed_quickstart()
    ws = quickstart_workspace_sid(first)
    assert ws is not None
    scope = {"workspace_sid": ws}
    activities = {a["friendly_name"]: a["sid"] for a in first.list("activity", scope).records}
    alice = next(w for w in first.list("worker", scope).records if w["friendly_name"] == "Alice")
    first.update("worker", scope, alice["sid"], {"activity_sid": activities["Idle"]})
    # A loop that never runs stands for a server killed before routing ran.
    stalled = asyncio.new_event_loop()
    first.attach_loop(stalled)
    task = first.create("task", scope, {"attributes": ES_TASK})
    assert task["assignment_status"] == "pending"
    assert first.routing_pending()
    first.store.close()  # the process dies here: nothing more is written
    stalled.close()

    second = SandboxService(SqliteStore(database), FakeClock(FAKE_START))
    with SandboxServer(second) as server:
        qs: Quickstart = quickstart(_client(second, server), ws)
        assert second.settle(10)
        assert qs.ws.tasks(task["sid"]).fetch().assignment_status == "reserved"
        [reservation] = qs.ws.tasks(task["sid"]).reservations.list()
        assert reservation.worker_name == "Alice"
        assert not second.routing_pending()
