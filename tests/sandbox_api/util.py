"""Helpers for the SDK-over-HTTP tests: quickstart lookups and raw HTTP requests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from tests.helpers.spec_schema import validate_response

ES_TASK = json.dumps({"selected_language": "es"})


@dataclass
class Quickstart:
    """SIDs of the seeded quickstart workspace, looked up through the SDK."""

    ws: Any
    workspace_sid: str
    activities: dict[str, str]
    workers: dict[str, str]
    queues: dict[str, str]
    workflow_sid: str

    def worker(self, name: str) -> Any:
        return self.ws.workers(self.workers[name])

    def set_activity(self, worker: str, activity: str) -> Any:
        return self.worker(worker).update(activity_sid=self.activities[activity])


def quickstart(client: Any, workspace_sid: str) -> Quickstart:
    ws = client.taskrouter.v1.workspaces(workspace_sid)
    workflows = ws.workflows.list()
    assert [w.friendly_name for w in workflows] == ["Incoming Customer Care Requests"]
    return Quickstart(
        ws=ws,
        workspace_sid=workspace_sid,
        activities={a.friendly_name: a.sid for a in ws.activities.list()},
        workers={w.friendly_name: w.sid for w in ws.workers.list()},
        queues={q.friendly_name: q.sid for q in ws.task_queues.list()},
        workflow_sid=workflows[0].sid,
    )


class Raw:
    """Plain HTTP against the sandbox (for what the SDK cannot send), spec-checked."""

    def __init__(self, base_url: str, account_sid: str, auth_token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.auth = (account_sid, auth_token)

    def request(self, method: str, path: str, *, check: bool = True, **kwargs: Any) -> Any:
        response = self.session.request(method, self.base_url + path, timeout=10, **kwargs)
        if check:
            validate_response(method, self.base_url + path, response.status_code, response.text)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)


def error_of(response: Any) -> tuple[int, int, str]:
    """(HTTP status, Twilio code, message) of an error answer, after checking its shape."""
    body = response.json()
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}"
    assert body["status"] == response.status_code
    return response.status_code, body["code"], body["message"]
