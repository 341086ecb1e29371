"""The CLI against an API it cannot talk to: exit 5 (network), one line on stderr, no traceback.

``tests/cli/test_errors.py`` checks the message for a refused connection in-process; these run
the real ``python -m taskrouter_cli`` process against three broken endpoints on loopback: nothing
listening, a server that closes every connection at once, and one that answers bytes that are
not HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


class BrokenEndpoint:
    """Accepts connections on loopback and answers each with ``reply`` (b"" = close at once)."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            with connection:
                try:
                    if self.reply:
                        connection.settimeout(2)
                        connection.recv(65536)
                        connection.sendall(self.reply)
                except OSError:
                    pass

    def close(self) -> None:
        self.done.set()
        self.thread.join(5)
        self.listener.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["refused", "closed", "not-http"])
def api_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "refused":
        yield f"http://127.0.0.1:{free_port()}"
        return
    endpoint = BrokenEndpoint(b"" if request.param == "closed" else b"\x00\xffSSH-2.0 nope\r\n")
    try:
        yield f"http://127.0.0.1:{endpoint.port}"
    finally:
        endpoint.close()


@pytest.mark.parametrize("command", [["worker", "list"], ["task", "create", "--json"]])
def test_unreachable_api_is_exit_5_in_one_line(api_url: str, command: list[str]) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "2" * 32,
        "TRCLI_API_URL": api_url,
        "TRCLI_WORKSPACE": "WS" + "3" * 32,
    }
    if command[:2] == ["task", "create"]:
        command = [*command[:2], "--attributes", "{}", *command[2:]]
    result = subprocess.run(
        [sys.executable, "-m", "taskrouter_cli", *command],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 5, result.stderr
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith(f"Error: Cannot reach the TaskRouter API at {api_url}"), lines[0]
    assert result.stdout == ""
