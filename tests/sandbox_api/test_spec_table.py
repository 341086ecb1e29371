"""The route table compiled from the spec, and the schema checker the SDK tests rely on."""

from __future__ import annotations

import pytest

from taskrouter_cli.sandbox.api.errors import HttpError
from taskrouter_cli.sandbox.api.params import coerce_params, parse_datetime
from taskrouter_cli.sandbox.api.spec import load_spec, snake_case
from tests.helpers.spec_schema import SpecViolation, validate_response

LIST_KEYS = {
    "/v1/Workspaces": "workspaces",
    "/v1/Workspaces/{WorkspaceSid}/Activities": "activities",
    "/v1/Workspaces/{WorkspaceSid}/Workers": "workers",
    "/v1/Workspaces/{WorkspaceSid}/TaskQueues": "task_queues",
    "/v1/Workspaces/{WorkspaceSid}/Workflows": "workflows",
    "/v1/Workspaces/{WorkspaceSid}/Tasks": "tasks",
    "/v1/Workspaces/{WorkspaceSid}/Tasks/{TaskSid}/Reservations": "reservations",
    "/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Reservations": "reservations",
    "/v1/Workspaces/{WorkspaceSid}/TaskChannels": "channels",
    "/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Channels": "channels",
    "/v1/Workspaces/{WorkspaceSid}/Events": "events",
}


def test_list_keys_follow_the_behaviour_doc() -> None:
    found = {op.path: op.list_key for op in load_spec().operations() if op.action == "list"}
    assert found == LIST_KEYS


def test_every_operation_is_implemented_or_statistics() -> None:
    for op in load_spec().operations():
        if op.implemented:
            assert op.action in ("list", "create", "fetch", "update", "delete", "statistics"), op
        else:
            assert "Statistics" in op.path, op.path


def test_literal_segments_win() -> None:
    spec = load_spec()
    ws = "WS" + "a" * 32
    template, values = spec.match(f"/v1/Workspaces/{ws}/Workers/Statistics") or (None, None)
    assert template is not None and template.path.endswith("/Workers/Statistics")
    template, values = spec.match(f"/v1/Workspaces/{ws}/Workers/WK1") or (None, None)
    assert template is not None and values == {"WorkspaceSid": ws, "Sid": "WK1"}
    assert spec.match("/v1/Workspaces/x/Nope") is None


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("FriendlyName", "friendly_name"),
        ("TaskQueueSid", "task_queue_sid"),
        ("If-Match", "if_match"),
        ("ReEvaluateTasks", "re_evaluate_tasks"),
        ("DequeueStatusCallbackUrl", "dequeue_status_callback_url"),
        ("Sid", "sid"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_coercion_per_type() -> None:
    spec = load_spec()
    tasks = spec.operation("ListTask")
    got = coerce_params(
        tasks,
        [
            ("Priority", "7"),
            ("AssignmentStatus", "pending,reserved"),
            ("AssignmentStatus", "wrapping"),
            ("HasAddons", "TRUE"),
        ],
    )
    assert got == {
        "priority": 7,
        "assignment_status": ["pending", "reserved", "wrapping"],
        "has_addons": True,
    }
    lenient = coerce_params(spec.operation("ListActivity"), [("Available", "yes")])
    assert lenient == {"available": True}
    assert coerce_params(spec.operation("ListActivity"), [("Available", "nah")]) == {
        "available": False
    }
    events = coerce_params(spec.operation("ListEvent"), [("StartDate", "2024-01-01T10:00:00Z")])
    assert events["start_date"] == parse_datetime("2024-01-01T10:00:00+00:00")
    with pytest.raises(HttpError, match="StartDate.*ISO-8601"):
        coerce_params(spec.operation("ListEvent"), [("StartDate", "yesterday")])
    with pytest.raises(HttpError, match="ReservationStatus.*one of"):
        coerce_params(spec.operation("ListTaskReservation"), [("ReservationStatus", "happy")])
    with pytest.raises(HttpError, match="EventCallbackUrl.*URL"):
        coerce_params(
            spec.operation("CreateWorkspace"),
            [("FriendlyName", "x"), ("EventCallbackUrl", "ftp://x")],
        )


def test_schema_checker_catches_mismatches() -> None:
    url = "http://127.0.0.1:1/v1/Workspaces/WS" + "a" * 32 + "/Activities/WA" + "b" * 32
    good = {
        "account_sid": "AC" + "c" * 32,
        "available": True,
        "date_created": "2024-01-01T12:00:00Z",
        "date_updated": "2024-01-01T12:00:00Z",
        "friendly_name": "Idle",
        "sid": "WA" + "b" * 32,
        "workspace_sid": "WS" + "a" * 32,
        "url": url,
        "links": {"workspace": "http://127.0.0.1:1/v1/Workspaces/WS" + "a" * 32},
    }
    import json

    assert validate_response("GET", url, 200, json.dumps(good)) == "FetchActivity 200"
    for broken in (
        {**good, "available": "yes"},
        {**good, "date_created": "2024-01-01T12:00:00.123Z"},
        {**good, "surprise": 1},
        {**good, "sid": "WX" + "b" * 32},
    ):
        with pytest.raises(SpecViolation):
            validate_response("GET", url, 200, json.dumps(broken))
    with pytest.raises(SpecViolation):
        validate_response("GET", url, 404, json.dumps({"code": 20404, "message": "x"}))
