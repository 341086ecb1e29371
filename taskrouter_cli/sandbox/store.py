"""SQLite persistence of the sandbox (stdlib ``sqlite3``, WAL).

Records are JSON blobs in table ``records`` keyed by SID, with columns that describe them (kind,
workspace, status, queue, worker) for inspecting a database by hand; they are never queried by
those columns (the service works from memory), so they carry no index. Events live in their own
append-only table ``events`` (queried with SQL, never held in memory); ``meta`` keeps the
credentials. Bodies are deflated with a fixed dictionary (:func:`pack`; plain JSON text from
earlier versions still reads), and an Event's body leaves out what its columns hold
(``events.stored_event``): 100,000 pending tasks take ~270 MB instead of ~760 MB. One
connection, guarded by the service lock (``check_same_thread=False``).
:meth:`SqliteStore.write` commits one transaction before it returns, so a process killed with
SIGKILL loses nothing that was acknowledged (WAL with ``synchronous=NORMAL`` survives a process
crash; only a power loss could drop the last commits).
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskrouter_cli.guards.private_files import ensure_private_file, tighten

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    sid TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    workspace_sid TEXT,
    parent_sid TEXT,
    status TEXT,
    queue_sid TEXT,
    worker_sid TEXT,
    date_created TEXT,
    body TEXT NOT NULL
);
-- Records are read only whole (at start) or by SID, so they have no secondary index: each one
-- cost ~8 WAL pages per operation (98 -> 65 pages per task lifecycle without them).
DROP INDEX IF EXISTS records_kind;
DROP INDEX IF EXISTS records_status;
DROP INDEX IF EXISTS records_queue;
DROP INDEX IF EXISTS records_worker;
CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
-- Routing acknowledged but not yet run (a write's answer comes first, routing follows): kept in
-- the write's own transaction, deleted in the transaction of the routing, resumed at start.
CREATE TABLE IF NOT EXISTS routing_jobs (seq INTEGER PRIMARY KEY, job TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT NOT NULL UNIQUE,
    workspace_sid TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_date_ms INTEGER NOT NULL,
    task_sid TEXT,
    worker_sid TEXT,
    reservation_sid TEXT,
    task_queue_sid TEXT,
    workflow_sid TEXT,
    task_channel TEXT,
    body TEXT NOT NULL
);
-- Events are the bulk of a database (four for every task created), so their indexes are lean:
-- the date alone (a sandbox has few workspaces; the SID in every entry cost ~35 bytes an event)
-- and the SID columns without their NULLs (a lookup by SID implies NOT NULL).
DROP INDEX IF EXISTS events_ws_date;
DROP INDEX IF EXISTS events_task;
DROP INDEX IF EXISTS events_worker;
DROP INDEX IF EXISTS events_reservation;
CREATE INDEX IF NOT EXISTS events_date ON events (event_date_ms);
CREATE INDEX IF NOT EXISTS events_task_sid ON events (task_sid) WHERE task_sid IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_worker_sid ON events (worker_sid) WHERE worker_sid IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_reservation_sid ON events (reservation_sid)
    WHERE reservation_sid IS NOT NULL;
"""


_PACKED_V1 = b"\x01"
"""First byte of a packed body: raw deflate with :data:`_DICTIONARY_V1` (never change either;
a new dictionary gets a new first byte, and :func:`unpack` keeps reading the old ones)."""
_DICTIONARY_V1 = (
    b'"friendly_name":"","date_created":"20","date_updated":"20","+00:00",'
    b'"date_status_changed":"20","reservation_status":"pending","worker_sid":"WK",'
    b'"worker_name":"","worker_activity_sid":"WA","worker_activity_name":"Available",'
    b'"worker_attributes":"{}","activity_sid":"WA","activity_name":"Available","available":true,'
    b'"account_sid":"AC","age":0,"assignment_status":"pending","attributes":"{\\"type\\": '
    b'\\"","addons":"{}","task_queue_entered_date":"20","priority":0,"reason":null,'
    b'"task_queue_sid":"WQ","task_queue_friendly_name":"","task_channel_sid":"TC",'
    b'"task_channel_unique_name":"default","timeout":86400,"workflow_sid":"WW",'
    b'"workflow_friendly_name":"","workspace_sid":"WS","virtual_start_time":"20",'
    b'"ignore_capacity":null,"routing_target":null,"_created_ts":17,"_ttl_deadline":17,'
    b'"_target_deadline":null,"_fixed_queue":null,"_step":[null,0],"_waiting":true,'
    b'"_assignments":0,"_seq":1,"_rev":1}'
    b'{"account_sid":"AC","description":"Task WT created","event_data":{"workspace_sid":null,'
    b'"workspace_name":"","task_sid":null,"task_attributes":"{\\"type\\": \\"",'
    b'"task_age":0,"task_priority":0,"task_assignment_status":"pending","task_channel_sid":"TC",'
    b'"task_channel_unique_name":null,"task_date_created":17,"task_queue_sid":null,'
    b'"task_queue_name":"","workflow_sid":null,"workflow_name":""},"resource_sid":"WT",'
    b'"resource_type":"task"}'
)
_WINDOW_BITS = -12
"""A 4 KB window (raw deflate): bodies are a few KB at most, and zlib's default 32 KB window
with memLevel 8 makes every call allocate and clear ~270 KB (≈130 µs against ≈10 µs)."""


