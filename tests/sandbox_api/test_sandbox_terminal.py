"""A running ``trcli sandbox`` shows one line per request and per routing decision on its
terminal (``-v``: also when stderr is not one); ``-q`` silences them, and so does a pipe."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.helpers.cli import invoke
from tests.helpers.sandbox_process import env_lines, start_sandbox


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
