"""The database grows by less than 3,000 bytes for every pending task (issue goal: under 300 MB
for 100,000). Counted in SQLite pages after a checkpoint, not timed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore
from tests.helpers.sandbox_setup import one_queue_workspace

TASKS = 2_000
BYTES_PER_TASK = 3_000


def database_bytes(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def test_a_pending_task_costs_under_3000_bytes_of_database(tmp_path: Path) -> None:
    path = tmp_path / "size.db"
    service = SandboxService(SqliteStore(path), FakeClock())
    try:
        scope, _, workflow = one_queue_workspace(service, "size")
        attributes = json.dumps({"type": "support", "selected_language": "es", "customer": 1})
        before = database_bytes(path)
        for _ in range(TASKS):
            service.create("task", scope, {"workflow_sid": workflow, "attributes": attributes})
        per_task = (database_bytes(path) - before) / TASKS
    finally:
        service.close()
    assert per_task < BYTES_PER_TASK, f"{per_task:.0f} bytes per pending task"
