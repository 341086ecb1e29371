"""The sandbox answers 4xx, never 5xx, and never stalls, whatever a client sends (hardening II).

Sizes and depths are bounded where Twilio documents limits (attributes ≤ 4,096 characters, a
workflow configuration ≤ 1 MB, a Task priority 0 … 2^31 - 1) and, where it documents none,
at bounds chosen so that no request can stall the sandbox's event loop.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import requests

from tests.sandbox_api.util import Raw, error_of

DEEP_ATTRIBUTES = '{"a":' + "[" * 1990 + "]" * 1990 + "}"


@pytest.fixture
def raw(sandbox: Any) -> Raw:
    return Raw(sandbox.base_url, sandbox.account_sid, sandbox.auth_token)


def queue_sid(raw: Raw, sandbox: Any) -> str:
    queues = raw.get(f"/v1/Workspaces/{sandbox.workspace_sid}/TaskQueues").json()
    return str(queues["task_queues"][0]["sid"])


def workflow_with(raw: Raw, sandbox: Any, target: dict[str, Any], expression: str) -> Any:
    configuration = {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "f",
                    "expression": expression,
                    "targets": [{"queue": queue_sid(raw, sandbox), **target}],
                }
            ]
        }
    }
    return raw.post(
        f"/v1/Workspaces/{sandbox.workspace_sid}/Workflows",
        data={"FriendlyName": "bounded", "Configuration": json.dumps(configuration)},
    )


@pytest.mark.parametrize(
    ("user", "password"), [("AC\u00e9", "token"), ("AC" + "0" * 32, "p\u00e4ss"), ("\u2603", "")]
)
def test_basic_auth_with_non_ascii_credentials_gets_401(
    sandbox: Any, user: str, password: str
) -> None:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    response = requests.get(
        sandbox.base_url + "/v1/Workspaces", headers={"Authorization": f"Basic {pair}"}, timeout=5
    )
    assert error_of(response)[:2] == (401, 20003)


@pytest.mark.parametrize("resource", ["Tasks", "Workers"])
def test_deeply_nested_attributes_get_400(raw: Raw, sandbox: Any, resource: str) -> None:
    assert len(DEEP_ATTRIBUTES) < 4096
    data = {"Attributes": DEEP_ATTRIBUTES}
    data["FriendlyName" if resource == "Workers" else "TaskChannel"] = (
        "deep" if resource == "Workers" else "default"
    )
    response = raw.post(f"/v1/Workspaces/{sandbox.workspace_sid}/{resource}", data=data)
    status, code, message = error_of(response)
    assert (status, code) == (400, 20001)
    assert "deeper than" in message


def test_deeply_nested_attributes_on_update_get_400(raw: Raw, sandbox: Any) -> None:
    workers = raw.get(f"/v1/Workspaces/{sandbox.workspace_sid}/Workers").json()["workers"]
    path = f"/v1/Workspaces/{sandbox.workspace_sid}/Workers/{workers[0]['sid']}"
    assert raw.post(path, data={"Attributes": DEEP_ATTRIBUTES}).status_code == 400


def test_events_with_minutes_beyond_the_calendar_get_400(raw: Raw, sandbox: Any) -> None:
    response = raw.get(f"/v1/Workspaces/{sandbox.workspace_sid}/Events?Minutes=2147483648")
    assert error_of(response)[:2] == (400, 20001)


def test_a_huge_in_list_is_refused_quickly(raw: Raw, sandbox: Any) -> None:
    items = ",".join(str(number) for number in range(150_000))  # ~0.9 MB, under the 1 MB limit
    started = time.process_time()  # CPU time: other processes on the machine do not count
    response = workflow_with(raw, sandbox, {}, f"task.x IN [{items}]")
    elapsed = time.process_time() - started
    status, _, message = error_of(response)
    assert status == 400 and "characters" in message
    assert elapsed < 1.0, f"refusing took {elapsed:.2f} s of CPU"  # the unbounded parse took 2.4 s


def test_many_long_expressions_are_refused_by_their_total(raw: Raw, sandbox: Any) -> None:
    items = ",".join(str(number) for number in range(2_000))
    expression = f"task.x IN [{items}]"
    assert len(expression) < 16_384  # each one within the per-expression limit
    filters = [
        {
            "filter_friendly_name": f"f{index}",
            "expression": expression,
            "targets": [{"queue": queue_sid(raw, sandbox)}],
        }
        for index in range(40)
    ]
    started = time.process_time()  # CPU time: other processes on the machine do not count
    response = raw.post(
        f"/v1/Workspaces/{sandbox.workspace_sid}/Workflows",
        data={
            "FriendlyName": "many",
            "Configuration": json.dumps({"task_routing": {"filters": filters}}),
        },
    )
    elapsed = time.process_time() - started
    status, _, message = error_of(response)
    assert status == 400 and "total more than" in message
    assert elapsed < 1.0, f"refusing took {elapsed:.2f} s of CPU"  # the unbounded parse took 2.4 s


def test_a_long_target_workers_expression_is_refused(raw: Raw, sandbox: Any) -> None:
    items = ",".join(str(number) for number in range(10_000))
    response = raw.post(
        f"/v1/Workspaces/{sandbox.workspace_sid}/TaskQueues",
        data={"FriendlyName": "long", "TargetWorkers": f"worker.x IN [{items}]"},
    )
    assert error_of(response)[0] == 400


@pytest.mark.parametrize("priority", [10**30, -1, 2_147_483_648])
def test_a_target_priority_outside_the_task_priority_range_is_refused(
    raw: Raw, sandbox: Any, priority: int
) -> None:
    response = workflow_with(raw, sandbox, {"priority": priority}, "1==1")
    status, _, message = error_of(response)
    assert status == 400 and "priority" in message


def test_the_largest_task_priority_is_accepted_as_a_target_priority(raw: Raw, sandbox: Any) -> None:
    response = workflow_with(raw, sandbox, {"priority": 2_147_483_647}, "1==1")
    assert response.status_code == 201
