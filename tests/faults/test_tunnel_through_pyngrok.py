"""``trcli serve --tunnel --point`` end to end through pyngrok's real process management.

Only ngrok itself is faked, at the edge: ``tests/helpers/ngrok_agent.py`` is given to pyngrok as
its ngrok path (``PYNGROK_NGROK_PATH``); pyngrok starts it, reads its log lines, talks to its
local agent API, and the agent forwards a local "public" port to the server. So: pyngrok starts
the agent, the Workflow is pointed at the public URL, the sandbox calls the public URL,
signatures are checked against it, and the URL is restored on exit.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.sandbox_process import REPO
from tests.serve.test_cli_serve import ServeProcess, spawning
from tests.serve.test_sandbox_flows import WORKFLOW, Quickstart

AGENT = REPO / "tests" / "helpers" / "ngrok_agent.py"
NGROK_TOKEN = "2fakeNGROKtokenSECRET"


@pytest.fixture
def quickstart(sandbox: Any, sdk_client: Any) -> Quickstart:
    return Quickstart(sandbox, sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid))


@pytest.fixture
def agent_env(tmp_path: Path) -> dict[str, str]:
    """An executable 'ngrok' that runs the stand-in agent, and a home of its own for pyngrok."""
    executable = tmp_path / "bin" / "ngrok"
    executable.parent.mkdir()
    executable.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{AGENT}" "$@"\n')
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PYNGROK_NGROK_PATH": str(executable),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "TRCLI_FAKE_NGROK_LOG": str(tmp_path / "agent-runs.jsonl"),
        "PYTHONPATH": str(REPO),
    }


@pytest.fixture
def spawn(sandbox: Any, agent_env: dict[str, str]) -> Iterator[Callable[..., ServeProcess]]:
    yield from spawning({**sandbox.env, **agent_env})


def agent_runs(agent_env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(agent_env["TRCLI_FAKE_NGROK_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_serve_tunnel_point_runs_end_to_end_through_pyngrok(
    spawn: Callable[..., ServeProcess],
    quickstart: Quickstart,
    sandbox: Any,
    agent_env: dict[str, str],
) -> None:
    serve = spawn(
        "--tunnel",
        "--point",
        WORKFLOW,
        "--instruction",
        "accept",
        env={"NGROK_AUTHTOKEN": NGROK_TOKEN},
    )
    started = serve.next_json()
    public = started["assignment_url"]
    local = started["local_url"]
    assert public.startswith("http://127.0.0.1:") and not public.startswith(local)
    assert quickstart.callback_url() == public  # the Workflow points at the tunnel

    task = quickstart.create_task("es")
    quickstart.set_activity("Alice", "Idle")
    sandbox.flush()
    record = serve.wait_for_assignment()
    assert record["task_sid"] == task.sid
    assert record["signature"] == "valid"  # signed by the sandbox for the public URL
    assert record["reply"] == {"instruction": "accept"}
    assert quickstart.reservations(task.sid)[0].reservation_status == "accepted"
    delivery = sandbox.service.deliveries()[-1]
    assert delivery["url"] == public  # the sandbox called the public URL, not the local one

    code, stderr = serve.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert quickstart.callback_url() is None  # restored on exit
    [run] = agent_runs(agent_env)
    assert run["argv"][:2] == ["start", "--none"]
    assert NGROK_TOKEN not in " ".join(run["argv"]) and run["token_in_env"]
    assert "Traceback" not in stderr


def test_a_refused_ngrok_token_is_one_line_through_pyngrok(
    spawn: Callable[..., ServeProcess], agent_env: dict[str, str], tmp_path: Path
) -> None:
    """The agent logs ngrok's ERR_NGROK_4018 line and exits; pyngrok raises; trcli says so."""
    config = Path(agent_env["XDG_CONFIG_HOME"]) / "ngrok" / "ngrok.yml"
    config.parent.mkdir(parents=True)
    config.write_text('version: "3"\nagent:\n  authtoken: from-ngroks-own-config\n')
    serve = spawn("--tunnel", env={"NGROK_AUTHTOKEN": ""})
    serve.process.wait(timeout=30)
    _, stderr = serve.process.communicate(timeout=10)
    assert serve.process.returncode == 3, stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith("Error: ngrok refused the auth token (ERR_NGROK_4018)")
    assert os.path.exists(agent_env["PYNGROK_NGROK_PATH"])


def test_an_agent_failure_is_one_line_naming_the_real_port(
    spawn: Callable[..., ServeProcess],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    failure = {"NGROK_AUTHTOKEN": NGROK_TOKEN, "TRCLI_FAKE_NGROK_FAIL": "failed to start tunnel"}
    serve = spawn("--tunnel", "--port", str(port), env=failure)
    serve.process.wait(timeout=30)
    _, stderr = serve.process.communicate(timeout=10)
    assert serve.process.returncode == 5, stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith("Error: ngrok failed: failed to start tunnel")
    assert f"'ngrok http {port}'" in line and "8080" not in line


def test_a_missing_agent_that_cannot_be_downloaded_is_one_error_line(
    spawn: Callable[..., ServeProcess], agent_env: dict[str, str], tmp_path: Path
) -> None:
    """Offline, pyngrok's download fails: one line each for the notice and the error."""
    missing = tmp_path / "nowhere" / "ngrok"
    serve = spawn(
        "--tunnel",
        env={"NGROK_AUTHTOKEN": NGROK_TOKEN, "PYNGROK_NGROK_PATH": str(missing)},
    )
    serve.process.wait(timeout=60)
    _, stderr = serve.process.communicate(timeout=10)
    assert serve.process.returncode == 5, stderr
    lines = stderr.strip().splitlines()
    assert lines[0].startswith("The first tunnel downloads the ngrok agent")
    assert lines[-1].startswith("Error: Cannot download the ngrok agent")
    assert len([line for line in lines if "Error" in line]) == 1
    assert "Traceback" not in stderr
