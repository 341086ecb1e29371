"""SQLite persistence of the sandbox (stdlib ``sqlite3``, WAL).

Records are JSON blobs in table ``records`` keyed by SID, with columns that describe them (kind,
workspace, status, queue, worker) for inspecting a database by hand; they are never queried by
those columns (the service works from memory), so they carry no index. Events live in their own
append-only table ``events`` (queried with SQL, never held in memory); ``meta`` keeps the
credentials. Bodies are deflated with a fixed dictionary (:func:`pack`; plain JSON text from
earlier versions still reads), and an Event's body leaves out what its columns hold
(``events.stored_event``): 100,000 pending tasks take ~270 MB instead of ~760 MB. One
connection (``check_same_thread=False``), used under the service lock and, by the writer thread
of an in-memory group commit, under the store's own lock; a file's group commits are written by
another connection, in the store's writer process (``writer_process.py``).
:meth:`SqliteStore.write` commits before it returns, or -- on the server's loop -- with its
group, which the answer waits for, so a process killed with SIGKILL loses nothing that was
acknowledged (WAL with ``synchronous=NORMAL`` survives a process crash; only a power loss could
drop the last commits).
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, cast

from taskrouter_cli.guards.private_files import ensure_private_file, tighten

from .body_codec import pack_column, unpack
from .connection_settings import configure
from .store_writer import BatchWriter
from .writer_process import Statement, WriterProcess, WriterProcessEnded, commit_batches

log = logging.getLogger(__name__)

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


new_row = tuple.__new__
"""``new_row(StoredRecord, values)``: a row made from the tuple of its values without
NamedTuple's ``__new__`` (a Python function, ~0.3 µs a row; a lifecycle makes ~24 rows)."""


class StoredRecord(NamedTuple):
    """A record's row (a tuple: built and written with no per-field work)."""

    sid: str
    kind: str
    workspace_sid: str | None
    parent_sid: str | None
    status: str | None
    queue_sid: str | None
    worker_sid: str | None
    date_created: str | None
    body: str | bytes  # JSON: bytes when built, str when read back

    def columns(self) -> tuple[str | None, ...]:
        """Every column but the body, in table order."""
        return cast("tuple[str | None, ...]", self[:-1])


