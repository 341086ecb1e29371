"""One sandbox per database: a second start, or a direct reset, on a database in use is refused
with one line naming the running sandbox; ``sandbox env`` prints what the running one accepts.

Each test runs a real ``trcli sandbox`` process on a database file in the test's folder.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers import sandbox_process
from tests.helpers.cli import invoke

Start = Callable[..., tuple[subprocess.Popen[bytes], str]]


@pytest.fixture
def start_sandbox(tmp_path: Path) -> Iterator[Start]:
    started: list[subprocess.Popen[bytes]] = []

    def start(
        database: Path, *extra: str, env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], str]:
        port_file = tmp_path / f"port-{len(started)}"
        process = sandbox_process.start_sandbox(port_file, "--db", str(database), *extra, env=env)
        started.append(process)
        return process, sandbox_process.wait_for_port(process, port_file)

    yield start
    for process in started:
        sandbox_process.stop(process)


def test_a_second_sandbox_on_the_same_database_exits_naming_the_first(
    tmp_path: Path, start_sandbox: Start
) -> None:
    database = tmp_path / "sandbox.db"
    first, url = start_sandbox(database)
    outcome = invoke(["sandbox", "--db", str(database), "--port", "0"], {})
    assert outcome.exit_code == 2
    [line] = outcome.stderr.strip().splitlines()
    assert f"pid {first.pid}" in line and url in line


def test_reset_without_url_refuses_a_database_in_use(tmp_path: Path, start_sandbox: Start) -> None:
    database = tmp_path / "sandbox.db"
    first, url = start_sandbox(database)
    outcome = invoke(["sandbox", "reset", "--db", str(database), "--yes"], {})
    assert outcome.exit_code == 2
    [line] = outcome.stderr.strip().splitlines()
    assert f"pid {first.pid}" in line and f"--url {url}" in line


def test_a_killed_sandbox_leaves_the_database_free(tmp_path: Path, start_sandbox: Start) -> None:
    database = tmp_path / "sandbox.db"
    first, _ = start_sandbox(database)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    _, url = start_sandbox(database)
    assert requests.get(url + "/sandbox/health", timeout=5).status_code == 200
    assert (
        invoke(["sandbox", "reset", "--db", str(tmp_path / "other.db"), "--yes"], {}).exit_code == 0
    )


def test_env_prints_the_credentials_and_url_of_the_running_sandbox(
    tmp_path: Path, start_sandbox: Start
) -> None:
    database = tmp_path / "sandbox.db"
    token = "f" * 32
    running, url = start_sandbox(database, env={"TRCLI_SANDBOX_AUTH_TOKEN": token})
    outcome = invoke(["sandbox", "env", "--db", str(database)], {})
    assert outcome.exit_code == 0, outcome.stderr
    values = dict(
        line.removeprefix("export ").split("=", 1) for line in outcome.stdout.splitlines()
    )
    assert values["TWILIO_AUTH_TOKEN"] == token
    assert values["TRCLI_API_URL"] == url
    answer = requests.get(
        url + "/v1/Workspaces",
        auth=(values["TWILIO_ACCOUNT_SID"], values["TWILIO_AUTH_TOKEN"]),
        timeout=5,
    )
    assert answer.status_code == 200
    running.terminate()
    _, stderr = running.communicate(timeout=20)
    assert "visible to other users" not in stderr.decode()


def test_an_auth_token_given_on_the_command_line_is_the_databases_from_then_on(
    tmp_path: Path, start_sandbox: Start
) -> None:
    database = tmp_path / "sandbox.db"
    token = "e" * 32
    first, _ = start_sandbox(database, "--auth-token", token)
    first.terminate()
    _, stderr = first.communicate(timeout=20)
    assert "visible to other users in 'ps'" in stderr.decode()  # TRCLI_SANDBOX_AUTH_TOKEN is not
    outcome = invoke(["sandbox", "env", "--db", str(database)], {})
    assert f"export TWILIO_AUTH_TOKEN={token}" in outcome.stdout
