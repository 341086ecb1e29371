"""Tasks held compactly: a short summary in memory, the whole record read back from SQLite.

A sandbox can hold 100,000 pending tasks; as dicts they took ~1.2 KB each (a 31-key dict has a
64-slot table). :class:`TaskTable` is the ``state.records["task"]`` mapping instead:

* every task has a :data:`Summary` -- a tuple of the few fields that iterations filter, count
  and sort on (SID, dates, sequence, and a tuple shared by the tasks that have the same
  workspace, status, queue, workflow, channel and priority), ~110 bytes;
* the whole record is a dict only while it is *hot*: read (``table[sid]``) or written in the
  current operation, or among the :data:`HOT_SIZE` tasks used last. Its first read decodes the
  stored body from SQLite (by SID, ~15 µs); every later read in the operation returns the same
  dict, so identity holds until the operation's commit, which refreshes the summaries of the
  tasks it wrote and drops the least recently used dicts (:meth:`TaskTable.trim`);
* iterating (``values()``) yields the hot dict of a task when there is one, else a
  :class:`LazyTask`: a mapping that answers summary fields from the summary and reads the body
  only when another field is asked for, without keeping it in the table. Writing through a
  LazyTask makes its task hot, so ``state.touch`` finds the written dict.

What a task is must therefore be read through the table during an operation, and written with
``state.touch`` (as before): a dict kept across operations may be dropped from the table.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, ValuesView
from datetime import datetime
from typing import Any

Record = dict[str, Any]

OWN_FIELDS = ("sid", "date_created", "virtual_start_time", "task_queue_entered_date", "_seq")
GROUP_FIELDS = (
    "workspace_sid",
    "assignment_status",
    "task_queue_sid",
    "workflow_sid",
    "task_channel_sid",
    "priority",
)
"""What iterations read without the body (real-time statistics; the common list filters and
orderings). A summary is ``(*OWN_FIELDS, group)``, the group a tuple of the GROUP_FIELDS values
shared by every task that has them."""
SUMMARY_FIELDS = OWN_FIELDS + GROUP_FIELDS
_GROUP = len(OWN_FIELDS)
_WHERE = {name: (index, -1) for index, name in enumerate(OWN_FIELDS)} | {
    name: (_GROUP, index) for index, name in enumerate(GROUP_FIELDS)
}
_WORKSPACE = GROUP_FIELDS.index("workspace_sid")
Summary = tuple[Any, ...]

HOT_SIZE = 2048
"""Whole task records kept in memory between operations (least recently used dropped first):
the tasks being worked on, so a lifecycle decodes its task once."""

DATE_FIELDS = (
    "date_created",
    "date_updated",
    "task_queue_entered_date",
    "virtual_start_time",
)
_SHARED = 4096
"""Dates (second precision: many tasks per second) and groups kept for sharing; the tables
start again when they grow beyond this (summaries keep what they share)."""


def decode_task(text: str) -> Record:
    """A stored task body as the record it was (dates as aware ``datetime``)."""
    record: Record = json.loads(text)
    for key in DATE_FIELDS:
        value = record.get(key)
        if type(value) is str:
            record[key] = datetime.fromisoformat(value)
    return record


class TaskTable(MutableMapping[str, Record]):
    """The tasks by SID (see the module's docstring). ``read(sid)`` returns a stored task's
    body (or None); ``scan()`` every stored task as ``(sid, body)`` in creation order."""

    def __init__(
        self,
        read: Callable[[str], str | None],
        scan: Callable[[], Iterator[tuple[str, str]]],
        hot_size: int = HOT_SIZE,
    ) -> None:
        self._read = read
        self._scan = scan
        self.hot_size = hot_size
        self._summaries: dict[str, Summary] = {}
        self._hot: OrderedDict[str, Record] = OrderedDict()
        self._dates: dict[datetime, datetime] = {}
        self._groups: dict[Summary, Summary] = {}
        self._last: tuple[str, Record] | None = None
        """The task a :class:`LazyTask` read last (one, so iterating holds one body at most)."""

    # the mapping -----------------------------------------------------------------------------
    def __getitem__(self, sid: str) -> Record:
        hot = self._hot.get(sid)
        if hot is not None:
            self._hot.move_to_end(sid)
            return hot
        if sid not in self._summaries:
            raise KeyError(sid)
        record = self.read(sid)
        self._hot[sid] = record
        return record

    def get(self, sid: str, default: Any = None) -> Any:
        try:
            return self[sid]
        except KeyError:
            return default

    def __contains__(self, sid: object) -> bool:
        return sid in self._summaries

    def __iter__(self) -> Iterator[str]:
        return iter(self._summaries)

    def __len__(self) -> int:
        return len(self._summaries)

    def __setitem__(self, sid: str, record: Record) -> None:
        self._last = None
        self._summaries[sid] = self._summary(record)
        self._hot[sid] = record
        self._hot.move_to_end(sid)

    def __delitem__(self, sid: str) -> None:
        self._last = None
        del self._summaries[sid]
        self._hot.pop(sid, None)

    def values(self) -> ValuesView[Record]:
        """Each task: its hot dict, or a :class:`LazyTask` (nothing is decoded to iterate)."""
        return _Values(self)

    def clear(self) -> None:
        self._summaries.clear()
        self._hot.clear()
        self._dates.clear()
        self._groups.clear()
        self._last = None

    # beyond the mapping ----------------------------------------------------------------------
    def peek(self, sid: str) -> Record:
        """The task's hot dict, or a :class:`LazyTask` of it (KeyError when there is none):
        for reading many tasks without keeping them."""
        hot = self._hot.get(sid)
        if hot is not None:
            return hot
        return LazyTask(self, sid, self._summaries[sid])  # type: ignore[return-value]

    def in_workspace(self, workspace_sid: str) -> WorkspaceTasks:
        return WorkspaceTasks(self, workspace_sid)

    def load(self, record: Record) -> None:
        """A task read from the store at start: only its summary is kept."""
        self._summaries[record["sid"]] = self._summary(record)

    def refresh(self, record: Record) -> None:
        """The task was written: its summary follows (called by the commit)."""
        self._last = None
        if record["sid"] in self._summaries:
            self._summaries[record["sid"]] = self._summary(record)

    def trim(self) -> None:
        """Drop the least recently used whole records beyond :attr:`hot_size` (after a commit:
        nothing is being written then)."""
        hot = self._hot
        while len(hot) > self.hot_size:
            hot.popitem(last=False)

    def read(self, sid: str) -> Record:
        """The stored task decoded (not kept)."""
        text = self._read(sid)
        summary = self._summaries.get(sid)
        if text is None or summary is None:
            raise KeyError(sid)
        return self._shared(decode_task(text), summary)

    @staticmethod
    def _shared(record: Record, summary: Summary) -> Record:
        """``record`` (decoded from the store, so equal to its summary) holding the summary's
        objects: its SID, dates and group values are not held twice."""
        for name, value in zip(OWN_FIELDS, summary[:_GROUP], strict=True):
            record[name] = value
        for name, value in zip(GROUP_FIELDS, summary[_GROUP], strict=True):
            record[name] = value
        return record

    def read_shared(self, sid: str) -> Record:
        """The stored task decoded, kept until another one is read this way (for reading)."""
        last = self._last
        if last is not None and last[0] == sid:
            return last[1]
        record = self.read(sid)
        self._last = (sid, record)
        return record

    def adopt(self, sid: str) -> Record:
        """Make ``sid`` hot (to be written), with the copy :meth:`read_shared` holds if any."""
        hot = self._hot.get(sid)
        if hot is not None:
            return hot
        last, self._last = self._last, None
        if last is None or last[0] != sid:
            return self[sid]
        self._hot[sid] = last[1]
        return last[1]

    def scan(self) -> Iterator[Record]:
        """Every task whole, in creation order, decoded one at a time from one pass over the
        store (hot ones as they are in memory); none is kept."""
        seen: set[str] = set()
        for sid, text in self._scan():
            summary = self._summaries.get(sid)
            if summary is None:
                continue
            seen.add(sid)
            hot = self._hot.get(sid)
            yield hot if hot is not None else self._shared(decode_task(text), summary)
        for sid, record in list(self._hot.items()):
            if sid not in seen and sid in self._summaries:
                yield record

    def _summary(self, record: Record) -> Summary:
        dates, groups = self._dates, self._groups
        if len(dates) > _SHARED:
            dates.clear()
        if len(groups) > _SHARED:
            groups.clear()
        own: list[Any] = [record["sid"]]
        for name in OWN_FIELDS[1:]:
            value = record.get(name)
            if type(value) is datetime:
                value = dates.setdefault(value, value)
            own.append(value)
        group = tuple([record.get(name) for name in GROUP_FIELDS])
        own.append(groups.setdefault(group, group))
        return tuple(own)


def _peeked(table: TaskTable, sids: Iterable[str]) -> Iterator[Record]:
    """The tasks of ``sids`` still in ``table`` (one may be deleted while iterating), each read
    without keeping it."""
    for sid in sids:
        if sid in table:
            yield table.peek(sid)


class _Values(ValuesView[Record]):
    _mapping: TaskTable

    def __iter__(self) -> Iterator[Record]:
        return _peeked(self._mapping, list(self._mapping))


class WorkspaceTasks(Mapping[str, Record]):
    """The tasks of one workspace (what ``state.in_workspace(ws, "task")`` returns)."""

    def __init__(self, table: TaskTable, workspace_sid: str) -> None:
        self._table = table
        self._workspace_sid = workspace_sid

    def __getitem__(self, sid: str) -> Record:
        record = self._table[sid]
        if record.get("workspace_sid") != self._workspace_sid:
            raise KeyError(sid)
        return record

    def __contains__(self, sid: object) -> bool:
        summary = self._table._summaries.get(sid)  # type: ignore[call-overload]
        return summary is not None and summary[_GROUP][_WORKSPACE] == self._workspace_sid

    def __iter__(self) -> Iterator[str]:
        ws = self._workspace_sid
        summaries = self._table._summaries
        return iter(
            [sid for sid, summary in summaries.items() if summary[_GROUP][_WORKSPACE] == ws]
        )

    def __len__(self) -> int:
        ws = self._workspace_sid
        summaries = self._table._summaries.values()
        return sum(1 for summary in summaries if summary[_GROUP][_WORKSPACE] == ws)

    def values(self) -> ValuesView[Record]:
        return _WorkspaceValues(self)


class _WorkspaceValues(ValuesView[Record]):
    _mapping: WorkspaceTasks

    def __iter__(self) -> Iterator[Record]:
        return _peeked(self._mapping._table, self._mapping)  # its SIDs are a list already


class LazyTask(MutableMapping[str, Any]):
    """A task seen while iterating: summary fields from its summary, the others from its body
    (read when needed; the table keeps the last body read, so a list of LazyTasks holds no
    bodies); writes go to the table's hot dict."""

    __slots__ = ("_summary", "_table", "sid")

    def __init__(self, table: TaskTable, sid: str, summary: Summary) -> None:
        self._table = table
        self.sid = sid
        self._summary = summary

    def _record(self) -> Record:
        hot = self._table._hot.get(self.sid)
        if hot is not None:
            return hot
        return self._table.read_shared(self.sid)

    def __getitem__(self, key: str) -> Any:
        hot = self._table._hot.get(self.sid)
        if hot is not None:
            return hot[key]
        where = _WHERE.get(key)
        if where is None:
            return self._record()[key]
        value = self._summary[where[0]]
        return value if where[1] < 0 else value[where[1]]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return key in _WHERE or key in self._record()

    def __iter__(self) -> Iterator[str]:
        return iter(self._record())

    def __len__(self) -> int:
        return len(self._record())

    def __setitem__(self, key: str, value: Any) -> None:
        self._table.adopt(self.sid)[key] = value

    def __delitem__(self, key: str) -> None:
        del self._table.adopt(self.sid)[key]

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__
