"""Contract fuzzing: schemathesis generates requests from the TaskRouter OpenAPI spec for every
operation the sandbox implements and sends them to a real sandbox on 127.0.0.1.

Each operation gets a fresh sandbox (quickstart seeded, one pending reservation, one event) and
four runs of generated cases: valid and invalid data (schemathesis' positive and negative
modes), each with path SIDs generated from the spec's patterns and with the SIDs of records that
exist (so fetch/update/delete reach the service instead of stopping at 404). Checks on every
response:

* no 5xx, and the server keeps answering (``not_a_server_error`` + a health request per run);
* the status code is documented and the body matches the spec's response schema
  (schemathesis' ``status_code_conformance``, ``content_type_conformance`` and
  ``response_schema_conformance``), and the project's stricter check
  (``tests/helpers/spec_schema.py``: TaskRouter's date shape, no undeclared keys, error bodies);
* invalid data is refused with a 4xx (``negative_data_rejection``).

Where the spec is not TaskRouter (documented and excluded precisely here):

* the spec lists only the success status of each operation, while TaskRouter answers errors with
  4xx and its JSON error body (behaviour doc §1.4): a ``4XX`` response with that body's schema is
  added to every operation before generating;
* ``positive_data_acceptance`` is not checked: values valid for the spec's types are refused by
  TaskRouter's own rules (a ``Configuration`` that is not a workflow document, a SID of a record
  that does not exist, ``ReservationStatus`` moves that the reservation's state forbids).

Callback URLs in generated bodies (``AssignmentCallbackUrl``, ``FallbackAssignmentCallbackUrl``,
``EventCallbackUrl``) are pinned to a loopback target, so the sandbox never calls anywhere else.

Size: ``TRCLI_FUZZ_EXAMPLES`` examples per run (default 5: the whole module takes ~30 s on two
cores); raise it for a longer search, e.g. ``TRCLI_FUZZ_EXAMPLES=100 pytest tests/fuzz``.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import time
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, assume, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from taskrouter_cli.sandbox.api.spec import load_spec  # noqa: E402
from tests.helpers.spec_schema import ERROR_SCHEMA, SPEC_PATH, validate_response  # noqa: E402

EXAMPLES = int(os.environ.get("TRCLI_FUZZ_EXAMPLES", "5"))
CALLBACK_PARAMS = ("AssignmentCallbackUrl", "FallbackAssignmentCallbackUrl", "EventCallbackUrl")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@lru_cache(maxsize=1)
def fuzz_spec() -> dict[str, Any]:
    """The shipped spec plus TaskRouter's documented error answers (see the module docstring)."""
    raw: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    error = {
        "description": "TaskRouter error (behaviour doc §1.4)",
        "content": {"application/json": {"schema": ERROR_SCHEMA}},
    }
    for item in raw["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"]["4XX"] = error
    return raw


@lru_cache(maxsize=1)
def loaded_schema() -> Any:
    return schemathesis.openapi.from_dict(fuzz_spec())


def implemented_operations() -> list[str]:
    return sorted(op.operation_id for op in load_spec().operations() if op.implemented)


def api_operation(operation_id: str) -> Any:
    for result in loaded_schema().get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") == operation_id:
            return operation
    raise LookupError(operation_id)


def existing_sids(sandbox: Any, callback_url: str) -> dict[str, str]:
    """Make one of each record and return their SIDs by kind (plus the scope SIDs)."""
    service, ws = sandbox.service, sandbox.workspace_sid
    scope = {"workspace_sid": ws}
    activities = {a["friendly_name"]: a["sid"] for a in service.list("activity", scope).records}
    workers = {w["friendly_name"]: w["sid"] for w in service.list("worker", scope).records}
    workflow = service.list("workflow", scope).records[0]["sid"]
    service.update("workflow", scope, workflow, {"assignment_callback_url": callback_url})
    service.update("worker", scope, workers["Alice"], {"activity_sid": activities["Idle"]})
    task = service.create("task", scope, {"attributes": json.dumps({"selected_language": "es"})})[
        "sid"
    ]
    reservation = service.list("reservation", {**scope, "task_sid": task}).records[0]["sid"]
    sids = {
        "workspace": ws,
        "activity": activities["Busy"],
        "worker": workers["Alice"],
        "task_queue": service.list("task_queue", scope).records[0]["sid"],
        "workflow": workflow,
        "task": task,
        "reservation": reservation,
        "task_channel": service.list("task_channel", scope).records[0]["sid"],
        "event": service.list("event", scope, {}, 50, None).records[0]["sid"],
        "worker_channel": service.list(
            "worker_channel", {**scope, "worker_sid": workers["Alice"]}
        ).records[0]["sid"],
    }
    return sids


def path_parameters(operation_id: str, sids: dict[str, str]) -> dict[str, str]:
    operation = load_spec().operation(operation_id)
    names = set(operation.path_patterns)
    known = {
        "WorkspaceSid": sids["workspace"],
        "TaskSid": sids["task"],
        "WorkerSid": sids["worker"],
        "TaskQueueSid": sids["task_queue"],
        "WorkflowSid": sids["workflow"],
    }
    values = {name: value for name, value in known.items() if name in names}
    if "Sid" in names and operation.kind is not None:
        values["Sid"] = sids[operation.kind]
    return values


def pin_callback_urls(case: Any, url: str) -> bool:
    """Point every callback URL of the generated body at ``url``; False if that is not possible."""
    body = case.body
    if isinstance(body, dict):
        for name in CALLBACK_PARAMS:
            if name in body:
                body[name] = url
        return True
    text = body if isinstance(body, (str, bytes)) else repr(body)
    needle = b"callbackurl" if isinstance(text, bytes) else "callbackurl"
    return needle not in text.lower()


def is_loopback(url: str) -> bool:
    return not url or urlsplit(url).hostname in LOOPBACK_HOSTS


@pytest.mark.parametrize("operation_id", implemented_operations())
def test_generated_requests_get_documented_answers(
    operation_id: str, sandbox: Any, callback_target: Any
) -> None:
    operation = api_operation(operation_id)
    sids = existing_sids(sandbox, callback_target.url)
    authorization = "Basic " + base64.b64encode(
        f"{sandbox.account_sid}:{sandbox.auth_token}".encode()
    ).decode("ascii")
    session = requests.Session()
    health_session = requests.Session()
    health_session.auth = (sandbox.account_sid, sandbox.auth_token)
    answered: dict[int, int] = {}

    def run(mode: Any, fixed: dict[str, str]) -> None:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def check(case: Any) -> None:
            assume(pin_callback_urls(case, callback_target.url))
            case.headers = {**(case.headers or {}), "Authorization": authorization}
            response = case.call_and_validate(
                base_url=sandbox.base_url, session=session, checks=CHECKS, timeout=10
            )
            answered[response.status_code] = answered.get(response.status_code, 0) + 1
            url = response.request.url
            validate_response(case.method, url, response.status_code, response.text)

        check()
        health = health_session.get(f"{sandbox.base_url}/v1/Workspaces", timeout=10)
        assert health.status_code == 200, f"the sandbox stopped answering: {health.text[:200]}"

    started = time.monotonic()
    scoped = path_parameters(operation_id, sids)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        run(mode, {"WorkspaceSid": sids["workspace"]} if "WorkspaceSid" in scoped else {})
        run(mode, scoped)
    sandbox.flush()
    stray = [d["url"] for d in sandbox.service.deliveries() if not is_loopback(d["url"])]
    assert not stray, f"callbacks left the machine: {stray}"
    assert sum(answered.values()) > 0, "no request was sent"
    assert time.monotonic() - started < 60 + EXAMPLES
