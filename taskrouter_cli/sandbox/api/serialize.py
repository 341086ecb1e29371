"""Service records → the JSON TaskRouter answers with.

Records from the service carry the spec's snake_case fields (datetimes as aware ``datetime``).
This module adds what depends on the request: absolute ``url`` and ``links`` built from the
request's own scheme and host (so the SDK's paging and ``links`` lead back to the sandbox), the
list envelope with ``meta``, and dates as ISO-8601 at second precision with a ``Z``.

``links`` carry exactly the link names the spec's examples show per resource (Event and
WorkerChannel have none). A link whose target SID is unknown on the record (a Task not in a queue
yet, a TaskQueue without an assignment activity) is ``null`` rather than a broken URL.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, cast
from urllib.parse import urlencode

from taskrouter_cli.sandbox.kinds import KINDS
from taskrouter_cli.sandbox.records import (
    ReservationFields,
    TaskFields,
    TaskQueueFields,
    WorkerFields,
    WorkflowFields,
    WorkspaceFields,
)

Record = Mapping[str, object]
"""A record of any kind as the service hands it over (its API fields, maybe bookkeeping);
the link builders below read it as its kind's typed fields."""
Links = dict[str, str | None]


@functools.lru_cache(maxsize=4096)
def format_datetime(value: datetime) -> str:
    """ISO-8601 in UTC at second precision with a ``Z``. Cached: records hold times at second
    precision, so the same few values come back in answer after answer (a hit costs ~0.1 µs,
    formatting ~1.5 µs; a lifecycle's answers hold a dozen); equal instants format alike."""
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(timezone.utc)
    # what strftime("%Y-%m-%dT%H:%M:%SZ") gives, at a third of its cost (every answer has ~4)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )


_AS_IS = frozenset({str, int, float, bool, type(None)})
"""Types :func:`jsonable` hands back unchanged (checked first: most values are these)."""


