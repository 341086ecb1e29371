"""Assignment-callback replies, fallback URL, cancel on unreachable, event callbacks."""

from __future__ import annotations

import time
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.options import SandboxOptions
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.signature import compute_signature
from taskrouter_cli.sandbox.store import SqliteStore

from .conftest import CallbackServer, json_reply, make_task, reservations, set_activity, text_reply


def _run(service: SandboxService, qs: dict[str, Any], url: str, **workflow: Any) -> dict[str, Any]:
    service.update(
        "workflow", qs["scope"], qs["workflow"], {"assignment_callback_url": url, **workflow}
    )
    task = make_task(service, qs)
    set_activity(service, qs, "Alice", "Idle")
    assert service.dispatcher.flush(15)
    return task


def test_signature_matches_the_documented_test_vector() -> None:
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert compute_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_signature_of_repeated_and_duplicate_parameters_is_the_sdks() -> None:
    from multidict import MultiDict

    pairs = [
        ("TaskAttributes", '{"b": 2}'),
        ("Z", "1"),
        ("A", "b"),
        ("A", "a"),
        ("A", "b"),
        ("Empty", ""),
        ("Unicode", "caf\u00e9"),
    ]
    url = "https://example.ngrok.app/assignment?x=1"
    expected = RequestValidator("token").compute_signature(url, MultiDict(pairs))
    assert compute_signature("token", url, pairs) == expected


@pytest.mark.parametrize(
    ("reply", "code", "status"),
    [
        (text_reply('{"instruction": "accept"}', "text/plain"), 40000, "pending"),
        (text_reply("not json", "application/json"), 40001, "pending"),
        (json_reply({"hello": "world"}), 40005, "pending"),
        (json_reply({"instruction": "teleport"}), 55555, "pending"),
        (text_reply("", "text/html"), None, "pending"),
        (json_reply({}), None, "pending"),
    ],
)
def test_reply_rules(
    service: SandboxService,
    quickstart: dict[str, Any],
    callback_server: CallbackServer,
    reply: Any,
    code: int | None,
    status: str,
) -> None:
    task = _run(service, quickstart, callback_server.on("/cb", reply))
    [res] = reservations(service, quickstart, task["sid"])
    assert res["reservation_status"] == status
    [delivery] = service.deliveries()
    assert delivery["debugger_code"] == code
    assert delivery["latency_ms"] is not None and delivery["params"]["TaskSid"] == task["sid"]


def test_reject_instruction_with_and_without_activity(
    service: SandboxService, quickstart: dict[str, Any], callback_server: CallbackServer
) -> None:
    qs = quickstart
    offline = qs["activities"]["Offline"]
    url = callback_server.on("/r", json_reply({"instruction": "reject", "activity_sid": offline}))
    task = _run(service, qs, url)
    [res] = reservations(service, qs, task["sid"])
    assert res["reservation_status"] == "rejected"
    assert (
        service.fetch("worker", qs["scope"], qs["workers"]["Alice"])["activity_name"] == "Offline"
    )
    assert service.fetch("task", qs["scope"], task["sid"])["assignment_status"] == "pending"

    # without activity_sid: rejected, the worker keeps its activity, 40100 is recorded
    callback_server.on("/r", json_reply({"instruction": "reject"}))
    set_activity(service, qs, "Alice", "Idle")
    assert service.dispatcher.flush(15)
    last = service.deliveries()[-1]
    assert last["debugger_code"] == 40100
    assert (
        service.fetch("worker", qs["scope"], qs["workers"]["Alice"])["activity_name"] == "Reserved"
    )


