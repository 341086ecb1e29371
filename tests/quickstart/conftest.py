"""Quickstart tests run the real ``trcli`` (CliRunner) against the real sandbox on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.cli import Outcome, Trcli, invoke


@pytest.fixture
def trcli(sandbox: Any) -> Trcli:
    """``trcli("setup", "--json")`` against the sandbox fixture (quickstart seeded)."""

    def run(*args: str, env: dict[str, str] | None = None) -> Outcome:
        return invoke(list(args), {**sandbox.env, **(env or {})})

    return run
