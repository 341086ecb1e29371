"""Shell completion: the scripts, and resource names from the configured TaskRouter — cached,
and never holding the shell for more than 300 ms."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

import pytest
from click.shell_completion import ShellComplete

from taskrouter_cli.cli import cli
from tests.helpers.cli import invoke
from tests.helpers.stopwatch import Stopwatch


def complete(args: list[str], incomplete: str = "") -> list[str]:
    """What a Tab after ``trcli ARGS INCOMPLETE`` offers (click's own completion machinery)."""
    completer = ShellComplete(cli, {}, "trcli", "_TRCLI_COMPLETE")
    return [item.value for item in completer.get_completions(args, incomplete)]


@pytest.fixture
def configured(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    return sandbox


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script_for_each_shell(shell: str) -> None:
    outcome = invoke(["completion", shell], {}).ok()
    assert "_TRCLI_COMPLETE" in outcome.stdout
    assert f"{shell}_complete" in outcome.stdout


def test_an_unknown_shell_is_a_usage_error() -> None:
    outcome = invoke(["completion", "tcsh"], {})
    assert outcome.exit_code == 2 and "'tcsh' is not one of 'bash', 'zsh', 'fish'" in outcome.stderr


def test_commands_and_options_complete() -> None:
    assert {"task", "worker", "completion"} <= set(complete([], ""))
    assert "--attributes" in complete(["task", "create"], "--")


@pytest.mark.parametrize(
    ("args", "incomplete", "expected"),
    [
        (["worker", "show"], "", ["Alice", "Bob"]),
        (["worker", "set-activity", "Alice"], "", ["Busy", "Idle", "Offline", "Reserved"]),
        (["worker", "list", "--activity"], "i", ["Idle"]),
        (["task", "create", "--workflow"], "", ["Incoming Customer Care Requests"]),
        (
            ["task", "list", "--queue"],
            "customer care requests - s",
            ["Customer Care Requests - Spanish"],
        ),
        (["queue", "delete"], "Customer Care Requests - E", ["Customer Care Requests - English"]),
        (["workspace", "use"], "", ["TaskRouter Quickstart"]),
        (["serve", "--point"], "inc", ["Incoming Customer Care Requests"]),
    ],
)
def test_resource_names_complete_from_the_configured_taskrouter(
    args: list[str], incomplete: str, expected: list[str], configured: Any
) -> None:
    assert complete(args, incomplete) == expected


def test_names_are_cached_for_the_next_tab(configured: Any, sdk_client: Any) -> None:
    assert complete(["worker", "show"]) == ["Alice", "Bob"]
    workspace = sdk_client.taskrouter.v1.workspaces(configured.workspace_sid)
    workspace.workers.create(friendly_name="Carol")
    assert complete(["worker", "show"]) == ["Alice", "Bob"]  # from the cache, no request


def test_a_taskrouter_that_does_not_answer_costs_under_300_ms(
    configured: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("TRCLI_API_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        with Stopwatch() as watch:  # less the time a loaded machine kept this thread waiting
            assert complete(["worker", "show"]) == []
        assert watch.seconds < 0.3, watch


def test_without_credentials_nothing_is_offered_and_nothing_breaks() -> None:
    assert complete(["worker", "show"]) == []


def test_a_tab_in_a_real_shell_session_lists_the_workers(configured: Any) -> None:
    env = {
        **os.environ,
        "_TRCLI_COMPLETE": "bash_complete",
        "COMP_WORDS": "trcli worker show ",
        "COMP_CWORD": "3",
    }
    done = subprocess.run(
        [sys.executable, "-m", "taskrouter_cli"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["plain,Alice", "plain,Bob"]
