"""The quickstart, part 2, with the twilio SDK alone against the sandbox over real HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from tests.sandbox_api.util import ES_TASK, Quickstart, quickstart


@pytest.fixture
def qs(sandbox: Any, sdk_client: Any, callback_target: Any) -> Quickstart:
    setup = quickstart(sdk_client, sandbox.workspace_sid)
    setup.ws.workflows(setup.workflow_sid).update(assignment_callback_url=callback_target.url)
    return setup


def create_es_task(qs: Quickstart) -> Any:
    return qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid)


def only_reservation(qs: Quickstart, task_sid: str) -> Any:
    reservations = qs.ws.tasks(task_sid).reservations.list()
    assert len(reservations) == 1, [r.reservation_status for r in reservations]
    return reservations[0]


def test_rest_accept_path(sandbox: Any, qs: Quickstart, callback_target: Any) -> None:
    alice = qs.set_activity("Alice", "Offline")
    assert alice.activity_name == "Offline"
    assert alice.available is False

    task = create_es_task(qs)
    assert task.assignment_status == "pending"
    assert isinstance(task.date_created, datetime)
    task = qs.ws.tasks(task.sid).fetch()
    assert task.task_queue_sid == qs.queues["Customer Care Requests - Spanish"]
    assert task.task_queue_friendly_name == "Customer Care Requests - Spanish"

    alice = qs.set_activity("Alice", "Idle")
    reservation = only_reservation(qs, task.sid)
    assert reservation.reservation_status == "pending"
    assert reservation.worker_sid == qs.workers["Alice"]
    assert reservation.worker_name == "Alice"
    assert qs.ws.tasks(task.sid).fetch().assignment_status == "reserved"
    assert qs.worker("Alice").fetch().activity_name == "Reserved"

    sandbox.flush()
    [request] = callback_target.wait_for(1)
    assert request.method == "POST"
    signature = request.headers["X-Twilio-Signature"]
    assert RequestValidator(sandbox.auth_token).validate(
        callback_target.url, request.form, signature
    )
    assert not RequestValidator("0" * 32).validate(callback_target.url, request.form, signature)
    assert request.form["ReservationSid"] == reservation.sid
    assert request.form["TaskSid"] == task.sid
    assert request.form["WorkerSid"] == qs.workers["Alice"]
    assert request.form["WorkspaceSid"] == qs.workspace_sid
    assert request.form["WorkflowSid"] == qs.workflow_sid
    assert request.form["TaskQueueSid"] == qs.queues["Customer Care Requests - Spanish"]
    assert request.form["AccountSid"] == sandbox.account_sid
    assert request.form["TaskAttributes"] == ES_TASK
    for name in ("Timestamp", "WorkerAttributes", "TaskAge", "TaskPriority"):
        assert name in request.form

    accepted = (
        qs.ws.tasks(task.sid).reservations(reservation.sid).update(reservation_status="accepted")
    )
    assert accepted.reservation_status == "accepted"
    assert qs.ws.tasks(task.sid).fetch().assignment_status == "assigned"
    assert qs.worker("Alice").fetch().activity_name == "Busy"

    # The same reservation, seen from the worker.
    mine = qs.worker("Alice").reservations(reservation.sid).fetch()
    assert mine.reservation_status == "accepted"
    assert f"/Workers/{qs.workers['Alice']}/Reservations/{reservation.sid}" in mine.url

    types = [e.event_type for e in qs.ws.events.list(task_sid=task.sid)]
    ordered = ["task.created", "reservation.created", "reservation.accepted"]
    positions = [types.index(t) for t in ordered]
    assert positions == sorted(positions) or positions == sorted(positions, reverse=True), types


def test_callback_accept_path(sandbox: Any, qs: Quickstart, callback_target: Any) -> None:
    callback_target.reply({"instruction": "accept"})
    task = create_es_task(qs)
    qs.set_activity("Alice", "Idle")
    sandbox.flush()
    callback_target.wait_for(1)
    sandbox.flush()
    reservation = only_reservation(qs, task.sid)
    assert reservation.reservation_status == "accepted"
    assert qs.ws.tasks(task.sid).fetch().assignment_status == "assigned"
    assert qs.worker("Alice").fetch().activity_name == "Busy"
    [delivery] = [d for d in sandbox.service.deliveries() if d["kind"] == "assignment"]
    assert delivery["status"] == 200
    assert delivery["reservation_sid"] == reservation.sid


def test_reject_path(sandbox: Any, qs: Quickstart) -> None:
    task = create_es_task(qs)
    qs.set_activity("Alice", "Idle")
    reservation = only_reservation(qs, task.sid)
    rejected = (
        qs.ws.tasks(task.sid)
        .reservations(reservation.sid)
        .update(reservation_status="rejected", worker_activity_sid=qs.activities["Offline"])
    )
    assert rejected.reservation_status == "rejected"
    assert qs.ws.tasks(task.sid).fetch().assignment_status == "pending"
    assert qs.worker("Alice").fetch().activity_name == "Offline"
    # Accepting a rejected reservation is refused with TaskRouter's wording.
    from twilio.base.exceptions import TwilioRestException

    with pytest.raises(TwilioRestException) as caught:
        qs.ws.tasks(task.sid).reservations(reservation.sid).update(reservation_status="accepted")
    assert caught.value.status == 400
    assert "is already in state [rejected] and cannot be updated to [accepted]" in str(
        caught.value.msg
    )


def test_timeout_path(sandbox: Any, qs: Quickstart) -> None:
    task = create_es_task(qs)
    qs.set_activity("Alice", "Idle")
    reservation = only_reservation(qs, task.sid)
    sandbox.advance(1199)
    assert qs.ws.tasks(task.sid).reservations(reservation.sid).fetch().reservation_status == (
        "pending"
    )
    sandbox.advance(2)
    assert qs.ws.tasks(task.sid).reservations(reservation.sid).fetch().reservation_status == (
        "timeout"
    )
    assert qs.ws.tasks(task.sid).fetch().assignment_status == "pending"
    assert qs.worker("Alice").fetch().activity_name == "Offline"
    types = [e.event_type for e in qs.ws.events.list(reservation_sid=reservation.sid)]
    assert "reservation.timeout" in types


def test_timeout_via_control_endpoint(sandbox: Any, qs: Quickstart) -> None:
    import requests

    task = create_es_task(qs)
    qs.set_activity("Alice", "Idle")
    reservation = only_reservation(qs, task.sid)
    answer = requests.post(
        sandbox.base_url + "/sandbox/clock/advance", data={"seconds": "1201"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["now"] == "2024-01-01T12:20:01Z"
    assert qs.ws.tasks(task.sid).reservations(reservation.sid).fetch().reservation_status == (
        "timeout"
    )


def test_cancel_path(sandbox: Any, qs: Quickstart) -> None:
    task = create_es_task(qs)
    qs.set_activity("Alice", "Idle")
    reservation = only_reservation(qs, task.sid)
    canceled = qs.ws.tasks(task.sid).update(assignment_status="canceled", reason="caller hung up")
    assert canceled.assignment_status == "canceled"
    assert canceled.reason == "caller hung up"
    assert qs.ws.tasks(task.sid).reservations(reservation.sid).fetch().reservation_status == (
        "canceled"
    )
    types = [e.event_type for e in qs.ws.events.list(task_sid=task.sid)]
    assert "task.canceled" in types