_PACKER_V1 = zlib.compressobj(
    1, zlib.DEFLATED, _WINDOW_BITS, 4, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_V1
)
"""Never used itself: each :func:`pack` works on a copy, which starts with the dictionary
already loaded (a copy costs ~5 µs, a new compressor that loads the dictionary ~8 µs)."""


def pack(text: str) -> bytes:
    """A body as stored: deflated UTF-8 (a BLOB; bodies stored as TEXT still read back)."""
    packer = _PACKER_V1.copy()
    return _PACKED_V1 + packer.compress(text.encode("utf-8")) + packer.flush()


def unpack(body: str | bytes) -> str:
    if isinstance(body, str):
        return body
    if body[:1] != _PACKED_V1:
        raise ValueError(f"unknown body format {body[:1]!r}")
    unpacker = zlib.decompressobj(_WINDOW_BITS, _DICTIONARY_V1)
    return (unpacker.decompress(body[1:]) + unpacker.flush()).decode("utf-8")


@dataclass(frozen=True)
class StoredRecord:
    sid: str
    kind: str
    workspace_sid: str | None
    parent_sid: str | None
    status: str | None
    queue_sid: str | None
    worker_sid: str | None
    date_created: str | None
    body: str

    def columns(self) -> tuple[str | None, ...]:
        """Every column but the body, in table order."""
        return (
            self.sid,
            self.kind,
            self.workspace_sid,
            self.parent_sid,
            self.status,
            self.queue_sid,
            self.worker_sid,
            self.date_created,
        )


@dataclass(frozen=True)
class StoredEvent:
    sid: str
    workspace_sid: str
    event_type: str
    event_date_ms: int
    task_sid: str | None
    worker_sid: str | None
    reservation_sid: str | None
    task_queue_sid: str | None
    workflow_sid: str | None
    task_channel: str | None
    body: str

    def columns(self) -> tuple[str | int | None, ...]:
        """Every column but ``seq`` and the body, in table order."""
        return (
            self.sid,
            self.workspace_sid,
            self.event_type,
            self.event_date_ms,
            self.task_sid,
            self.worker_sid,
            self.reservation_sid,
            self.task_queue_sid,
            self.workflow_sid,
            self.task_channel,
        )


@dataclass(frozen=True)
class EventQuery:
    """Filters of the Events list; every field optional (None = no constraint)."""

    workspace_sid: str
    event_type: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    task_sid: str | None = None
    worker_sid: str | None = None
    reservation_sid: str | None = None
    task_queue_sid: str | None = None
    workflow_sid: str | None = None
    task_channel: Sequence[str] | None = None
    sid: str | None = None


