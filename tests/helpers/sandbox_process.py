"""``trcli sandbox`` as a user runs it: a real process on a free loopback port, for the tests
that need one outside the test process (a signal, a file limit, a second sandbox, its terminal).

``start_sandbox(port_file, "--in-memory")`` starts ``python -m taskrouter_cli sandbox --port 0
--port-file PORT_FILE ...`` from this repository with stdout and stderr piped;
:func:`wait_for_port` gives its base URL once it listens, :func:`env_lines` the ``export`` lines
it prints, :func:`stop` ends it and returns what it wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def spawn_trcli(
    *args: str,
    env: Mapping[str, str] | None = None,
    text: bool = False,
    argv: Sequence[str] | None = None,
) -> subprocess.Popen[Any]:
    """``python -m taskrouter_cli ARGS`` (or ``argv + ARGS``) from the repository."""
    command = [*(argv or (sys.executable, "-m", "taskrouter_cli")), *args]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=text,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        cwd=REPO,
    )


def start_sandbox(
    port_file: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    text: bool = False,
    argv: Sequence[str] | None = None,
) -> subprocess.Popen[Any]:
    """``trcli sandbox --port 0 --port-file PORT_FILE ARGS`` (a stale port file is removed)."""
    port_file.unlink(missing_ok=True)
    options = ("sandbox", "--port", "0", "--port-file", str(port_file), *args)
    return spawn_trcli(*options, env=env, text=text, argv=argv)


def wait_for_port(process: subprocess.Popen[Any], port_file: Path, timeout: float = 20) -> str:
    """The sandbox's base URL once it wrote its port (fails with its stderr if it exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read() if process.stderr else "exited"
            raise AssertionError(error.decode() if isinstance(error, bytes) else error)
        if port_file.exists() and port_file.read_text().strip():
            return f"http://127.0.0.1:{port_file.read_text().strip()}"
        time.sleep(0.02)
    raise AssertionError("the sandbox did not report its port")


def env_lines(process: subprocess.Popen[Any]) -> dict[str, str]:
    """The ``export NAME=value`` lines the sandbox prints on start (its URL and credentials)."""
    assert process.stdout is not None
    values: dict[str, str] = {}
    while len(values) < 3:
        raw = process.stdout.readline()
        line = raw.decode() if isinstance(raw, bytes) else raw
        assert line, "the sandbox printed no environment lines"
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            values[name] = value.strip("'\"")
    return values


def stop(process: subprocess.Popen[Any], timeout: float = 20) -> tuple[Any, Any]:
    """SIGTERM (if still running), then its remaining stdout and stderr."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()
