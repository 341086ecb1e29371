"""CLI tests run the real ``trcli`` (CliRunner) against the real sandbox on a loopback port."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers.cli import Trcli


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
