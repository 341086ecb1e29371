"""The task and reservation lifecycle rules (the tutorial's Part 2) through SandboxService, with a
real loopback callback server."""

from __future__ import annotations

from typing import Any

from twilio.request_validator import RequestValidator

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.service import SandboxService

from .conftest import (
    CallbackServer,
    accept,
    json_reply,
    make_task,
    reservations,
    reserved_for_alice,
    set_activity,
)

ASSIGNMENT_PARAMS = {
    "Timestamp",
    "AccountSid",
    "WorkspaceSid",
    "WorkflowSid",
    "TaskQueueSid",
    "WorkerSid",
    "WorkerAttributes",
    "TaskSid",
    "TaskAttributes",
    "TaskAge",
    "TaskPriority",
    "ReservationSid",
}


def point_callback(service: SandboxService, qs: dict[str, Any], url: str) -> None:
    service.update("workflow", qs["scope"], qs["workflow"], {"assignment_callback_url": url})


def test_seed_matches_the_tutorial(service: SandboxService, quickstart: dict[str, Any]) -> None:
    ws = quickstart["ws"]
    assert ws["friendly_name"] == "TaskRouter Quickstart"
    assert ws["multi_task_enabled"] is False
    assert ws["default_activity_name"] == ws["timeout_activity_name"] == "Offline"
    assert set(quickstart["activities"]) == {"Offline", "Idle", "Reserved", "Busy"}
    workflow = service.fetch("workflow", quickstart["scope"], quickstart["workflow"])
    assert workflow["friendly_name"] == "Incoming Customer Care Requests"
    assert workflow["task_reservation_timeout"] == 1200
    assert workflow["assignment_callback_url"] is None
    alice = service.fetch("worker", quickstart["scope"], quickstart["workers"]["Alice"])
    assert (
        alice["activity_name"] == "Offline" and alice["attributes"] == '{"languages": ["en", "es"]}'
    )
    assert service.seed_quickstart() is None  # idempotent: only an empty database is seeded


def test_rest_accept_lifecycle_with_signed_callback(
    service: SandboxService, quickstart: dict[str, Any], callback_server: CallbackServer
) -> None:
    qs = quickstart
    url = callback_server.url("/assignment_callback?from=sandbox")
    point_callback(service, qs, url)
    set_activity(service, qs, "Alice", "Offline")
    task = make_task(service, qs)
    assert task["assignment_status"] == "pending"
    routed = service.fetch("task", qs["scope"], task["sid"])
    assert routed["task_queue_friendly_name"] == "Customer Care Requests - Spanish"
    assert reservations(service, qs, task["sid"]) == []

    set_activity(service, qs, "Alice", "Idle")
    [res] = reservations(service, qs, task["sid"])
    assert res["worker_name"] == "Alice" and res["reservation_status"] == "pending"
    assert (
        service.fetch("worker", qs["scope"], qs["workers"]["Alice"])["activity_name"] == "Reserved"
    )
    assert service.dispatcher.flush(10)
    [received] = callback_server.received
    assert set(received.form) == ASSIGNMENT_PARAMS
    assert received.form["ReservationSid"] == res["sid"]
    assert received.form["TaskAttributes"] == '{"selected_language": "es"}'
    assert RequestValidator(service.auth_token).validate(url, received.form, received.signature)
    assert not RequestValidator("wrong-token").validate(url, received.form, received.signature)
    [delivery] = service.deliveries()
    assert delivery["outcome"].startswith("deferred") and delivery["status"] == 200

    accepted = accept(service, qs, task, res)
    assert accepted["reservation_status"] == "accepted"
    assert service.fetch("task", qs["scope"], task["sid"])["assignment_status"] == "assigned"
    assert service.fetch("worker", qs["scope"], qs["workers"]["Alice"])["activity_name"] == "Busy"
    again = _error(
        lambda: service.update(
            "reservation",
            {**qs["scope"], "worker_sid": qs["workers"]["Alice"]},
            res["sid"],
            {"reservation_status": "accepted"},
        )
    )
    assert again.status == 400
    assert again.message == (
        f"Reservation {res['sid']} is already in state [accepted] and cannot be updated to "
        "[accepted]"
    )
    types = [
        e["event_type"]
        for e in service.list("event", {**qs["scope"]}, {"task_sid": task["sid"]}).records
    ]
    assert types == [
        "task.created",
        "workflow.entered",
        "workflow.target-matched",
        "task-queue.entered",
        "reservation.created",
        "reservation.accepted",
    ]
    worker_events = [
        e["event_data"]["worker_activity_name"]
        for e in service.list(
            "event", qs["scope"], {"event_type": "worker.activity.update"}
        ).records
    ]
    assert worker_events == ["Idle", "Reserved", "Busy"]


def test_callback_accept_instruction(
    service: SandboxService, quickstart: dict[str, Any], callback_server: CallbackServer
) -> None:
    qs = quickstart
    point_callback(
        service, qs, callback_server.on("/accept", json_reply({"instruction": "accept"}))
    )
    task = make_task(service, qs)
    set_activity(service, qs, "Alice", "Idle")
    assert service.dispatcher.flush(10)
    [res] = reservations(service, qs, task["sid"])
    assert res["reservation_status"] == "accepted"
    assert service.fetch("task", qs["scope"], task["sid"])["assignment_status"] == "assigned"
    assert service.fetch("worker", qs["scope"], qs["workers"]["Alice"])["activity_name"] == "Busy"
    assert service.deliveries()[-1]["outcome"].startswith("accepted")


