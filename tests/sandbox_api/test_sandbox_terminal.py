"""A running ``trcli sandbox`` shows one line per request and per routing decision on its
terminal (``-v``: also when stderr is not one); ``-q`` silences them, and so does a pipe."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.cli import invoke
from tests.helpers.sandbox_process import REPO, env_lines, start_sandbox


def run_sandbox(tmp_path: Path, *extra: str) -> tuple[str, str]:
    """Start a sandbox, route one Spanish task to Alice through trcli, stop it; its stderr."""
    port_file = tmp_path / "port"
    process = start_sandbox(
        port_file, "--in-memory", *extra, env={"TRCLI_HOME": str(tmp_path)}, text=True
    )
    try:
        env = {**env_lines(process), "TRCLI_HOME": str(tmp_path)}
        invoke(["worker", "set-activity", "Alice", "Idle"], env).ok()
        task = invoke(
            ["task", "create", "--attributes", '{"selected_language": "es"}', "--json"], env
        ).ok()
        invoke(["sandbox", "settle"], env).ok()  # the routing has run and written its lines
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    return str(task.json()["sid"]), stderr


@pytest.mark.slow
def test_requests_and_routing_decisions_are_lines_on_stderr(tmp_path: Path) -> None:
    task, stderr = run_sandbox(tmp_path, "-v")
    assert "POST /v1/Workspaces/WS" in stderr and "/Tasks  201  " in stderr
    assert "GET /v1/Workspaces" in stderr
    decisions = [line for line in stderr.splitlines() if "reservation.created" in line]
    assert len(decisions) == 1 and "for Alice (WK" in decisions[0]
    assert any("workflow.target-matched" in line for line in stderr.splitlines())
    assert task


@pytest.mark.slow
@pytest.mark.parametrize("extra", [("-q",), ()], ids=["-q", "stderr not a terminal"])
def test_quiet_or_not_a_terminal_prints_neither(extra: tuple[str, ...], tmp_path: Path) -> None:
    _, stderr = run_sandbox(tmp_path, *extra)
    assert "/v1/" not in stderr and "reservation.created" not in stderr
    assert "Sandbox stopped." in stderr


def banner_on(stderr_is_a_terminal: bool, tmp_path: Path, database: Path) -> str:
    """The sandbox's stderr up to "Press Ctrl-C to stop.", on a pseudo-terminal or a pipe."""
    port_file = tmp_path / "port"
    controller, terminal = pty.openpty()
    stderr = terminal if stderr_is_a_terminal else subprocess.PIPE
    process = subprocess.Popen(
        [sys.executable, "-m", "taskrouter_cli", "sandbox", "--db", str(database)]
        + ["--port", "0", "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env={**os.environ, "PYTHONPATH": str(REPO), "TRCLI_HOME": str(tmp_path)},
        cwd=REPO,
    )
    os.close(terminal)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"Press Ctrl-C to stop." not in seen and time.monotonic() < deadline:
            if stderr_is_a_terminal:
                ready, _, _ = select.select([controller], [], [], 1)
                if ready:
                    seen += os.read(controller, 4096)
            else:
                assert process.stderr is not None
                seen += process.stderr.readline()
    finally:
        process.terminate()
        process.wait(20)
        os.close(controller)
    return re.sub(r"\x1b\[[0-9;]*m", "", seen.decode())


@pytest.mark.parametrize("stderr_is_a_terminal", [True, False], ids=["terminal", "pipe"])
def test_a_database_path_with_brackets_is_shown_as_it_is(
    stderr_is_a_terminal: bool, tmp_path: Path
) -> None:
    folder = tmp_path / "runs[x]"  # rich would read [x] as a style tag and drop it
    folder.mkdir()
    banner = banner_on(stderr_is_a_terminal, tmp_path, folder / "sandbox.db")
    assert "Press Ctrl-C to stop." in banner
    unwrapped = banner.replace("\r", "").replace("\n", "")  # rich wraps at the terminal's width
    assert f"(database: {folder / 'sandbox.db'})" in unwrapped
    assert "[bold]" not in banner
