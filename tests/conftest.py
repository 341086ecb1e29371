"""Shared test set-up: every test runs with an empty TRCLI_HOME and no ambient credentials.

Every module in tests/fixtures/ is loaded as a pytest plugin, so fixtures defined there (for
example the `sandbox` fixture: a real sandbox on a loopback port) are available to all tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# On CI, property-based tests replay a fixed sequence of examples, so a run's outcome does not
# depend on luck; locally every run explores new examples.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)

_AMBIENT_VARIABLES = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_KEY",
    "TWILIO_API_SECRET",
    "TWILIO_REGION",
    "TWILIO_EDGE",
    "TRCLI_WORKSPACE",
    "TRCLI_API_URL",
    "TRCLI_PROFILE",
    "TRCLI_DEBUG",
    "NGROK_AUTHTOKEN",
    "NO_COLOR",
)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point TRCLI_HOME at a fresh folder and clear every variable trcli reads."""
    home = tmp_path / "trcli-home"
    home.mkdir()
    for name in _AMBIENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRCLI_HOME", str(home))
    yield home
