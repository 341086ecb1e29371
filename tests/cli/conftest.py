"""CLI tests run the real ``trcli`` (CliRunner) against the real sandbox on a loopback port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers.cli import Outcome, Trcli, invoke


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