def jsonable(value: Any) -> Any:
    """Datetimes → ISO-8601 ``Z`` strings, recursively; everything else unchanged."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _ws(record: Record) -> str:
    return f"/v1/Workspaces/{record['workspace_sid']}"


def _join(*parts: object) -> str | None:
    for part in parts:
        if part is None or part == "":
            return None
    return "/".join(map(str, parts))


def _under_ws(record: Record, *parts: object) -> str | None:
    return _join(_ws(record), *parts)


def instance_path(kind: str, record: Record, *, worker_view: bool = False) -> str | None:
    """The path of one record; reservations have a Task view and a Worker view."""
    sid = record.get("sid")
    if kind == "workspace":
        return _join("/v1/Workspaces", sid)
    if kind == "reservation":
        if worker_view:
            return _under_ws(record, "Workers", record.get("worker_sid"), "Reservations", sid)
        return _under_ws(record, "Tasks", record.get("task_sid"), "Reservations", sid)
    if kind == "worker_channel":
        return _under_ws(record, "Workers", record.get("worker_sid"), "Channels", sid)
    collection = KINDS[kind].collection
    return _under_ws(record, collection, sid)


def _workspace_links(r: WorkspaceFields) -> Links:
    base = f"/v1/Workspaces/{r['sid']}"
    names = {
        "activities": "Activities",
        "statistics": "Statistics",
        "real_time_statistics": "RealTimeStatistics",
        "cumulative_statistics": "CumulativeStatistics",
        "task_queues": "TaskQueues",
        "tasks": "Tasks",
        "workers": "Workers",
        "workflows": "Workflows",
        "task_channels": "TaskChannels",
        "events": "Events",
    }
    return {name: f"{base}/{suffix}" for name, suffix in names.items()}


def _worker_links(r: WorkerFields) -> Links:
    me = _under_ws(r, "Workers", r.get("sid"))
    return {
        "channels": _join(me, "Channels"),
        "activity": _under_ws(r, "Activities", r.get("activity_sid")),
        "workspace": _ws(r),
        "statistics": _under_ws(r, "Workers", "Statistics"),
        "real_time_statistics": _under_ws(r, "Workers", "RealTimeStatistics"),
        "cumulative_statistics": _under_ws(r, "Workers", "CumulativeStatistics"),
        "worker_statistics": _join(me, "Statistics"),
        "worker_channels": _join(me, "Channels"),
        "reservations": _join(me, "Reservations"),
    }


def _task_queue_links(r: TaskQueueFields) -> Links:
    me = _under_ws(r, "TaskQueues", r.get("sid"))
    return {
        "assignment_activity": _under_ws(r, "Activities", r.get("assignment_activity_sid")),
        "reservation_activity": _under_ws(r, "Activities", r.get("reservation_activity_sid")),
        "workspace": _ws(r),
        "statistics": _join(me, "Statistics"),
        "real_time_statistics": _join(me, "RealTimeStatistics"),
        "cumulative_statistics": _join(me, "CumulativeStatistics"),
        "list_statistics": _under_ws(r, "TaskQueues", "Statistics"),
        "bulk_real_time_statistics": _under_ws(r, "TaskQueues", "RealTimeStatistics"),
    }


def _workflow_links(r: WorkflowFields) -> Links:
    me = _under_ws(r, "Workflows", r.get("sid"))
    return {
        "statistics": _join(me, "Statistics"),
        "real_time_statistics": _join(me, "RealTimeStatistics"),
        "cumulative_statistics": _join(me, "CumulativeStatistics"),
    }


def _task_links(r: TaskFields) -> Links:
    return {
        "task_queue": _under_ws(r, "TaskQueues", r.get("task_queue_sid")),
        "workflow": _under_ws(r, "Workflows", r.get("workflow_sid")),
        "workspace": _ws(r),
        "reservations": _under_ws(r, "Tasks", r.get("sid"), "Reservations"),
    }


def _reservation_links(r: ReservationFields) -> Links:
    return {
        "task": _under_ws(r, "Tasks", r.get("task_sid")),
        "worker": _under_ws(r, "Workers", r.get("worker_sid")),
        "workspace": _ws(r),
    }


def _workspace_only(r: Record) -> Links:
    return {"workspace": _ws(r)}


def links(kind: str, record: Record) -> Links | None:
    """The relative ``links`` of a ``kind`` record (read as that kind's typed fields); None for
    kinds without links (event, worker_channel)."""
    if kind == "workspace":
        return _workspace_links(cast(WorkspaceFields, record))
    if kind == "worker":
        return _worker_links(cast(WorkerFields, record))
    if kind == "task_queue":
        return _task_queue_links(cast(TaskQueueFields, record))
    if kind == "workflow":
        return _workflow_links(cast(WorkflowFields, record))
    if kind == "task":
        return _task_links(cast(TaskFields, record))
    if kind == "reservation":
        return _reservation_links(cast(ReservationFields, record))
    if kind in ("activity", "task_channel"):
        return _workspace_only(record)
    return None


def render_record(
    kind: str, record: Record, base_url: str, *, worker_view: bool = False
) -> dict[str, Any]:
    """One record as TaskRouter's JSON instance (``url`` and ``links`` absolute)."""
    as_is = _AS_IS
    body: dict[str, Any] = {
        key: value if type(value) in as_is else jsonable(value)
        for key, value in record.items()
        if key[0] != "_"
    }
    path = instance_path(kind, record, worker_view=worker_view)
    body["url"] = base_url + path if path else None
    relative = links(kind, record)
    if relative is not None:
        body["links"] = {
            name: (base_url + link if link else None) for name, link in relative.items()
        }
    return body


def page_url(
    base_url: str,
    path: str,
    query: Sequence[tuple[str, str]],
    *,
    page_size: int,
    page: int,
    page_token: str | None = None,
) -> str:
    """A list URL: the caller's filters (paging removed) plus PageSize, Page (and PageToken)."""
    pairs = list(query) + [("PageSize", str(page_size)), ("Page", str(page))]
    if page_token:
        pairs.append(("PageToken", page_token))
    return f"{base_url}{path}?{urlencode(pairs)}"


def render_list(
    kind: str,
    key: str,
    records: Sequence[Record],
    *,
    base_url: str,
    path: str,
    filters_query: Sequence[tuple[str, str]],
    page_size: int,
    page: int,
    page_token: str | None,
    next_page_token: str | None,
    previous_page_token: str | None,
    worker_view: bool = False,
) -> dict[str, Any]:
    """The list envelope ``{<key>: [...], "meta": {...}}`` with absolute paging URLs."""

    def url(number: int, token: str | None) -> str:
        return page_url(
            base_url, path, filters_query, page_size=page_size, page=number, page_token=token
        )

    return {
        key: [render_record(kind, r, base_url, worker_view=worker_view) for r in records],
        "meta": {
            "page": page,
            "page_size": page_size,
            "first_page_url": url(0, None),
            "previous_page_url": (
                url(max(page - 1, 0), previous_page_token) if previous_page_token else None
            ),
            "next_page_url": url(page + 1, next_page_token) if next_page_token else None,
            "url": url(page, page_token),
            "key": key,
        },
    }
