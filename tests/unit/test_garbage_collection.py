"""The collector's settings for a process that only serves (trcli sandbox, trcli serve)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from taskrouter_cli.garbage_collection import YOUNG_THRESHOLD, tune_for_serving


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_serving_freezes_what_start_up_built_and_keeps_older_generation_ratios() -> None:
    _young, middle, old = gc.get_threshold()
    gc.unfreeze()
    tune_for_serving()
    assert gc.get_freeze_count() > 1000  # the modules imported so far, at least
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)


@pytest.mark.usefixtures("restored_collector")
def test_garbage_made_after_tuning_is_still_collected() -> None:
    tune_for_serving()

    class Node:
        other: object = None

    first, second = Node(), Node()
    first.other, second.other = second, first  # a cycle: only the collector frees it
    alive = len(gc.get_objects())
    del first, second
    assert gc.collect() >= 2
    assert len(gc.get_objects()) < alive