class SqliteStore:
    """``SqliteStore(path)`` or ``SqliteStore(":memory:")``."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            # The database holds the auth token and API secret: owner-only. SQLite gives its
            # -wal and -shm files the database file's mode; older ones are tightened too.
            ensure_private_file(Path(self.path))
            for suffix in ("-wal", "-shm"):
                tighten(Path(self.path + suffix))
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        # 16 MB of page cache (SQLite's default is 2 MB). Measured with 100,000 pending tasks in
        # a SQLite file: creates cost the same with 16 MB as with 64 MB (~480-800 us each as the
        # file grows), and the process holds ~50 MB less (283 vs 336 MB resident).
        self._conn.execute("PRAGMA cache_size=-16384")
        self._conn.executescript(_SCHEMA)
        self._closed = False
        self._group_thread: int | None = None
        self._on_pending: Callable[[], None] | None = None
        self._deliveries: list[tuple[int, str]] = []
        self._keep_deliveries = 0

    # meta ------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def setdefault_meta(self, key: str, value: str) -> str:
        """The stored value of ``key``, storing ``value`` first if there is none. Safe when two
        processes open a new database at once: both end up with the same value."""
        self._conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
        stored = self.get_meta(key)
        assert stored is not None
        return stored

    # records ---------------------------------------------------------------------------------
    def load_records(self) -> Iterator[tuple[str, str]]:
        """Every record as ``(kind, body)``, in insertion order, read as they are consumed (so a
        large database is never held twice in memory); consume it before writing."""
        for kind, body in self._conn.execute("SELECT kind, body FROM records ORDER BY rowid"):
            yield str(kind), unpack(body)

    def write(
        self,
        upserts: Iterable[StoredRecord],
        deletes: Iterable[str],
        events: Iterable[StoredEvent],
        jobs_added: Iterable[tuple[int, str]] = (),
        jobs_done: Iterable[int] = (),
    ) -> None:
        """Apply the changes of one operation atomically, and commit them before returning --
        or, for a write on the grouping thread (:meth:`group_commits`), with the group."""
        changes = (
            (_INSERT_JOB, list(jobs_added)),
            (_DELETE_JOB, [(seq,) for seq in jobs_done]),
            (_UPSERT_RECORD, [(*r.columns(), pack(r.body)) for r in upserts]),
            (_DELETE_RECORD, [(sid,) for sid in deletes]),
            (_INSERT_EVENT, [(*e.columns(), pack(e.body)) for e in events]),
        )
        conn = self._conn
        with self._transaction():
            for sql, rows in changes:
                if rows:  # an empty executemany still costs a statement step (~5 a write)
                    conn.executemany(sql, rows)

    def load_jobs(self) -> list[tuple[int, str]]:
        """Routing jobs not yet run, oldest first, as ``(seq, job)``."""
        rows = self._conn.execute("SELECT seq, job FROM routing_jobs ORDER BY seq").fetchall()
        return [(int(seq), str(job)) for seq, job in rows]

    def delete_workspace_events(self, workspace_sid: str) -> None:
        self._conn.execute("DELETE FROM events WHERE workspace_sid = ?", (workspace_sid,))

    # events ----------------------------------------------------------------------------------
    def query_events(self, query: EventQuery, offset: int, limit: int) -> list[StoredEvent]:
        """Events matching ``query``, oldest first, ``limit`` from ``offset``."""
        clauses = ["workspace_sid = ?"]
        args: list[object] = [query.workspace_sid]
        for column, value in (
            ("event_type", query.event_type),
            ("task_sid", query.task_sid),
            ("worker_sid", query.worker_sid),
            ("reservation_sid", query.reservation_sid),
            ("task_queue_sid", query.task_queue_sid),
            ("workflow_sid", query.workflow_sid),
            ("sid", query.sid),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if query.task_channel is not None:
            marks = ", ".join("?" for _ in query.task_channel) or "NULL"
            clauses.append(f"task_channel IN ({marks})")
            args.extend(query.task_channel)
        if query.start_ms is not None:
            clauses.append("event_date_ms >= ?")
            args.append(query.start_ms)
        if query.end_ms is not None:
            clauses.append("event_date_ms <= ?")
            args.append(query.end_ms)
        where = " AND ".join(clauses)
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} ORDER BY seq LIMIT ? OFFSET ?"
        args.extend([limit, offset])
        return [_stored_event(row) for row in self._conn.execute(sql, args).fetchall()]

    def fetch_event(self, workspace_sid: str, sid: str) -> StoredEvent | None:
        row = self._conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE workspace_sid = ? AND sid = ?",
            (workspace_sid, sid),
        ).fetchone()
        return None if row is None else _stored_event(row)

    # callback deliveries (the inspector) ---------------------------------------------------------
    def add_delivery(self, delivery_id: int, body: str, keep: int) -> None:
        """Store one delivery record and forget those more than ``keep`` deliveries old. On the
        grouping thread the record waits for the group's commit (it is written with it, in one
        statement with the other records of that loop turn); elsewhere it is written at once."""
        self._deliveries.append((delivery_id, body))
        self._keep_deliveries = keep
        if self._group_thread == threading.get_ident():
            if self._on_pending is not None:
                self._on_pending()
        else:
            with self._transaction():
                self._write_deliveries()

    def _write_deliveries(self) -> None:
        rows, self._deliveries = self._deliveries, []
        if not rows:
            return
        self._conn.executemany("INSERT OR REPLACE INTO deliveries (id, body) VALUES (?, ?)", rows)
        if any(delivery_id % 64 == 0 for delivery_id, _ in rows):
            newest = max(delivery_id for delivery_id, _ in rows)
            self._conn.execute(
                "DELETE FROM deliveries WHERE id <= ?", (newest - self._keep_deliveries,)
            )

    def load_deliveries(self, limit: int) -> list[str]:
        """The newest ``limit`` delivery records, oldest first."""
        rows = self._conn.execute(
            "SELECT body FROM deliveries ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [str(row[0]) for row in reversed(rows)]

    def count_events(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    # maintenance -----------------------------------------------------------------------------
    def clear(self) -> None:
        """Delete every record and event; keep ``meta`` (the credentials)."""
        self._deliveries = []
        with self._transaction(now=True):
            self._conn.execute("DELETE FROM records")
            self._conn.execute("DELETE FROM events")
            self._conn.execute("DELETE FROM deliveries")
            self._conn.execute("DELETE FROM routing_jobs")

    def close(self) -> None:
        """Commit what a group commit holds, and close (closing twice is harmless)."""
        if not self._closed:
            self._closed = True
            self.commit_group()
            self._conn.close()

    # group commit ----------------------------------------------------------------------------
    def group_commits(self, thread: int | None, on_pending: Callable[[], None] | None) -> None:
        """Writes made on ``thread`` (the server's event loop) stay uncommitted until
        :meth:`commit_group`, which commits all of them in one transaction: SQLite writes each
        changed page once per commit, and the writes of one loop turn share most pages.
        ``on_pending`` is called after each such write (it schedules the commit). Writes from
        any other thread commit at once (and with them the group so far). None turns it off."""
        self.commit_group()
        self._group_thread = thread
        self._on_pending = on_pending

    @property
    def uncommitted(self) -> bool:
        return self._conn.in_transaction

    def commit_group(self) -> None:
        if self._closed:
            return
        if self._deliveries:
            with self._transaction(now=True):
                self._write_deliveries()
        elif self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def rollback_group(self) -> None:
        self._deliveries = []
        if not self._closed and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    @contextmanager
    def _transaction(self, *, now: bool = False) -> Iterator[None]:
        """One atomic change (a savepoint within the group's transaction)."""
        conn = self._conn
        grouped = not now and self._group_thread == threading.get_ident()
        if not conn.in_transaction:
            conn.execute("BEGIN")
        conn.execute("SAVEPOINT change")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO change")
            conn.execute("RELEASE change")
            if not grouped:
                conn.execute("COMMIT")  # what the group wrote before, if anything
            raise
        conn.execute("RELEASE change")
        if not grouped:
            conn.execute("COMMIT")
        elif self._on_pending is not None:
            self._on_pending()


_INSERT_JOB = "INSERT INTO routing_jobs (seq, job) VALUES (?, ?)"
_DELETE_JOB = "DELETE FROM routing_jobs WHERE seq = ?"
_UPSERT_RECORD = (
    "INSERT INTO records (sid, kind, workspace_sid, parent_sid, status, queue_sid, "
    "worker_sid, date_created, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(sid) DO UPDATE SET status = excluded.status, "
    "queue_sid = excluded.queue_sid, worker_sid = excluded.worker_sid, "
    "body = excluded.body"
)
_DELETE_RECORD = "DELETE FROM records WHERE sid = ?"
_INSERT_EVENT = (
    "INSERT INTO events (sid, workspace_sid, event_type, event_date_ms, task_sid, "
    "worker_sid, reservation_sid, task_queue_sid, workflow_sid, task_channel, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_EVENT_COLUMNS = (
    "sid, workspace_sid, event_type, event_date_ms, task_sid, worker_sid, reservation_sid, "
    "task_queue_sid, workflow_sid, task_channel, body"
)


def _stored_event(row: tuple[Any, ...]) -> StoredEvent:
    sid, workspace, event_type, date_ms, task, worker, reservation, queue, flow, channel, body = row
    return StoredEvent(
        sid,
        workspace,
        event_type,
        date_ms,
        task,
        worker,
        reservation,
        queue,
        flow,
        channel,
        unpack(body),
    )
