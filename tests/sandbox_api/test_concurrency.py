"""50 simultaneous accepts of one reservation over HTTP: exactly one succeeds."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.helpers.spec_schema import validate_response
from tests.sandbox_api.util import ES_TASK, quickstart

ATTEMPTS = 50


def test_fifty_simultaneous_accepts(sandbox: Any, sdk_client: Any) -> None:
    qs = quickstart(sdk_client, sandbox.workspace_sid)
    task = qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid)
    qs.set_activity("Alice", "Idle")
    [reservation] = qs.ws.tasks(task.sid).reservations.list()
    url = (
        f"{sandbox.base_url}/v1/Workspaces/{qs.workspace_sid}/Tasks/{task.sid}"
        f"/Reservations/{reservation.sid}"
    )
    barrier = threading.Barrier(ATTEMPTS)

    def accept(_: int) -> tuple[int, str]:
        with requests.Session() as session:
            session.auth = (sandbox.account_sid, sandbox.auth_token)
            barrier.wait(timeout=10)
            answer = session.post(url, data={"ReservationStatus": "accepted"}, timeout=30)
            validate_response("POST", url, answer.status_code, answer.text)
            return answer.status_code, answer.text

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        results = list(pool.map(accept, range(ATTEMPTS)))

    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(400) == ATTEMPTS - 1, statuses
    refusals = [text for status, text in results if status == 400]
    assert all("already in state [accepted]" in text for text in refusals)
    assert qs.ws.tasks(task.sid).fetch().assignment_status == "assigned"