class StoredEvent(NamedTuple):
    """An Event's row (a tuple, as :class:`StoredRecord`)."""

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
    body: str | bytes  # JSON: bytes when built, str when read back

    def columns(self) -> tuple[str | int | None, ...]:
        """Every column but ``seq`` and the body, in table order."""
        return cast("tuple[str | int | None, ...]", self[:-1])


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
        configure(self._conn, in_memory=self.path == ":memory:")
        self._conn.executescript(_SCHEMA)
        self._closed = False
        self._group_thread: int | None = None
        self._on_pending: Callable[[], None] | None = None
        self._lock = threading.Lock()  # the connection, between the loop and a writer thread
        self._batch: list[_Statement] = []
        self._in_flight: list[Future[None]] = []
        self._writer: BatchWriter[_Statement] | None = None
        self._remote: WriterProcess | None = None  # the writer process (a file; else a thread)
        self._processes_write = sys.platform != "win32"  # False once one could not run here
        self._transactions = 0
        self._failed: BaseException | None = None
        self._rolled_back: set[Future[None]] = set()

    @property
    def transactions(self) -> int:
        """Transactions committed so far (the group commit merges many writes into one)."""
        remote = self._remote
        return self._transactions + (remote.transactions if remote is not None else 0)

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
        self.drain()  # nothing is written meanwhile: writes come under the service's lock
        for kind, body in self._conn.execute("SELECT kind, body FROM records ORDER BY rowid"):
            yield str(kind), unpack(body)

    def read_record(self, sid: str) -> str | None:
        """One record's body by SID, after every write made so far."""
        rows = self._read("SELECT body FROM records WHERE sid = ?", (sid,))
        return unpack(rows[0][0]) if rows else None

    def scan_records(self, kind: str) -> Iterator[tuple[str, str]]:
        """Every record of ``kind`` as ``(sid, body)`` in insertion order, read as they are
        consumed, after every write made so far; consume it before writing."""
        self.drain()
        rows = self._conn.execute(
            "SELECT sid, body FROM records WHERE kind = ? ORDER BY rowid", (kind,)
        )
        for sid, body in rows:
            yield str(sid), unpack(body)

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
        changes: list[_Statement] = []  # only statements with rows: an empty executemany
        # still costs a statement step (~5 a write)
        added: list[tuple[Any, ...]] = list(jobs_added)
        if added:
            changes.append(_Statement(_INSERT_JOB, added))
        done: list[tuple[Any, ...]] = [(seq,) for seq in jobs_done]
        if done:
            changes.append(_Statement(_DELETE_JOB, done))
        deflated: list[tuple[Any, ...]] = list(upserts)  # rows as they are: tuples
        plain = [row for row in deflated if row[1] in _PLAIN_KINDS]
        if plain:
            deflated = [row for row in deflated if row[1] not in _PLAIN_KINDS]
            changes.append(_Statement(_UPSERT_RECORD, plain))
        if deflated:
            changes.append(_Statement(_UPSERT_RECORD, deflated, 8))
        deleted: list[tuple[Any, ...]] = [(sid,) for sid in deletes]
        if deleted:
            changes.append(_Statement(_DELETE_RECORD, deleted))
        rows: list[tuple[Any, ...]] = list(events)
        if rows:
            changes.append(_Statement(_INSERT_EVENT, rows, 10))
        self._apply(changes)

    def _apply(self, changes: list[_Statement]) -> None:
        """Statements whose rows are ready but for the bodies still to deflate: appended to the
        group's batch on the grouping thread, else written and committed now (after the group,
        which keeps the order of every change)."""
        if not changes:
            return
        if self._closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        if self._group_thread == threading.get_ident():
            self._batch.extend(changes)
            if self._on_pending is not None:
                self._on_pending()
            return
        self.drain()
        self._write_batch(changes)

    def load_jobs(self) -> list[tuple[int, str]]:
        """Routing jobs not yet run, oldest first, as ``(seq, job)``."""
        rows = self._read("SELECT seq, job FROM routing_jobs ORDER BY seq")
        return [(int(seq), str(job)) for seq, job in rows]

    def delete_workspace_events(self, workspace_sid: str) -> None:
        """Forget the workspace's Events (in order with the other writes: with the group)."""
        self._apply([_Statement(_DELETE_WORKSPACE_EVENTS, [(workspace_sid,)])])

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
        return [_stored_event(row) for row in self._read(sql, args)]

    def fetch_event(self, workspace_sid: str, sid: str) -> StoredEvent | None:
        rows = self._read(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE workspace_sid = ? AND sid = ?",
            (workspace_sid, sid),
        )
        return _stored_event(rows[0]) if rows else None

    # callback deliveries (the inspector) ---------------------------------------------------------
    def add_delivery(self, delivery_id: int, body: str, keep: int) -> None:
        """Store one delivery record and forget those more than ``keep`` deliveries old. On the
        grouping thread the record waits for the group's commit (it is written with it, in one
        statement with the other records of that loop turn); elsewhere it is written at once."""
        changes = [_Statement(_INSERT_DELIVERY, [(delivery_id, body)])]
        if delivery_id % 64 == 0:
            changes.append(_Statement(_TRIM_DELIVERIES, [(delivery_id - keep,)]))
        self._apply(changes)

    def load_deliveries(self, limit: int) -> list[str]:
        """The newest ``limit`` delivery records, oldest first."""
        rows = self._read("SELECT body FROM deliveries ORDER BY id DESC LIMIT ?", (limit,))
        return [str(row[0]) for row in reversed(rows)]

    def count_events(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM events")[0][0])

    # maintenance -----------------------------------------------------------------------------
    def clear(self) -> None:
        """Delete every record and event; keep ``meta`` (the credentials)."""
        self._apply(
            [
                _Statement(sql, [()])
                for sql in (
                    "DELETE FROM records",
                    "DELETE FROM events",
                    "DELETE FROM deliveries",
                    "DELETE FROM routing_jobs",
                )
            ]
        )

    def close(self) -> None:
        """Commit what a group commit holds, and close (closing twice is harmless)."""
        if not self._closed:
            try:
                self.drain()
            finally:
                self._closed = True
                self._stop_writer()
                self._conn.close()

    # group commit ----------------------------------------------------------------------------
    def group_commits(self, thread: int | None, on_pending: Callable[[], None] | None) -> None:
        """Writes made on ``thread`` (the server's event loop) are collected until
        :meth:`commit_group`, which hands them to a writer that deflates their bodies and
        commits all of them in one transaction (SQLite writes each changed page once per
        commit), beside the loop on a second core: for a file, the writer process
        (``writer_process.py``: the loop reads its answers when :meth:`answers_source` is readable,
        calling :meth:`collect_answers`); in memory, a writer thread (only this connection sees
        the database). ``on_pending`` is called after each such write (it schedules the
        commit). Writes from any other thread commit at once (after the group so far). None
        turns it off."""
        self.drain()
        self._group_thread = thread
        self._on_pending = on_pending
        if thread is None:
            self._stop_writer()
        elif self._writer is None and self._remote is None:
            self._start_writer()

    def _start_writer(self) -> None:
        """The group commits' writer: a process for a file, else (in memory, or where one
        cannot run) a thread."""
        self._remote = self._start_writer_process()
        if self._remote is None:
            self._writer = BatchWriter(self._write_in_background, "sandbox-store-writer")

    def _start_writer_process(self) -> WriterProcess | None:
        """A writer process for a file (None: in memory, or it cannot run here)."""
        if self.path == ":memory:" or not self._processes_write:
            return None
        try:
            return WriterProcess(self.path)
        except Exception as exc:  # noqa: BLE001 -- no interpreter to start, no pipes: a thread
            self._writer_process_failed(f"could not start: {exc}")
            return None

    def _writer_process_failed(self, why: str) -> None:
        log.warning("the store's writer process %s; writing from a thread instead", why)
        self._processes_write = False

    def answers_source(self) -> tuple[int, int] | None:
        """(which writer process, the descriptor readable when it has answered), or None when
        there is no writer process running."""
        remote = self._remote
        if remote is None or remote.ended is not None:
            return None
        return remote.pid, remote.answers_fd

    def collect_answers(self) -> None:
        """Settle the futures of the group commits the writer process has answered."""
        if self._remote is not None:
            self._remote.collect()

    def commit_group(self) -> Future[None] | None:
        """Hand the group's writes to the writer; the future resolves once they are committed
        (None when there was nothing to write, or it was written here: no writer)."""
        if self._closed:
            return None
        batch, self._batch = self._batch, []
        if not batch:
            return None
        if self._remote is not None:
            future = self._remote.send(_coalesced(batch, packed=False))
        elif self._writer is not None:
            future = self._writer.submit(batch)
        else:
            self._write_batch(batch)
            return None
        self._in_flight = [done for done in self._in_flight if not done.done()]
        self._in_flight.append(future)
        return future

    def drain(self) -> None:
        """Wait for the writer thread, then write what the group holds: afterwards the database
        holds every write made so far. Raises the writer's error, if it had one."""
        if self._closed:
            return
        in_flight, self._in_flight = self._in_flight, []
        for future in in_flight:
            self._wait(future)
        batch, self._batch = self._batch, []
        if batch:
            self._write_batch(batch)

    def rollback_group(self) -> None:
        """After a failed group commit: forget what the group holds and wait for the writes
        queued behind the failed one (they fail as well: each built on the one before)."""
        self._batch = []
        in_flight, self._in_flight = self._in_flight, []
        for future in in_flight:
            try:
                self._wait(future)
            except Exception:  # noqa: BLE001 -- their error is the one being handled
                self._rolled_back.add(future)
        self._failed = None
        remote = self._remote
        if remote is not None:
            try:
                remote.reset()  # it fails every batch after a failure until told otherwise
            except WriterProcessEnded:  # it was killed: start another
                self._stop_remote()
                if remote.transactions == 0:  # it never committed: it cannot run here
                    self._writer_process_failed(f"ended before its first commit ({remote.ended})")
                self._start_writer()

    def was_rolled_back(self, future: Future[None]) -> bool:
        """True (once) if ``future``'s failure was already handled by :meth:`rollback_group`."""
        if future in self._rolled_back:
            self._rolled_back.discard(future)
            return True
        return False

    # internals -------------------------------------------------------------------------------
    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query, after every write made so far (read-your-writes, as one connection
        inside the group's transaction used to give)."""
        self.drain()
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def _wait(self, future: Future[None]) -> None:
        """Wait for a group commit's future (reading the writer process's answers if it is
        one of its); raises its error."""
        if self._remote is not None and not future.done():
            self._remote.wait(future)
        future.result()

    def _write_in_background(self, batch: Sequence[_Statement]) -> None:
        self._write_batch(batch, background=True)

    def _write_batch(self, batch: Sequence[_Statement], background: bool = False) -> None:
        """One transaction for ``batch`` on this connection. A failure rolls all of it back; on
        the writer thread (``background``) the batches queued behind it fail too, until
        :meth:`rollback_group`."""
        ready = _coalesced(batch)  # zlib frees the GIL while it deflates the bodies
        conn = self._conn
        with self._lock:
            if self._failed is not None:
                raise self._failed
            try:
                commit_batches(conn, [ready])
                self._transactions += 1
            except BaseException as exc:
                if background:
                    self._failed = exc
                raise

    def _stop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.stop()
        self._stop_remote()

    def _stop_remote(self) -> None:
        remote, self._remote = self._remote, None
        if remote is not None:
            remote.stop()
            self._transactions += remote.transactions


def _coalesced(batch: Sequence[_Statement], packed: bool = True) -> list[Statement]:
    """The batch's statements, each run of the same statement made one ``executemany`` (a loop
    turn's operations and deliveries each brought their own): with their bodies deflated, or
    (not ``packed``) as plain tuples with the index of the body the writer process deflates."""
    ready: list[Statement] = []
    for change in _without_passing_jobs(batch):
        if packed:
            rows, at = change.packed_rows(), None
        else:
            rows, at = [tuple(row) for row in change.rows], change.packed
        if ready and ready[-1][0] == change.sql and ready[-1][2] == at:
            ready[-1][1].extend(rows)
        else:
            ready.append((change.sql, list(rows), at))
    return ready


def _without_passing_jobs(batch: Sequence[_Statement]) -> Sequence[_Statement]:
    """``batch`` without the routing jobs both added and done in it: a job row only keeps
    routing that was acknowledged but has not run yet across a restart, and the group that
    commits the job's result needs no row that it ever existed."""
    added = {row[0] for change in batch if change.sql == _INSERT_JOB for row in change.rows}
    if not added:
        return batch
    passing = {
        row[0] for change in batch if change.sql == _DELETE_JOB for row in change.rows
    } & added
    if not passing:
        return batch
    kept = []
    for change in batch:
        if change.sql in (_INSERT_JOB, _DELETE_JOB):
            rows = [row for row in change.rows if row[0] not in passing]
            if not rows:
                continue
            change = change._replace(rows=rows)
        kept.append(change)
    return kept


class _Statement(NamedTuple):
    """One SQL statement of a write and its rows; the column ``packed`` (a body) is deflated
    when the rows are written."""

    sql: str
    rows: list[tuple[Any, ...]]
    packed: int | None = None

    def packed_rows(self) -> list[tuple[Any, ...]]:
        at = self.packed
        if at is None:
            return self.rows
        return pack_column(self.rows, at)


_PLAIN_KINDS = frozenset({"worker", "worker_channel"})
"""Records whose bodies are stored as plain JSON, not deflated: a handful per worker, rewritten
at every reservation and activity change (7 of the 24 bodies a task's lifecycle writes), so
deflating them cost the writer ~0.1 ms of CPU a lifecycle to save a few KB a worker."""
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
_DELETE_WORKSPACE_EVENTS = "DELETE FROM events WHERE workspace_sid = ?"
_INSERT_DELIVERY = "INSERT OR REPLACE INTO deliveries (id, body) VALUES (?, ?)"
_TRIM_DELIVERIES = "DELETE FROM deliveries WHERE id <= ?"
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
