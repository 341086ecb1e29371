"""Every destructive command asks on a terminal, skips the question with --yes, and refuses
without a terminal and without --yes (exit 2, nothing changed)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from typing import Any

import pytest

from tests.helpers.cli import Trcli

WORKFLOW = "Incoming Customer Care Requests"


def destructive_commands(sandbox: Any, tmp_path: Any) -> dict[str, list[str]]:
    return {
        "worker delete": ["worker", "delete", "Bob"],
        "activity delete": ["activity", "delete", "Busy"],
        "queue delete": ["queue", "delete", "Customer Care Requests - English"],
        "workflow delete": ["workflow", "delete", WORKFLOW],
        "workspace delete": ["workspace", "delete", "TaskRouter Quickstart"],
        "setup --teardown": ["setup", "--teardown"],
        "sandbox reset --url": ["sandbox", "reset", "--url", sandbox.base_url],
        "sandbox reset --db": ["sandbox", "reset", "--db", str(tmp_path / "other.db")],
    }


NAMES = [
    "worker delete",
    "activity delete",
    "queue delete",
    "workflow delete",
    "workspace delete",
    "setup --teardown",
    "sandbox reset --url",
    "sandbox reset --db",
]


def resource_count(trcli: Trcli) -> int:
    total = 0
    for group in ("worker", "activity", "queue", "workflow", "workspace"):
        total += len(trcli(group, "list", "--json").ok().json())
    return total


@pytest.mark.parametrize("name", NAMES)
def test_without_a_terminal_and_without_yes_it_refuses_with_exit_2(
    name: str, trcli: Trcli, sandbox: Any, tmp_path: Any
) -> None:
    before = resource_count(trcli)
    outcome = trcli(*destructive_commands(sandbox, tmp_path)[name])
    assert outcome.exit_code == 2, outcome.stderr
    assert outcome.stderr.startswith("Error: Not confirmed: delete ")
    assert "pass --yes" in outcome.stderr and outcome.stderr.count("\n") == 1
    assert resource_count(trcli) == before


def test_task_delete_refuses_then_deletes_with_yes(trcli: Trcli) -> None:
    sid = trcli("task", "create", "--attributes", '{"selected_language": "es"}', "--json")
    task_sid = sid.ok().json()["sid"]
    assert trcli("task", "delete", task_sid).exit_code == 2
    trcli("task", "show", task_sid).ok()
    trcli("task", "delete", task_sid, "--yes").ok()
    assert trcli("task", "show", task_sid).exit_code == 4


@pytest.mark.parametrize("name", ["worker delete", "setup --teardown", "sandbox reset --url"])
def test_yes_skips_the_question(name: str, trcli: Trcli, sandbox: Any, tmp_path: Any) -> None:
    trcli(*destructive_commands(sandbox, tmp_path)[name], "--yes").ok()


def on_a_terminal(args: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run the real trcli with its stdin on a pseudo-terminal, type ``answer``."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "taskrouter_cli", *args],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    os.close(terminal)
    try:
        os.write(controller, answer.encode())
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        os.close(controller)
    return process.returncode, stderr


def test_on_a_terminal_it_asks_and_no_changes_nothing(trcli: Trcli, sandbox: Any) -> None:
    code, stderr = on_a_terminal(["worker", "delete", "Bob"], sandbox.env, "n\n")
    assert "Delete Worker Bob (WK" in stderr and "[y/N]" in stderr
    assert code == 2 and "Nothing changed: not confirmed" in stderr
    trcli("worker", "show", "Bob").ok()


def test_on_a_terminal_yes_goes_ahead(trcli: Trcli, sandbox: Any) -> None:
    code, stderr = on_a_terminal(["setup", "--teardown"], sandbox.env, "y\n")
    assert code == 0, stderr
    assert "Delete workspace 'TaskRouter Quickstart' and everything in it" in stderr
    assert trcli("workspace", "list", "--json").ok().json() == []


def test_end_of_input_at_the_question_is_an_interruption_130(trcli: Trcli, sandbox: Any) -> None:
    code, stderr = on_a_terminal(["worker", "delete", "Bob"], sandbox.env, "\x04")
    assert code == 130 and "Interrupted." in stderr and "Aborted" not in stderr
    trcli("worker", "show", "Bob").ok()
