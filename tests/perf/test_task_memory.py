"""A pending task costs the sandbox under 700 bytes of Python memory (issue 13: 100,000 pending
tasks in < 150 MB). Counted with tracemalloc on tasks created through the service once the
bounded caches are full (whole records of the tasks used last, parsed attributes; both made
small here so the test is short), not timed. As dicts, tasks cost ~1,900 bytes each."""

from __future__ import annotations

import gc
import json
import tracemalloc
from pathlib import Path

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.connection_settings import MEMORY_PAGE_SIZE
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore
from tests.helpers.sandbox_setup import one_queue_workspace

CACHED = 100
COUNTED = 1_000
BYTES_PER_TASK = 700


def test_a_pending_task_costs_under_700_bytes_of_memory(tmp_path: Path) -> None:
    tracemalloc.start()  # from the start: memory freed later must have been counted
    service = SandboxService(SqliteStore(tmp_path / "memory.db"), FakeClock())
    try:
        service.state.tasks.hot_size = CACHED
        service.core.attribute_cache_size = CACHED
        scope, _, workflow = one_queue_workspace(service, "memory")
        service.create("worker", scope, {"friendly_name": "offline"})
        params = {
            "workflow_sid": workflow,
            "attributes": json.dumps({"type": "support", "selected_language": "es"}),
        }

        def traced_after(count: int) -> int:
            for _ in range(count):
                service.create("task", scope, params)
            gc.collect()
            return tracemalloc.get_traced_memory()[0]

        before = traced_after(2 * CACHED)  # the bounded caches are full
        per_task = (traced_after(COUNTED) - before) / COUNTED
        assert len(service.state.tasks) == 2 * CACHED + COUNTED
    finally:
        tracemalloc.stop()
        service.close()
    assert per_task < BYTES_PER_TASK, f"{per_task:.0f} bytes per pending task"


def test_an_in_memory_database_uses_large_pages() -> None:
    """Each page of an in-memory database is a heap allocation: 4 KB pages between the objects
    Python frees left holes no page fits (~1 KB a pending task); larger pages leave none."""
    store = SqliteStore(":memory:")
    try:
        assert store._read("PRAGMA page_size") == [(MEMORY_PAGE_SIZE,)]
        assert MEMORY_PAGE_SIZE >= 16384
    finally:
        store.close()


def test_a_list_filtered_on_attributes_holds_one_task_body_at_a_time(tmp_path: Path) -> None:
    """Filtering on a field outside the tasks' summaries reads every body from SQLite; the
    bodies are not all held while the list is built (1,000 of them are ~1.2 MB)."""
    service = SandboxService(SqliteStore(tmp_path / "list.db"), FakeClock())
    try:
        service.state.tasks.hot_size = 0
        scope = one_queue_workspace(service, "list").scope
        for index in range(COUNTED):
            service.create("task", scope, {"attributes": json.dumps({"n": index % 10})})
        gc.collect()
        tracemalloc.start()
        try:
            page = service.list("task", scope, {"evaluate_task_attributes": "n == 3"}, 50)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(page.records) == 50
    finally:
        service.close()
    assert peak < 400 * COUNTED, f"{peak:,} bytes at the peak of listing {COUNTED:,} tasks"
