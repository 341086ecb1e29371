"""CLI tests run the real ``trcli`` (CliRunner) against the real sandbox on a loopback port."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner

from taskrouter_cli.cli import cli


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def ok(self) -> Outcome:
        details = f"exit {self.exit_code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        assert self.exit_code == 0, details
        return self


Trcli = Callable[..., Outcome]


def invoke(args: list[str], env: dict[str, str], stdin: str | None = None) -> Outcome:
    """Run trcli in-process; tables are rendered 200 columns wide so cells do not wrap."""
    env = {"COLUMNS": "200", **env}
    result = CliRunner().invoke(cli, args, env=env, input=stdin, catch_exceptions=False)
    return Outcome(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def trcli(sandbox: Any) -> Trcli:
    """``trcli("task", "list", "--json")`` against the sandbox fixture (quickstart seeded)."""

    def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Outcome:
        return invoke(list(args), {**sandbox.env, **(env or {})}, stdin)

    return run


@pytest.fixture
def set_activity(trcli: Trcli) -> Callable[[str, str], None]:
    def move(worker: str, activity: str) -> None:
        trcli("worker", "set-activity", worker, activity).ok()

    return move


@pytest.fixture
def spanish_task(trcli: Trcli) -> Callable[[], str]:
    """Create a task for the Spanish queue (Alice) and return its SID."""

    def create() -> str:
        outcome = trcli(
            "task", "create", "--attributes", '{"selected_language": "es"}', "--json"
        ).ok()
        return str(outcome.json()["sid"])

    return create