def test_voice_instructions_are_validated_and_recorded(
    service: SandboxService, quickstart: dict[str, Any], callback_server: CallbackServer
) -> None:
    qs = quickstart
    url = callback_server.on("/d", json_reply({"instruction": "dequeue", "from": "+15550001111"}))
    task = _run(service, qs, url)
    # a REST-created task has no call_sid: TaskRouter flags 40140 and does nothing
    assert service.deliveries()[-1]["debugger_code"] == 40140
    [res] = reservations(service, qs, task["sid"])
    assert res["reservation_status"] == "pending"

    call = {
        "instruction": "call",
        "from": "+1555",
        "url": "https://x.test/twiml",
        "to": "+1666",
        "accept": True,
    }
    callback_server.on("/d", json_reply(call))
    service.update(
        "worker", qs["scope"], qs["workers"]["Alice"], {"attributes": '{"languages": ["es"]}'}
    )
    other = make_task(service, qs)
    set_activity(service, qs, "Bob", "Idle")  # Bob has no Spanish: not reserved
    assert reservations(service, qs, other["sid"]) == []
    scope = {**qs["scope"], "task_sid": task["sid"]}
    service.update(
        "reservation",
        scope,
        res["sid"],
        {
            "instruction": "redirect",
            "redirect_call_sid": "CA" + "1" * 32,
            "redirect_url": "https://x.test/r",
            "redirect_accept": True,
        },
    )
    assert service.fetch("reservation", scope, res["sid"])["reservation_status"] == "accepted"
    [entry] = service.instructions(scope, res["sid"])
    assert entry["instruction"] == "redirect" and "would redirect call" in entry["would_have"]


def test_fallback_then_cancel(
    service: SandboxService, quickstart: dict[str, Any], callback_server: CallbackServer
) -> None:
    qs = quickstart
    primary = callback_server.on("/down", text_reply("boom", status=500))
    fallback = callback_server.on("/fallback", json_reply({"instruction": "accept"}))
    task = _run(service, qs, primary, fallback_assignment_callback_url=fallback)
    [res] = reservations(service, qs, task["sid"])
    assert res["reservation_status"] == "accepted"
    attempts = [(d["attempt"], d["status"]) for d in service.deliveries()]
    assert attempts == [("primary", 500), ("fallback", 200)]
    fallback_delivery = callback_server.for_path("/fallback")[0]
    assert RequestValidator(service.auth_token).validate(
        fallback, fallback_delivery.form, fallback_delivery.signature
    )


def test_unreachable_callback_cancels_reservation(
    clock: FakeClock, callback_server: CallbackServer
) -> None:
    service = SandboxService(
        SqliteStore(":memory:"), clock, options=SandboxOptions(assignment_callback_timeout=0.3)
    )
    try:
        workspace = service.seed_quickstart()
        assert workspace is not None
        scope = {"workspace_sid": workspace["sid"]}
        qs = {
            "scope": scope,
            "workflow": service.list("workflow", scope).records[0]["sid"],
            "workers": {
                w["friendly_name"]: w["sid"] for w in service.list("worker", scope).records
            },
            "activities": {
                a["friendly_name"]: a["sid"] for a in service.list("activity", scope).records
            },
        }
        callback_server.hold["/slow"] = 2.0
        service.update(
            "workflow",
            scope,
            qs["workflow"],
            {"assignment_callback_url": callback_server.url("/slow")},
        )
        task = make_task(service, qs)
        set_activity(service, qs, "Alice", "Idle")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # bounded poll for the asynchronous outcome
            first = reservations(service, qs, task["sid"])[0]
            if first["reservation_status"] != "pending":
                break
            time.sleep(0.05)
        # Alice went back to Idle, so the task is offered again: stop calling back before waiting.
        service.update("workflow", scope, qs["workflow"], {"assignment_callback_url": ""})
        assert service.dispatcher.flush(15)
        first = reservations(service, qs, task["sid"])[0]
        assert first["reservation_status"] == "canceled"
        gave_up = [d for d in service.deliveries() if d["attempt"] == "gave-up"]
        assert gave_up and gave_up[0]["outcome"].endswith("reservation canceled")
        assert gave_up[0]["reservation_sid"] == first["sid"]
    finally:
        service.close()


def test_event_callbacks_honour_events_filter(
    service: SandboxService, quickstart: dict[str, Any], callback_server: CallbackServer
) -> None:
    qs = quickstart
    url = callback_server.url("/events")
    service.update(
        "workspace",
        {},
        qs["ws"]["sid"],
        {"event_callback_url": url, "events_filter": "task.created, reservation.created"},
    )
    task = make_task(service, qs)
    set_activity(service, qs, "Alice", "Idle")
    assert service.dispatcher.flush(15)
    received = callback_server.for_path("/events")
    assert [r.form["EventType"] for r in received] == ["task.created", "reservation.created"]
    assert received[0].form["TaskSid"] == task["sid"]
    assert received[0].form["EventDescription"] == f"Task {task['sid']} created"
    assert RequestValidator(service.auth_token).validate(
        url, received[1].form, received[1].signature
    )
