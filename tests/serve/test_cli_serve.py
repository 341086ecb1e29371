"""`trcli serve` as a user runs it: a real process against the sandbox, stopped by SIGTERM or
killed outright; and the start-up errors, each one line."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from taskrouter_cli.cli import cli
from taskrouter_cli.errors import ExitCode
from tests.serve.test_sandbox_flows import WORKFLOW, Quickstart


class ServeProcess:
    """``trcli serve --json --port 0 ...`` in a child process; stdout read line by line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "taskrouter_cli", "serve", "--json", "--port", "0"]
        self.process = subprocess.Popen(
            [*command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def next_json(self, timeout: float = 20.0) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.process.kill()
            _, stderr = self.process.communicate(timeout=5)
            raise AssertionError(f"no output from trcli serve; stderr:\n{stderr}") from None
        return dict(json.loads(line))

    def wait_for_assignment(self) -> dict[str, Any]:
        for _ in range(50):
            record = self.next_json()
            if record.get("kind") == "assignment":
                return record
        raise AssertionError("no assignment callback logged")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(sig)
        try:
            _, stderr = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return self.process.returncode, stderr


def spawning(base_env: dict[str, str]) -> Iterator[Callable[..., ServeProcess]]:
    """``run(*args, env=None)`` starts a ServeProcess; every one still running is killed after."""
    started: list[ServeProcess] = []

    def run(*args: str, env: dict[str, str] | None = None) -> ServeProcess:
        process = ServeProcess(list(args), {**base_env, **(env or {})})
        started.append(process)
        return process

    yield run
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.communicate(timeout=10)


@pytest.fixture
def spawn(sandbox: Any) -> Iterator[Callable[..., ServeProcess]]:
    yield from spawning(sandbox.env)


@pytest.fixture
def quickstart(sandbox: Any, sdk_client: Any) -> Quickstart:
    return Quickstart(sandbox, sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid))


def test_serve_points_logs_and_restores_on_sigterm(
    spawn: Any, quickstart: Quickstart, sandbox: Any
) -> None:
    workspace_before = quickstart.workspace.fetch().event_callback_url
    serve = spawn("--point", WORKFLOW, "--events")
    started = serve.next_json()
    assert started["kind"] == "serving" and started["validation"] is True
    assert quickstart.callback_url() == started["assignment_url"]
    assert quickstart.workspace.fetch().event_callback_url == started["events_url"]

    task = quickstart.create_task("es")
    quickstart.set_activity("Alice", "Idle")
    sandbox.flush()
    record = serve.wait_for_assignment()
    assert record["task_sid"] == task.sid and record["signature"] == "valid"
    assert quickstart.reservations(task.sid)[0].reservation_status == "pending"

    code, stderr = serve.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert "AssignmentCallbackUrl restored to (empty)" in stderr
    assert quickstart.callback_url() is None
    assert (quickstart.workspace.fetch().event_callback_url or None) == (workspace_before or None)


def test_a_killed_serve_is_repaired_by_the_next_one(
    spawn: Any, quickstart: Quickstart, isolated_environment: Path
) -> None:
    first = spawn("--point", WORKFLOW)
    dead_url = first.next_json()["assignment_url"]
    first.stop(signal.SIGKILL)
    assert quickstart.callback_url() == dead_url  # nothing could restore it
    state = isolated_environment / "serve-wiring.json"
    assert state.exists() and state.stat().st_mode & 0o777 == 0o600

    second = spawn("--point", WORKFLOW)
    assert second.next_json()["assignment_url"] != dead_url
    code, stderr = second.stop(signal.SIGINT)
    assert code == 130, stderr  # Ctrl-C: 130, after restoring the wiring
    assert "did not exit cleanly" in stderr
    assert quickstart.callback_url() is None
    assert not (isolated_environment / "serve-wiring.json").exists()


def invoke(args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["serve", "--port", "0", *args], env=env or {})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--instruction", "dequeue"], "the dequeue instruction needs --from"),
        (["--instruction", "call", "--from", "+15551234567"], "needs --url"),
        (["--instruction", "redirect", "--url", "https://e.com/x"], "needs --call-sid"),
        (["--instruction", "accept", "--activity", "Offline"], "--activity cannot be used"),
        (["--rules", "r.toml", "--instruction", "accept"], "--rules cannot be combined"),
        (["--tunnel", "--public-url", "https://x.example"], "cannot be used together"),
        (["--point", "W"], "--point needs a URL TaskRouter can reach"),
        (["--public-url", "http://localhost:8080"], "points at this machine"),
        (["--public-url", "https://x.example/assignment"], "without /assignment"),
        (["--workers", "2", "--reject-replays"], "--reject-replays needs one process"),
        (["--workers", "2", "--forward-to", "http://127.0.0.1:9/x"], "--forward-to runs in one"),
    ],
)
def test_start_up_errors_are_one_line(args: list[str], message: str) -> None:
    result = invoke(args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_bad_rules_file_names_its_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rules]]\nwhen = 'selected_language = = \"es\"'\ninstruction = 'accept'\n")
    result = invoke(["--rules", str(rules)])
    assert result.exit_code == ExitCode.USAGE
    assert f"{rules} line 2: rule 1:" in result.stderr and "column" in result.stderr


def test_activity_names_are_resolved_against_the_workspace(sandbox: Any) -> None:
    result = invoke(["--instruction", "reject", "--activity", "Napping"], env=sandbox.env)
    assert result.exit_code == ExitCode.USAGE
    assert "No Activity named 'Napping'" in result.stderr and "Offline" in result.stderr


@pytest.mark.parametrize("processes", [[], ["--workers", "2"]])
def test_a_busy_port_is_one_line_on_stderr(
    isolated_environment: Path, processes: list[str]
) -> None:
    import socket

    env = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "0" * 32}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = subprocess.run(
            [sys.executable, "-m", "taskrouter_cli", "serve", "--port", port, *processes],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=60,
            check=False,
        )
    assert result.returncode == ExitCode.USAGE
    # nothing of the event loop's teardown (it said "Task was destroyed but it is pending!")
    said = f"Error: Port {port} on 127.0.0.1 is already in use. Stop the other server or pick"
    assert result.stderr.splitlines() == [f"{said} another port with --port"]


def test_a_busy_port_fails_before_anything_is_pointed(quickstart: Quickstart, sandbox: Any) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(
            cli, ["serve", "--port", port, "--point", WORKFLOW], env=sandbox.env
        )
    assert result.exit_code == ExitCode.USAGE
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert quickstart.callback_url() is None


def test_rules_files_resolve_activity_names_at_start(
    spawn: Any, quickstart: Quickstart, sandbox: Any
) -> None:
    rules = Path(__file__).resolve().parents[2] / "examples" / "rules.toml"
    serve = spawn("--rules", str(rules), "--point", WORKFLOW)
    started = serve.next_json()
    offline = quickstart.sid("activities", "Offline")
    assert f"reject activity_sid={offline}" in started["reply"]
    task = quickstart.create_task("es")
    quickstart.set_activity("Alice", "Idle")
    sandbox.flush()
    record = serve.wait_for_assignment()
    assert (record["task_sid"], record["instruction"]) == (task.sid, "accept")
    assert record["rule"] == "Spanish tasks are accepted"
    assert serve.stop()[0] == 0
