"""In-memory working set of the sandbox, written through to the store once per operation.

Every record is a ``dict`` with the resource's public snake_case fields (datetimes as aware
``datetime``) plus private bookkeeping keys starting with ``_`` (never returned). The service
reads records through this working set; :meth:`State.commit` writes the records changed by one
operation (and the events it appended) to SQLite in one transaction before the operation returns.
Tasks, the only kind that grows into the hundred thousands, are held compactly and read back
from SQLite when needed (:class:`task_table.TaskTable`, ``state.tasks``); every other kind is
held whole.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import OrderedDict
from collections.abc import Iterator, Mapping, MutableMapping
from datetime import datetime, timezone
from typing import Any, NamedTuple, cast

from .json_codec import to_json
from .kinds import KINDS, STORED_KINDS
from .records import (
    Activity,
    Reservation,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
)
from .store import SqliteStore, StoredEvent, StoredRecord, new_row
from .task_table import LazyTask, TaskTable, decode_task

Record = dict[str, Any]
AnyRecord = (
    Record
    | Workspace
    | Activity
    | TaskChannel
    | Worker
    | WorkerChannel
    | TaskQueue
    | Workflow
    | Task
    | Reservation
)
"""A record of any kind, typed or not (what ``State`` stores and writes)."""

DATE_FIELDS = frozenset(
    {
        "date_created",
        "date_updated",
        "date_status_changed",
        "task_queue_entered_date",
        "virtual_start_time",
    }
)
_SHARED_MAX_CHARS = 64
"""Loaded string values up to this length are shared between records (SIDs, names, dates)."""


class RoutingJob(NamedTuple):
    """Routing that a write made due: ``action`` (``task``, ``offer``, ``worker``, ``queue``,
    ``assigned``) on the record ``sid``. Run after the write's answer, in order."""

    action: str
    sid: str


def _encode(value: Any) -> Any:
    """What a record holds that JSON has no type for (datetimes are encoded as ISO 8601)."""
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__}")


def _created_text(created: datetime) -> str:
    """``created.isoformat()``; cached for UTC times (what every clock gives): records are
    created at second precision, so the same few values come back row after row."""
    return _utc_isoformat(created) if created.tzinfo is timezone.utc else created.isoformat()


@functools.lru_cache(maxsize=1024)
def _utc_isoformat(created: datetime) -> str:
    return created.isoformat()


def public(record: Record) -> Record:
    """The record without its private ``_`` keys."""
    return {key: value for key, value in record.items() if key[0] != "_"}


