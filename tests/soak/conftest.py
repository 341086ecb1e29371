"""The full soak test (marker ``soak``) runs only when the marker is selected: ``pytest -m soak``.

A skip here, not ``addopts = -m "not soak"`` in pyproject.toml, so ``pytest -m soak`` needs no
override and the short form (unmarked) stays in the default suite.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "soak" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="full soak test: run it with pytest -m soak")
    for item in items:
        if item.get_closest_marker("soak") is not None:
            item.add_marker(skip)
