"""Events: list with filters, and follow new ones by polling.

Events are ordered oldest first by ``event_date_ms`` (ties keep the API's order). Following
uses only the server's own dates (``StartDate`` = the newest event seen), never this machine's
clock, because the sandbox may run on a fake clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from taskrouter_cli.operations.inputs import Since
from taskrouter_cli.operations.polling import Poller
from taskrouter_cli.operations.tasks import MAX_PAGE_SIZE


def _stamp(event: Any) -> int:
    stamp = event.event_date_ms
    if stamp is None and event.event_date is not None:
        stamp = int(event.event_date.timestamp() * 1000)
    return int(stamp or 0)


def oldest_first(events: list[Any]) -> list[Any]:
    """Events by time, oldest first; events of the same millisecond keep the API's order
    (reversed first when the API lists newest first)."""
    if len(events) > 1 and _stamp(events[0]) > _stamp(events[-1]):
        events = events[::-1]
    return sorted(events, key=_stamp)


def list_events(
    workspace: Any,
    *,
    task_sid: str | None = None,
    worker_sid: str | None = None,
    event_type: str | None = None,
    since: Since | None = None,
    start_date: Any = None,
    limit: int | None = 50,
) -> list[Any]:
    """Events matching the filters, oldest first; ``limit`` keeps the newest ones."""
    from twilio.base import values

    def given(value: Any) -> Any:
        return values.unset if value is None else value

    items = list(
        workspace.events.stream(
            task_sid=given(task_sid),
            worker_sid=given(worker_sid),
            event_type=given(event_type),
            minutes=given(since.minutes if since else None),
            start_date=given(start_date if start_date is not None else (since and since.start)),
            page_size=MAX_PAGE_SIZE,
        )
    )
    items = oldest_first(items)
    if limit is not None and len(items) > limit:
        items = items[-limit:]
    return items


def follow_events(
    workspace: Any,
    poller: Poller,
    on_event: Callable[[Any], None],
    *,
    task_sid: str | None = None,
    worker_sid: str | None = None,
    event_type: str | None = None,
    since: Since | None = None,
) -> int:
    """Report events as they appear until the poller's time runs out; returns how many.

    Without ``since`` only events newer than the start are reported; with it, the matching
    older ones come first.
    """
    filters: dict[str, Any] = {
        "task_sid": task_sid,
        "worker_sid": worker_sid,
        "event_type": event_type,
    }
    seen: set[str] = set()
    count = 0

    def report(events: Iterable[Any]) -> None:
        nonlocal count
        for event in events:
            if str(event.sid) in seen:
                continue
            seen.add(str(event.sid))
            on_event(event)
            count += 1

    initial = list_events(workspace, since=since, limit=None, **filters)
    dated = [e.event_date for e in initial if e.event_date is not None]
    newest: Any = max(dated) if dated else None
    if since is None:
        seen.update(str(e.sid) for e in initial)
    else:
        report(initial)
    while poller.wait():
        fresh = list_events(workspace, start_date=newest, limit=None, **filters)
        report(fresh)
        dated = [e.event_date for e in fresh if e.event_date is not None]
        if dated:
            newest = max([*dated, newest] if newest is not None else dated)
    return count


_NAME_KEYS = {
    "WK": "worker_name",
    "WQ": "task_queue_name",
    "WW": "workflow_name",
    "WA": "worker_activity_name",
}
"""SID prefix of an Event's resource → the ``event_data`` key holding its friendly name."""


def event_subject(event: Any) -> str:
    """What an Event is about, named: ``Alice (WK…)``, ``WR… for Alice (WK…)``, ``WT…``."""
    from taskrouter_cli.sids import labelled

    data = event.event_data if isinstance(event.event_data, dict) else {}
    sid = str(event.resource_sid or "")
    key = _NAME_KEYS.get(sid[:2])
    if key:
        return labelled(data.get(key), sid)
    if sid.startswith("WR") and data.get("worker_name"):
        return f"{sid} for {labelled(data.get('worker_name'), data.get('worker_sid'))}"
    return sid or "-"
