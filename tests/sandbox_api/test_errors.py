"""Every error shape: the SDK's TwilioRestException and the raw body, and the server survives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from tests.fixtures.sandbox import validating_http_client
from tests.sandbox_api.util import Raw, error_of

MISSING_TASK = "WT" + "0" * 32


@pytest.fixture
def raw(sandbox: Any) -> Raw:
    return Raw(sandbox.base_url, sandbox.account_sid, sandbox.auth_token)


def sdk_error(call: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value


def test_wrong_credentials_401(sandbox: Any) -> None:
    client = Client(
        sandbox.account_sid, "wrong-token", http_client=validating_http_client(sandbox.base_url)
    )
    client.region = client.edge = None
    with pytest.raises(TwilioException) as caught:  # the SDK's page fetch raises the base class
        client.taskrouter.v1.workspaces.list()
    assert caught.value.args[1].status_code == 401
    error = sdk_error(lambda: client.taskrouter.v1.workspaces(sandbox.workspace_sid).fetch())
    assert (error.status, error.code) == (401, 20003)
    assert "Authenticate" in error.msg


def test_missing_and_garbled_auth_401(sandbox: Any, raw: Raw) -> None:
    import requests

    bare = requests.get(sandbox.base_url + "/v1/Workspaces", timeout=10)
    assert error_of(bare) == (401, 20003, "Authenticate")
    assert bare.headers["WWW-Authenticate"].startswith("Basic")
    garbled = requests.get(
        sandbox.base_url + "/v1/Workspaces", headers={"Authorization": "Basic %%%"}, timeout=10
    )
    assert error_of(garbled)[:2] == (401, 20003)


def test_credentials_in_any_basic_auth_spelling_are_accepted_and_others_refused(
    sandbox: Any,
) -> None:
    import base64

    import requests

    pair = base64.b64encode(f"{sandbox.account_sid}:{sandbox.auth_token}".encode()).decode()
    url = sandbox.base_url + "/v1/Workspaces"
    for header in (f"Basic {pair}", f"basic {pair}", f"BASIC {pair}"):
        assert requests.get(url, headers={"Authorization": header}, timeout=10).status_code == 200
    wrong = base64.b64encode(f"{sandbox.account_sid}:x{sandbox.auth_token}".encode()).decode()
    for header in (f"Basic {wrong}", f"Basic {pair}x", "Basic \u00e9t\u00e9"):
        refused = requests.get(url, headers={"Authorization": header.encode()}, timeout=10)
        assert error_of(refused)[:2] == (401, 20003)


def test_unknown_sid_404(sandbox: Any, sdk_client: Any) -> None:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    error = sdk_error(lambda: ws.tasks(MISSING_TASK).fetch())
    assert (error.status, error.code) == (404, 20404)


def test_malformed_path_sid_404(sandbox: Any, raw: Raw) -> None:
    status, code, message = error_of(
        raw.get(f"/v1/Workspaces/{sandbox.workspace_sid}/Tasks/WTnope")
    )
    assert (status, code) == (404, 20404)
    assert "WTnope" in message


def test_unknown_path_404(sandbox: Any, raw: Raw) -> None:
    assert error_of(raw.get("/v1/Nowhere"))[:2] == (404, 20404)
    assert error_of(raw.get(f"/v1/Workspaces/{sandbox.workspace_sid}/Bogus"))[:2] == (404, 20404)
    assert error_of(raw.get("/v2/Workspaces"))[:2] == (404, 20404)


def test_method_not_allowed_405(sandbox: Any, raw: Raw) -> None:
    answer = raw.request("PUT", f"/v1/Workspaces/{sandbox.workspace_sid}")
    status, code, message = error_of(answer)
    assert (status, code) == (405, 20004)
    assert answer.headers["Allow"] == "DELETE, GET, POST"
    assert "PUT" in message


def test_statistics_are_served_not_501(sandbox: Any, sdk_client: Any) -> None:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    assert ws.statistics().fetch().workspace_sid == sandbox.workspace_sid


def test_unknown_parameter_400_names_it(sandbox: Any, raw: Raw) -> None:
    answer = raw.post(
        f"/v1/Workspaces/{sandbox.workspace_sid}/Activities",
        data={"FriendlyName": "Lunch", "Colour": "red"},
    )
    status, code, message = error_of(answer)
    assert (status, code) == (400, 20001)
    assert "Colour" in message
    answer = raw.get(f"/v1/Workspaces/{sandbox.workspace_sid}/Tasks?Colour=red")
    assert "Colour" in error_of(answer)[2]


def test_wrong_type_400_names_parameter_and_type(sandbox: Any, sdk_client: Any) -> None:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    error = sdk_error(lambda: ws.tasks.create(attributes="{}", priority="high"))
    assert (error.status, error.code) == (400, 20001)
    assert "Priority" in error.msg and "integer" in error.msg
    error = sdk_error(
        lambda: sdk_client.taskrouter.v1.workspaces.create(
            friendly_name="x", multi_task_enabled="maybe"
        )
    )
    assert "MultiTaskEnabled" in error.msg and "boolean" in error.msg
    error = sdk_error(
        lambda: sdk_client.taskrouter.v1.workspaces.create(
            friendly_name="x", prioritize_queue_order="SOMETIMES"
        )
    )
    assert "PrioritizeQueueOrder" in error.msg and "FIFO" in error.msg


def test_bad_sid_parameter_400(sandbox: Any, sdk_client: Any) -> None:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    error = sdk_error(lambda: ws.tasks.create(attributes="{}", workflow_sid="WWnope"))
    assert (error.status, error.code) == (400, 20001)
    assert "WorkflowSid" in error.msg and "WW SID" in error.msg
    error = sdk_error(
        lambda: ws.workers.create(friendly_name="Carol", activity_sid="WK" + "1" * 32)
    )
    assert "ActivitySid" in error.msg


def test_missing_required_parameter_400(sandbox: Any, raw: Raw) -> None:
    answer = raw.post(
        f"/v1/Workspaces/{sandbox.workspace_sid}/Workflows", data={"FriendlyName": "w"}
    )
    status, code, message = error_of(answer)
    assert (status, code) == (400, 20001)
    assert "Configuration" in message


def test_oversize_attributes_400(sandbox: Any, sdk_client: Any) -> None:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    big = json.dumps({"blob": "x" * 4100})
    error = sdk_error(lambda: ws.tasks.create(attributes=big))
    assert (error.status, error.code) == (400, 20001)
    assert "Attributes" in error.msg or "attributes" in error.msg
    error = sdk_error(lambda: ws.workers.create(friendly_name="Big", attributes=big))
    assert error.status == 400


def test_invalid_json_attributes_and_configuration_400(sandbox: Any, sdk_client: Any) -> None:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    error = sdk_error(lambda: ws.tasks.create(attributes="{not json"))
    assert (error.status, error.code) == (400, 20001)
    assert "ttributes" in error.msg
    error = sdk_error(lambda: ws.workflows.create(friendly_name="Broken", configuration="{oops"))
    assert error.status == 400
    assert "onfiguration" in error.msg


def test_bad_bodies_are_4xx(sandbox: Any, raw: Raw) -> None:
    path = f"/v1/Workspaces/{sandbox.workspace_sid}/Activities"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert error_of(raw.post(path, data=b"FriendlyName", headers=form))[:2] == (400, 20001)
    assert error_of(raw.post(path, data=b"FriendlyName=\xff\xfe", headers=form))[:2] == (
        400,
        20001,
    )
    as_json = raw.post(path, json={"FriendlyName": "Lunch"})
    assert error_of(as_json)[0] == 415
    huge = raw.post(path, data={"FriendlyName": "x" * (3 * 1024 * 1024)})
    assert error_of(huge)[0] == 413
    twice = raw.post(path, data=[("FriendlyName", "a"), ("FriendlyName", "b")])
    assert "FriendlyName" in error_of(twice)[2]


def test_paging_parameters_checked(sandbox: Any, raw: Raw) -> None:
    path = f"/v1/Workspaces/{sandbox.workspace_sid}/Activities"
    assert "PageSize" in error_of(raw.get(path + "?PageSize=0"))[2]
    assert "PageSize" in error_of(raw.get(path + "?PageSize=1001"))[2]
    assert "PageToken" in error_of(raw.get(path + "?Page=3"))[2]


def test_server_survives_bad_input(sandbox: Any, raw: Raw, sdk_client: Any) -> None:
    test_bad_bodies_are_4xx(sandbox, raw)
    test_unknown_path_404(sandbox, raw)
    health = raw.get("/sandbox/health", check=False)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid).fetch().sid == (
        sandbox.workspace_sid
    )
