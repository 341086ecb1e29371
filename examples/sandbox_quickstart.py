"""The quickstart's Part 2 with nothing but the twilio SDK, against the trcli sandbox.

    trcli sandbox &                    # the offline TaskRouter on http://127.0.0.1:4010
    eval "$(trcli sandbox env)"        # TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TRCLI_API_URL
    python examples/sandbox_quickstart.py

Without TRCLI_API_URL it talks to live Twilio (the SDK's default), so the same script runs the
quickstart on your account. It sets Alice Offline, creates a Spanish task (pending), makes Alice
Idle (reserved), accepts the reservation over the REST API (assigned), then completes the task
and puts Alice back Offline. Each step prints one line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

WORKSPACE = "TaskRouter Quickstart"
WORKFLOW = "Incoming Customer Care Requests"


class ApiUrlHttpClient(TwilioHttpClient):
    """Sends the SDK's TaskRouter requests to another base URL (the sandbox)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=30)
        self.base = urlsplit(base_url.rstrip("/"))

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        parts = urlsplit(url)
        if parts.netloc.startswith("taskrouter."):
            url = urlunsplit(
                (self.base.scheme, self.base.netloc, self.base.path + parts.path, parts.query, "")
            )
        return super().request(method, url, *args, **kwargs)


def make_client() -> Client:
    account_sid = os.environ.get("TWILIO_ACCOUNT_SID")
    auth_token = os.environ.get("TWILIO_AUTH_TOKEN")
    if not account_sid or not auth_token:
        sys.exit(
            'Error: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (eval "$(trcli sandbox env)")'
        )
    api_url = os.environ.get("TRCLI_API_URL")
    if not api_url:
        return Client(account_sid, auth_token)
    client = Client(account_sid, auth_token, http_client=ApiUrlHttpClient(api_url))
    client.region = client.edge = None  # never rewrite the sandbox's host name
    return client


def by_name(items, name):  # type: ignore[no-untyped-def]
    for item in items:
        if item.friendly_name == name:
            return item
    sys.exit(f"Error: '{name}' not found; run 'trcli setup' first")


def wait_until(fetch, status, what):  # type: ignore[no-untyped-def]
    """Routing runs just after the API answers: poll briefly (at most 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        current = fetch()
        if current.assignment_status == status:
            return current
        if time.monotonic() > deadline:
            sys.exit(f"Error: {what} is {current.assignment_status}, expected {status}")
        time.sleep(0.05)


def main() -> int:
    client = make_client()
    workspace = by_name(client.taskrouter.v1.workspaces.list(), WORKSPACE)
    ws = client.taskrouter.v1.workspaces(workspace.sid)
    workflow = by_name(ws.workflows.list(), WORKFLOW)
    activities = {a.friendly_name: a.sid for a in ws.activities.list()}
    alice = by_name(ws.workers.list(), "Alice")

    ws.workers(alice.sid).update(activity_sid=activities["Offline"])
    print("Alice is Offline")
    task = ws.tasks.create(
        attributes=json.dumps({"selected_language": "es"}), workflow_sid=workflow.sid
    )
    task = wait_until(lambda: ws.tasks(task.sid).fetch(), "pending", f"task {task.sid}")
    print(f"task {task.sid} is pending in {task.task_queue_friendly_name}")

    ws.workers(alice.sid).update(activity_sid=activities["Idle"])
    wait_until(lambda: ws.tasks(task.sid).fetch(), "reserved", f"task {task.sid}")
    reservation = ws.tasks(task.sid).reservations.list(reservation_status="pending")[0]
    print(f"reservation {reservation.sid} for {reservation.worker_name} is pending")

    accepted = (
        ws.tasks(task.sid).reservations(reservation.sid).update(reservation_status="accepted")
    )
    task = wait_until(lambda: ws.tasks(task.sid).fetch(), "assigned", f"task {task.sid}")
    alice = ws.workers(alice.sid).fetch()
    print(
        f"reservation {accepted.sid} is {accepted.reservation_status}; task {task.sid} is "
        f"{task.assignment_status}; Alice is {alice.activity_name}"
    )

    ws.tasks(task.sid).update(assignment_status="completed", reason="quickstart done")
    ws.workers(alice.sid).update(activity_sid=activities["Offline"])
    print(f"task {task.sid} is completed; Alice is Offline again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
