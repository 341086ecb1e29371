"""The exit-code rule across commands: Ctrl-C exits 130 everywhere; a check that fails or
times out exits 6 (doctor and the tutorial are covered in tests/quickstart); 1 is left for bugs.
A Task that matches no filter is never silent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import Trcli

FRENCH = '{"selected_language": "fr"}'


AS_ON_A_TERMINAL = (
    "import runpy, signal, sys; "
    "signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'trcli'; "
    "runpy.run_module('taskrouter_cli', run_name='__main__')"
)
"""``python -m taskrouter_cli`` with Ctrl-C delivered as on a terminal: a job started in the
background by a non-interactive shell (a CI runner, for one) inherits SIGINT ignored."""


class Running:
    """The real trcli in a subprocess, stopped with a signal once it printed ``ready``."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", AS_ON_A_TERMINAL, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )

    def wait_for(self, stream: str, text: str, timeout: float = 30.0) -> None:
        pipe = getattr(self.process, stream)
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            line = pipe.readline()
            seen += line
            if text in line:
                return
            if not line and self.process.poll() is not None:
                break
        self.process.kill()
        raise AssertionError(f"never printed {text!r}; got {seen!r}")

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        try:
            _, stderr = self.process.communicate(timeout=30)
        finally:
            self.process.kill()
        return self.process.returncode, stderr


@pytest.mark.parametrize(
    ("args", "stream", "ready"),
    [
        (["task", "watch", "{task}", "--interval", "0.1"], "stdout", "pending"),
        (["events", "tail", "--interval", "0.1"], "stderr", "Following events"),
        (["task", "create", "--attributes", "{es}", "--wait"], "stderr", "waiting up to"),
    ],
    ids=["task watch", "events tail", "task create --wait"],
)
def test_ctrl_c_exits_130(
    args: list[str], stream: str, ready: str, trcli: Trcli, sandbox: Any
) -> None:
    es = '{"selected_language": "es"}'
    task = trcli("task", "create", "--attributes", es, "--json").ok().json()["sid"]
    command = [arg.format(task=task, es=es) for arg in args]
    running = Running(command, sandbox.env)
    running.wait_for(stream, ready)
    code, stderr = running.interrupt()
    assert code == 130, stderr
    assert "Traceback" not in stderr


def test_ctrl_c_stops_the_sandbox_with_130(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    running = Running(
        ["sandbox", "--in-memory", "--port", "0", "--port-file", str(port_file)],
        {"TRCLI_HOME": str(tmp_path)},
    )
    running.wait_for("stdout", "TRCLI_API_URL")
    code, stderr = running.interrupt()
    assert code == 130, stderr
    assert "Sandbox stopped." in stderr


def test_sigterm_stops_the_sandbox_with_0(tmp_path: Path) -> None:
    running = Running(["sandbox", "--in-memory", "--port", "0"], {"TRCLI_HOME": str(tmp_path)})
    running.wait_for("stdout", "TRCLI_API_URL")
    running.process.send_signal(signal.SIGTERM)
    _, stderr = running.process.communicate(timeout=30)
    assert running.process.returncode == 0, stderr


def test_a_task_matching_no_filter_is_announced_on_stderr(trcli: Trcli) -> None:
    outcome = trcli("task", "create", "--attributes", FRENCH, "--json").ok()
    assert outcome.json()["assignment_status"] == "pending"  # canceled by routing, after
    assert "will not be routed" in outcome.stderr
    assert "No matching filter" in outcome.stderr
    assert f"trcli explain {outcome.json()['sid']}" in outcome.stderr


def test_wait_on_a_task_matching_no_filter_fails_with_the_reason(trcli: Trcli) -> None:
    outcome = trcli("task", "create", "--attributes", FRENCH, "--wait")
    assert outcome.exit_code == 6
    assert "was canceled: No matching filter" in outcome.stderr
    assert "trcli explain WT" in outcome.stderr


def test_a_routable_task_gets_no_warning(trcli: Trcli) -> None:
    outcome = trcli("task", "create", "--attributes", '{"selected_language": "en"}').ok()
    assert "Warning" not in outcome.stderr