def test_reject_returns_task_to_pending_and_moves_worker(
    service: SandboxService, quickstart: dict[str, Any]
) -> None:
    qs = quickstart
    task = make_task(service, qs, "en")
    set_activity(service, qs, "Bob", "Idle")
    [res] = reservations(service, qs, task["sid"])
    assert res["worker_name"] == "Bob"
    service.update(
        "reservation",
        {**qs["scope"], "task_sid": task["sid"]},
        res["sid"],
        {"reservation_status": "rejected", "worker_activity_sid": qs["activities"]["Offline"]},
    )
    assert service.fetch("task", qs["scope"], task["sid"])["assignment_status"] == "pending"
    assert service.fetch("worker", qs["scope"], qs["workers"]["Bob"])["activity_name"] == "Offline"
    # Alice also speaks English: she gets the task next.
    set_activity(service, qs, "Alice", "Idle")
    statuses = {
        r["worker_name"]: r["reservation_status"] for r in reservations(service, qs, task["sid"])
    }
    assert statuses == {"Bob": "rejected", "Alice": "pending"}


def test_reject_without_activity_restores_previous_activity(
    service: SandboxService, quickstart: dict[str, Any]
) -> None:
    qs = quickstart
    set_activity(service, qs, "Alice", "Idle")
    task = make_task(service, qs)
    [res] = reservations(service, qs, task["sid"])
    service.update(
        "reservation",
        {**qs["scope"], "task_sid": task["sid"]},
        res["sid"],
        {"reservation_status": "rejected"},
    )
    # Alice is back in Idle, so TaskRouter offers her the task again at once.
    rows = reservations(service, qs, task["sid"])
    assert [r["reservation_status"] for r in rows] == ["rejected", "pending"]
    assert (
        service.fetch("worker", qs["scope"], qs["workers"]["Alice"])["activity_name"] == "Reserved"
    )


def test_reservation_timeout_moves_worker_to_timeout_activity(
    service: SandboxService, quickstart: dict[str, Any], clock: FakeClock
) -> None:
    qs = quickstart
    task, res = reserved_for_alice(service, qs)
    assert service.next_deadline() is not None
    clock.advance(1199)
    service.tick()
    assert reservations(service, qs, task["sid"])[0]["reservation_status"] == "pending"
    clock.advance(1)
    service.tick()
    assert reservations(service, qs, task["sid"])[0]["reservation_status"] == "timeout"
    assert service.fetch("task", qs["scope"], task["sid"])["assignment_status"] == "pending"
    assert (
        service.fetch("worker", qs["scope"], qs["workers"]["Alice"])["activity_name"] == "Offline"
    )
    events = service.list(
        "event", qs["scope"], {"reservation_sid": res["sid"], "minutes": 60}
    ).records
    assert [e["event_type"] for e in events] == ["reservation.created", "reservation.timeout"]


def test_cancel_pending_and_reserved_task(
    service: SandboxService, quickstart: dict[str, Any]
) -> None:
    qs = quickstart
    pending = make_task(service, qs)
    canceled = service.update(
        "task",
        qs["scope"],
        pending["sid"],
        {"assignment_status": "canceled", "reason": "caller hung up"},
    )
    assert canceled["assignment_status"] == "canceled" and canceled["reason"] == "caller hung up"
    reserved = make_task(service, qs)
    set_activity(service, qs, "Alice", "Idle")
    service.update(
        "task", qs["scope"], reserved["sid"], {"assignment_status": "canceled", "reason": "r"}
    )
    [res] = reservations(service, qs, reserved["sid"])
    assert res["reservation_status"] == "canceled"
    assert service.fetch("worker", qs["scope"], qs["workers"]["Alice"])["activity_name"] == "Idle"
    err = _error(
        lambda: service.update(
            "task", qs["scope"], reserved["sid"], {"assignment_status": "completed"}
        )
    )
    assert err.status == 400 and "[canceled] and cannot be updated to [completed]" in err.message


def test_complete_after_wrapping(service: SandboxService, quickstart: dict[str, Any]) -> None:
    qs = quickstart
    task, res = reserved_for_alice(service, qs)
    scope = {**qs["scope"], "task_sid": task["sid"]}
    accept(service, qs, task, res)
    assert (
        _error(
            lambda: service.update(
                "task", qs["scope"], task["sid"], {"assignment_status": "canceled"}
            )
        ).status
        == 400
    )
    service.update("task", qs["scope"], task["sid"], {"assignment_status": "wrapping"})
    assert service.fetch("reservation", scope, res["sid"])["reservation_status"] == "wrapping"
    service.update(
        "task", qs["scope"], task["sid"], {"assignment_status": "completed", "reason": "done"}
    )
    assert service.fetch("reservation", scope, res["sid"])["reservation_status"] == "completed"
    # single-tasking: completion does not change the worker's activity
    assert service.fetch("worker", qs["scope"], qs["workers"]["Alice"])["activity_name"] == "Busy"


def _error(call: Any) -> Any:
    from taskrouter_cli.sandbox.errors import TaskRouterError

    try:
        call()
    except TaskRouterError as exc:
        return exc
    raise AssertionError("expected an TaskRouterError")