class State:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.tasks = TaskTable(store.read_record, lambda: store.scan_records("task"))
        self.records: dict[str, MutableMapping[str, Record]] = {
            kind: self.tasks if kind == "task" else {} for kind in STORED_KINDS
        }
        self.by_workspace: dict[tuple[str, str], dict[str, Record]] = {}
        self.reservations_by_task: dict[str, list[str]] = {}
        self.reservations_by_worker: dict[str, list[str]] = {}
        self.channels_by_worker: dict[str, dict[str, Record]] = {}
        self._dirty: dict[str, tuple[str, Record]] = {}
        self._deleted: set[str] = set()
        self._events: list[StoredEvent] = []
        self.seq = 0
        self.jobs: OrderedDict[int, RoutingJob] = OrderedDict()
        self._queued: set[RoutingJob] = set()
        self._jobs_added: dict[int, str] = {}
        self._jobs_done: list[int] = []
        self._job_seq = 0

    # loading ---------------------------------------------------------------------------------
    def load(self) -> None:
        """Read every record from the store.

        ``json.loads`` makes new key strings for every record and new objects for every repeated
        value (parent SIDs, statuses, names, dates); records created in this process share them.
        Loading shares them too -- keys interned, short strings and dates looked up in a table
        kept while loading -- which halves the memory of a restarted sandbox (100,000 tasks).
        """
        self.clear_memory()
        shared: dict[str, Any] = {}
        dates: dict[str, datetime] = {}
        intern = sys.intern
        for kind, body in self.store.load_records():
            if kind == "task":  # only its summary stays in memory (it shares what it can)
                task = decode_task(body)
                self.tasks.load(task)
                self.seq = max(self.seq, int(task.get("_seq", 0)))
                continue
            record: Record = {}
            for key, value in json.loads(body).items():
                if type(value) is str:
                    if key in DATE_FIELDS:
                        date = dates.get(value)
                        if date is None:
                            date = dates[value] = datetime.fromisoformat(value)
                        value = date
                    elif len(value) <= _SHARED_MAX_CHARS:
                        value = shared.setdefault(value, value)
                record[intern(key)] = value
            self._index(kind, record)
            self.seq = max(self.seq, int(record.get("_seq", 0)))
        for seq, text in self.store.load_jobs():
            action, sid = json.loads(text)
            job = RoutingJob(str(action), str(sid))
            self.jobs[seq] = job
            self._queued.add(job)
            self._job_seq = max(self._job_seq, seq)

    def clear_memory(self) -> None:
        for table in self.records.values():
            table.clear()
        self.by_workspace.clear()
        self.reservations_by_task.clear()
        self.reservations_by_worker.clear()
        self.channels_by_worker.clear()
        self.jobs.clear()
        self._queued.clear()
        self._job_seq = 0
        self.discard_pending()
        self.seq = 0

    # reading ---------------------------------------------------------------------------------
    def get(self, kind: str, sid: str) -> Record | None:
        return self.records[kind].get(sid)

    # typed reads ----------------------------------------------------------------------------
    def task(self, sid: str) -> Task | None:
        return cast("Task | None", self.records["task"].get(sid))

    def worker(self, sid: str) -> Worker | None:
        return cast("Worker | None", self.records["worker"].get(sid))

    def reservation(self, sid: str) -> Reservation | None:
        return cast("Reservation | None", self.records["reservation"].get(sid))

    def task_queue(self, sid: str) -> TaskQueue | None:
        return cast("TaskQueue | None", self.records["task_queue"].get(sid))

    def workflow(self, sid: str) -> Workflow | None:
        return cast("Workflow | None", self.records["workflow"].get(sid))

    def activity(self, sid: str) -> Activity | None:
        return cast("Activity | None", self.records["activity"].get(sid))

    def workers_in(self, workspace_sid: str) -> Mapping[str, Worker]:
        return cast("Mapping[str, Worker]", self.in_workspace(workspace_sid, "worker"))

    def queues_in(self, workspace_sid: str) -> Mapping[str, TaskQueue]:
        return cast("Mapping[str, TaskQueue]", self.in_workspace(workspace_sid, "task_queue"))

    def tasks_in(self, workspace_sid: str) -> Mapping[str, Task]:
        """The workspace's tasks: iterating yields a task's dict when it is in memory, else a
        read-only-until-written view of it (``task_table.LazyTask``)."""
        return cast("Mapping[str, Task]", self.in_workspace(workspace_sid, "task"))

    def activities_in(self, workspace_sid: str) -> Mapping[str, Activity]:
        return cast("Mapping[str, Activity]", self.in_workspace(workspace_sid, "activity"))

    def channels_of(self, worker_sid: str) -> dict[str, WorkerChannel]:
        """The worker's channels by TaskChannel SID."""
        return cast("dict[str, WorkerChannel]", self.channels_by_worker.get(worker_sid, {}))

    def task_reservations(self, task_sid: str) -> list[Reservation]:
        return cast("list[Reservation]", self.reservations_of_task(task_sid))

    def in_workspace(self, workspace_sid: str, kind: str) -> Mapping[str, Record]:
        if kind == "task":
            return self.tasks.in_workspace(workspace_sid)
        return self.by_workspace.get((workspace_sid, kind), {})

    def iter_workspace(self, workspace_sid: str, kind: str) -> Iterator[Record]:
        return iter(list(self.in_workspace(workspace_sid, kind).values()))

    def reservations_of_task(self, task_sid: str) -> list[Record]:
        table = self.records["reservation"]
        return [table[sid] for sid in self.reservations_by_task.get(task_sid, ())]

    def reservations_of_worker(self, worker_sid: str) -> list[Record]:
        table = self.records["reservation"]
        return [table[sid] for sid in self.reservations_by_worker.get(worker_sid, ())]

    # writing ---------------------------------------------------------------------------------
    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def add(self, kind: str, typed: AnyRecord) -> Record:
        record = cast(Record, typed)
        record.setdefault("_seq", self.next_seq())
        self._index(kind, record)
        self.touch(kind, record)
        return record

    def touch(self, kind: str, typed: AnyRecord) -> None:
        """Mark ``record`` as changed: it is written at the next commit (and gets a new ETag)."""
        record = cast(Record, typed)
        if type(record) is LazyTask:  # written through while iterating: its dict is hot now
            record = self.tasks[record["sid"]]
        if record["sid"] not in self._dirty:
            record["_rev"] = record.get("_rev", 0) + 1
        self._dirty[record["sid"]] = (kind, record)

    def has_pending(self) -> bool:
        return bool(
            self._dirty or self._deleted or self._events or self._jobs_added or self._jobs_done
        )

    # routing jobs ----------------------------------------------------------------------------
    def add_job(self, job: RoutingJob) -> None:
        """Queue ``job`` (written with the operation's commit); a job already waiting is not
        queued twice (it reads the records when it runs, so it sees this change too)."""
        if job in self._queued:
            return
        self._job_seq += 1
        self.jobs[self._job_seq] = job
        self._queued.add(job)
        self._jobs_added[self._job_seq] = to_json((job.action, job.sid)).decode()

    def drop_job(self, job: RoutingJob) -> None:
        """Remove a queued ``job`` without running it (durably at the next commit)."""
        for seq, queued in self.jobs.items():
            if queued == job:
                del self.jobs[seq]
                self._queued.discard(job)
                if self._jobs_added.pop(seq, None) is None:
                    self._jobs_done.append(seq)
                return

    def next_job(self) -> RoutingJob | None:
        """The oldest queued job, removed from the queue (durably at the next commit)."""
        if not self.jobs:
            return None
        seq, job = self.jobs.popitem(last=False)
        self._queued.discard(job)
        if self._jobs_added.pop(seq, None) is None:
            self._jobs_done.append(seq)
        return job

    def remove(self, kind: str, typed: AnyRecord) -> None:
        record = cast(Record, typed)
        sid = record["sid"]
        self.records[kind].pop(sid, None)
        workspace_sid = record.get("workspace_sid")
        if workspace_sid is not None and kind != "task":
            self.by_workspace.get((workspace_sid, kind), {}).pop(sid, None)
        if kind == "reservation":
            for index, key in (
                (self.reservations_by_task, record["task_sid"]),
                (self.reservations_by_worker, record["worker_sid"]),
            ):
                sids = index.get(key)
                if sids is not None and sid in sids:
                    sids.remove(sid)
        elif kind == "worker_channel":
            self.channels_by_worker.get(record["worker_sid"], {}).pop(
                record["task_channel_sid"], None
            )
        elif kind == "worker":
            self.channels_by_worker.pop(sid, None)
            self.reservations_by_worker.pop(sid, None)
        elif kind == "task":
            self.reservations_by_task.pop(sid, None)
        self._dirty.pop(sid, None)
        self._deleted.add(sid)

    def append_event(self, event: StoredEvent) -> None:
        self._events.append(event)

    def commit(self) -> None:
        if not self.has_pending():
            return
        upserts = [self._stored(kind, record) for kind, record in self._dirty.values()]
        deletes = [sid for sid in self._deleted if sid not in self._dirty]
        events = self._events
        jobs_added = list(self._jobs_added.items())
        jobs_done = self._jobs_done
        tasks = [record for kind, record in self._dirty.values() if kind == "task"]
        self.discard_pending()
        self.store.write(upserts, deletes, events, jobs_added, jobs_done)
        for record in tasks:
            self.tasks.refresh(record)
        self.tasks.trim()

    def discard_pending(self) -> None:
        self._dirty = {}
        self._deleted = set()
        self._events = []
        self._jobs_added = {}
        self._jobs_done = []

    # internals -------------------------------------------------------------------------------
    def _index(self, kind: str, record: Record) -> None:
        sid = record["sid"]
        self.records[kind][sid] = record
        workspace_sid = record.get("workspace_sid")
        if kind == "workspace":
            workspace_sid = sid
        if workspace_sid is not None and kind not in ("workspace", "task"):
            self.by_workspace.setdefault((workspace_sid, kind), {})[sid] = record
        if kind == "reservation":
            self.reservations_by_task.setdefault(record["task_sid"], []).append(sid)
            self.reservations_by_worker.setdefault(record["worker_sid"], []).append(sid)
        elif kind == "worker_channel":
            self.channels_by_worker.setdefault(record["worker_sid"], {})[
                record["task_channel_sid"]
            ] = record
        self._deleted.discard(sid)

    @staticmethod
    def _stored(kind: str, record: Record) -> StoredRecord:
        status_field = KINDS[kind].status_field
        get = record.get
        created = get("date_created")
        worker_sid = get("worker_sid")
        return new_row(
            StoredRecord,
            (
                record["sid"],
                kind,
                get("workspace_sid"),
                get("task_sid") or worker_sid,
                get(status_field) if status_field else None,
                get("task_queue_sid"),
                worker_sid,
                _created_text(created) if isinstance(created, datetime) else None,
                to_json(record, _encode),
            ),
        )
