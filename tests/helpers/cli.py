"""Run the real ``trcli`` in-process (CliRunner) and look at what it printed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


def wait_status(trcli: Trcli, task_sid: str, wanted: str, timeout: float = 10.0) -> None:
    """Wait until routing has settled (routing and its callbacks run after the API answers),
    then check that the Task reached ``wanted``."""
    trcli("sandbox", "settle", "--timeout", f"{timeout:g}").ok()
    status = trcli("task", "show", task_sid, "--json").ok().json()["assignment_status"]
    assert status == wanted, f"task {task_sid} is {status}, expected {wanted}"
