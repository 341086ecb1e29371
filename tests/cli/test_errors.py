"""Error paths shared by every command: one line, the documented exit code, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any

import pytest

from tests.helpers.cli import Trcli, invoke


def test_missing_credentials_exit_3() -> None:
    outcome = invoke(["task", "list"], {})
    assert outcome.exit_code == 3
    assert "No Twilio Account SID configured" in outcome.stderr
    assert "Traceback" not in outcome.stderr


def test_unreachable_api_exit_5(sandbox: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**sandbox.env, "TRCLI_API_URL": f"http://127.0.0.1:{port}"}
    outcome = invoke(["worker", "list"], env)
    assert outcome.exit_code == 5
    assert f"Cannot reach the TaskRouter API at http://127.0.0.1:{port}" in outcome.stderr
    assert "Is the sandbox running?" in outcome.stderr


def test_wrong_auth_token_exit_3(sandbox: Any) -> None:
    outcome = invoke(["worker", "list"], {**sandbox.env, "TWILIO_AUTH_TOKEN": "wrong"})
    assert outcome.exit_code == 3
    assert "20003" in outcome.stderr


def test_api_404_shows_code_and_docs_link(trcli: Trcli) -> None:
    outcome = trcli("reservation", "show", "WR" + "a" * 32, "--task", "WT" + "b" * 32)
    assert outcome.exit_code == 4
    assert outcome.stderr.startswith("Error: Twilio 20404: ")
    assert "https://www.twilio.com/docs/errors/20404" in outcome.stderr
    assert outcome.stderr.count("\n") == 1


def test_unknown_names_list_candidates(trcli: Trcli) -> None:
    queue = trcli("queue", "show", "Spanish")
    assert queue.exit_code == 2
    assert "No TaskQueue named 'Spanish'" in queue.stderr
    assert "Customer Care Requests - Spanish (WQ" in queue.stderr
    workspace = trcli("worker", "list", "--workspace", "Nope")
    assert workspace.exit_code == 2 and "TaskRouter Quickstart (WS" in workspace.stderr


def test_wrong_prefixes_are_refused(trcli: Trcli) -> None:
    checks = [
        (("worker", "show", "WT" + "0" * 32), "is a Task SID, but a Worker SID"),
        (("workflow", "show", "WQ" + "0" * 32), "is a TaskQueue SID, but a Workflow SID"),
        (("events", "list", "--task", "WR" + "0" * 32), "is a Reservation SID, but a Task SID"),
        (("workspace", "show", "WW" + "0" * 32), "is a Workflow SID, but a Workspace SID"),
    ]
    for args, message in checks:
        outcome = trcli(*args)
        assert outcome.exit_code == 2, args
        assert message in outcome.stderr, (args, outcome.stderr)


def test_python_dash_m_against_the_sandbox(sandbox: Any) -> None:
    import os

    env = {**os.environ, **sandbox.env}
    result = subprocess.run(
        [sys.executable, "-m", "taskrouter_cli", "worker", "list", "--json"],
        capture_output=True,
        check=False,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert '"friendly_name": "Alice"' in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "taskrouter_cli", "task", "show", "nonsense"],
        capture_output=True,
        check=False,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Error: 'nonsense' is not a Task SID. Task SIDs are WT followed by 32 hex digits"
    )


class _NotTaskRouter:
    """A plain web server on loopback that answers every request with ``status`` and HTML."""

    def __init__(self, status: int) -> None:
        import http.server
        import threading

        answer = status

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b"<html><body>Welcome to nginx!</body></html>"
                self.send_response(answer)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status", [200, 404])
def test_an_api_url_that_is_not_taskrouter_says_so(status: int, sandbox: Any) -> None:
    other = _NotTaskRouter(status)
    try:
        outcome = invoke(["worker", "list"], {**sandbox.env, "TRCLI_API_URL": other.url})
    finally:
        other.close()
    assert outcome.exit_code == 2
    assert outcome.stderr.startswith(f"Error: The server at {other.url} is not a TaskRouter API")
    assert "Check --api-url / TRCLI_API_URL" in outcome.stderr
    assert "twilio.com/docs/errors" not in outcome.stderr
    assert outcome.stderr.count("\n") == 1
