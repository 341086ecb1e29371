"""Every file in examples/ (except the serve colleague's rules files) is run here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import Trcli, wait_status

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WORKFLOW = "Incoming Customer Care Requests"


def test_attributes_file_routes_to_the_spanish_queue(trcli: Trcli) -> None:
    path = EXAMPLES / "attributes-spanish.json"
    assert json.loads(path.read_text()) == {"selected_language": "es"}
    task = trcli("task", "create", "--attributes", f"@{path}", "--json").ok().json()
    assert task["assignment_status"] == "pending"
    shown = trcli("task", "show", task["sid"], "--json").ok().json()
    assert shown["task_queue_friendly_name"] == "Customer Care Requests - Spanish"


@pytest.fixture
def callback_server(sandbox: Any) -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = {**os.environ, "TWILIO_AUTH_TOKEN": sandbox.auth_token}
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "callback_server.py"), "--port", "0", "--accept"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:"), first
        yield process, first.removeprefix("listening on ")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_callback_server_accepts_signed_callbacks(
    trcli: Trcli, callback_server: tuple[subprocess.Popen[str], str]
) -> None:
    process, url = callback_server
    assert url.endswith("/assignment_callback")
    trcli("workflow", "point-callback", WORKFLOW, "--url", url).ok()
    task = trcli(
        "task", "create", "--attributes", f"@{EXAMPLES / 'attributes-spanish.json'}", "--json"
    ).ok()
    sid = task.json()["sid"]
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    wait_status(trcli, sid, "assigned")  # accepted by the example's {"instruction": "accept"}
    assert process.stdout is not None
    line = process.stdout.readline()
    assert f"of task {sid}" in line and 'answering {"instruction": "accept"}' in line


def test_callback_server_refuses_unsigned_requests(
    callback_server: tuple[subprocess.Popen[str], str],
) -> None:
    _, url = callback_server
    request = urllib.request.Request(url, data=b"TaskSid=WT1&ReservationSid=WR1")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    assert raised.value.code == 403
    assert json.loads(raised.value.read()) == {"error": "invalid X-Twilio-Signature"}


def test_callback_server_needs_the_auth_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TWILIO_AUTH_TOKEN"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "callback_server.py")],
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=30,
    )
    assert done.returncode == 3
    assert "set TWILIO_AUTH_TOKEN" in done.stderr


def test_sandbox_quickstart_script_runs_part_two(sandbox: Any, sdk_client: Any) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "sandbox_quickstart.py")],
        env={**os.environ, **sandbox.env},
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Alice is Offline"
    assert lines[1].endswith("is pending in Customer Care Requests - Spanish")
    assert lines[2].endswith("for Alice is pending")
    assert "is accepted; task" in lines[3] and "is assigned; Alice is Busy" in lines[3]
    assert lines[4].endswith("is completed; Alice is Offline again")
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    assert [t.assignment_status for t in ws.tasks.list()] == ["completed"]
