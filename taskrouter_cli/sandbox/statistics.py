"""Statistics of a workspace, its TaskQueues, Workers and Workflows (no HTTP here).

Real-time statistics are read from the current in-memory state; cumulative statistics are
counted from the stored Events of a window. Choices where TaskRouter's behaviour is not
documented (UNCONFIRMED; the fidelity table lists them as "partial"):

* the window: ``StartDate`` wins over ``Minutes``; without ``StartDate`` it starts ``Minutes``
  (default 15) before ``EndDate`` (default now); ``StartDate`` after ``EndDate``, or a window
  reaching back before 1970, answers 400 (TaskRouter keeps 30 days; the sandbox keeps all);
* ``tasks_by_status`` counts pending, reserved, assigned and wrapping Tasks (plus completed and
  canceled ones still stored, for the Workspace and Workflows); ``total_tasks`` is their sum;
  ``tasks_by_priority`` and the longest waiting Task consider pending and reserved Tasks;
* wait durations are whole seconds from the Task's creation (or, for
  ``wait_duration_in_queue_until_accepted``, from its last entry into the TaskQueue) to the
  ``reservation.accepted`` (or ``task.canceled``) Event; ``avg`` is rounded down;
* ``split_by_wait_time``: a wait shorter than the threshold is ``below``, otherwise ``above``;
* ``activity_durations`` count each stay that ended inside the window (a
  ``worker.activity.update`` Event), whole, even when it began before the window; stays still
  going on are not counted;
* ``TaskChannel`` narrows Tasks, Reservations and their Events; Worker counts by Activity are
  not narrowed by channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from .core import Core
from .engine import Engine
from .errors import bad_request
from .events import load_event
from .records import Activity, Event, Task, TaskChannel, TaskQueue, Worker, Workflow
from .resources import Resources
from .state import Record
from .store import EventQuery, SqliteStore

DEFAULT_MINUTES = 15
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
WAITING = ("pending", "reserved")
ACTIVE = ("pending", "reserved", "assigned", "wrapping")
ALL_STATUSES = (*ACTIVE, "completed", "canceled")
MAX_THRESHOLDS = 10
MAX_BULK_QUEUES = 50

RESERVATION_COUNTS = {
    "reservations_created": "reservation.created",
    "reservations_accepted": "reservation.accepted",
    "reservations_rejected": "reservation.rejected",
    "reservations_timed_out": "reservation.timeout",
    "reservations_canceled": "reservation.canceled",
    "reservations_rescinded": "reservation.rescinded",
}
TASK_COUNTS = {
    "tasks_canceled": "task.canceled",
    "tasks_completed": "task.completed",
    "tasks_deleted": "task.deleted",
    "tasks_moved": "task-queue.moved",
}


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)


def window(params: dict[str, Any], now: datetime) -> Window:
    """The interval of cumulative statistics from ``minutes``/``start_date``/``end_date``."""
    end: datetime = params.get("end_date") or now
    minutes = params.get("minutes")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int)):
        raise bad_request(f"Minutes must be an integer; got {minutes!r}")
    if minutes is not None and minutes < 1:
        raise bad_request(f"Minutes must be a positive number of minutes; got {minutes}")
    start: datetime | None = params.get("start_date")
    if start is None:
        try:
            start = end - timedelta(minutes=minutes or DEFAULT_MINUTES)
        except OverflowError:
            start = None
    if start is None or start < EPOCH or end < EPOCH:
        raise bad_request("StartDate, EndDate or Minutes reaches back before 1970-01-01T00:00:00Z")
    if start > end:
        raise bad_request("StartDate must not be after EndDate")
    return Window(start, end)


def thresholds(value: Any) -> list[int] | None:
    """``SplitByWaitTime`` ("5,30,60") → [5, 30, 60]; None when not asked for."""
    if value is None:
        return None
    parts = [part.strip() for part in str(value).split(",")]
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        numbers = []
    if not numbers or any(n < 1 for n in numbers) or len(numbers) > MAX_THRESHOLDS:
        raise bad_request(
            f"SplitByWaitTime must be up to {MAX_THRESHOLDS} comma-separated positive "
            f"numbers of seconds, like 5,30,60; got {value!r}"
        )
    return sorted(set(numbers))


def durations(values: Iterable[int]) -> dict[str, int]:
    """``{avg, min, max, total}`` of whole seconds (all 0 when there are none)."""
    seq = list(values)
    if not seq:
        return {"avg": 0, "min": 0, "max": 0, "total": 0}
    total = sum(seq)
    return {"avg": total // len(seq), "min": min(seq), "max": max(seq), "total": total}


def _seconds(event: Event, since: float) -> int:
    return max(0, int(event["event_date_ms"] / 1000 - since))


class Statistics:
    """Computes statistics bodies (records without ``url``) for the service."""

    def __init__(
        self, core: Core, engine: Engine, resources: Resources, store: SqliteStore
    ) -> None:
        self.core = core
        self.state = core.state
        self.engine = engine
        self.resources = resources
        self.store = store

    # helpers ---------------------------------------------------------------------------------
    def channel(self, ws: str, value: Any) -> TaskChannel | None:
        if value is None:
            return None
        found = self.resources.find_task_channel(ws, str(value))
        if found is None:
            raise bad_request(f"TaskChannel {value!r} is not a TaskChannel of this Workspace")
        return cast(TaskChannel, found)

    def _activities(self, ws: str) -> list[Activity]:
        return list(self.state.activities_in(ws).values())

    def _tasks(
        self, ws: str, channel: TaskChannel | None, keep: Callable[[Task], bool]
    ) -> list[Task]:
        return [
            task
            for task in self.state.tasks_in(ws).values()
            if keep(task) and (channel is None or task["task_channel_sid"] == channel["sid"])
        ]

    def _activity_statistics(self, ws: str, workers: Iterable[Worker]) -> list[dict[str, Any]]:
        counts: dict[str, int] = {}
        for worker in workers:
            counts[worker["activity_sid"]] = counts.get(worker["activity_sid"], 0) + 1
        return [
            {
                "sid": a["sid"],
                "friendly_name": a["friendly_name"],
                "workers": counts.get(a["sid"], 0),
            }
            for a in self._activities(ws)
        ]

    def _task_summary(
        self, tasks: list[Task], statuses: tuple[str, ...], now: datetime
    ) -> dict[str, Any]:
        by_status = dict.fromkeys(statuses, 0)
        by_priority: dict[str, int] = {}
        oldest: Task | None = None
        for task in tasks:
            status = task["assignment_status"]
            if status in by_status:
                by_status[status] += 1
            if status in WAITING:
                key = str(task["priority"])
                by_priority[key] = by_priority.get(key, 0) + 1
                if oldest is None or task["date_created"] < oldest["date_created"]:
                    oldest = task
        age = int((now - oldest["date_created"]).total_seconds()) if oldest else 0
        return {
            "tasks_by_status": by_status,
            "tasks_by_priority": by_priority,
            "total_tasks": sum(by_status.values()),
            "longest_task_waiting_age": max(0, age),
            "longest_task_waiting_sid": oldest["sid"] if oldest else None,
        }

    # real time -------------------------------------------------------------------------------
    def workspace_realtime(self, ws: str, channel: TaskChannel | None) -> dict[str, Any]:
        now = self.core.now()
        workers = list(self.state.workers_in(ws).values())
        body = self._task_summary(self._tasks(ws, channel, lambda t: True), ALL_STATUSES, now)
        body.update(
            activity_statistics=self._activity_statistics(ws, workers),
            total_workers=len(workers),
        )
        return body

    def workflow_realtime(
        self, ws: str, workflow: Workflow, channel: TaskChannel | None
    ) -> dict[str, Any]:
        tasks = self._tasks(ws, channel, lambda t: t["workflow_sid"] == workflow["sid"])
        body = self._task_summary(tasks, ALL_STATUSES, self.core.now())
        body["workflow_sid"] = workflow["sid"]
        return body

    def workers_realtime(self, ws: str, workers: list[Worker]) -> dict[str, Any]:
        return {
            "activity_statistics": self._activity_statistics(ws, workers),
            "total_workers": len(workers),
        }

    def queue_realtime(
        self, ws: str, queue: TaskQueue, channel: TaskChannel | None
    ) -> dict[str, Any]:
        now = self.core.now()
        tasks = self._tasks(ws, channel, lambda t: t["task_queue_sid"] == queue["sid"])
        body = self._task_summary(tasks, ACTIVE, now)
        members = self.engine.members(queue)
        workers = [w for w in self.state.workers_in(ws).values() if w["sid"] in members]
        waiting = [
            (entered, t)
            for t in tasks
            if t["assignment_status"] in WAITING and (entered := t["task_queue_entered_date"])
        ]
        longest = min(waiting, key=lambda pair: pair[0], default=None)
        relative = int((now - longest[0]).total_seconds()) if longest else 0
        body.update(
            task_queue_sid=queue["sid"],
            activity_statistics=self._activity_statistics(ws, workers),
            total_eligible_workers=len(workers),
            total_available_workers=sum(1 for w in workers if w["available"]),
            longest_relative_task_age_in_queue=max(0, relative),
            longest_relative_task_sid_in_queue=longest[1]["sid"] if longest else None,
        )
        return body

    # cumulative ------------------------------------------------------------------------------
    def events(self, ws: str, win: Window, channel: TaskChannel | None) -> list[Event]:
        query = EventQuery(
            workspace_sid=ws,
            start_ms=win.start_ms,
            end_ms=win.end_ms,
            task_channel=[channel["unique_name"]] if channel else None,
        )
        return [cast(Event, load_event(stored)) for stored in self.store.query_events(query, 0, -1)]

    def _entered_queue_ms(self, ws: str, task_sid: str, queue_sid: str, before_ms: int) -> int:
        query = EventQuery(
            workspace_sid=ws,
            event_type="task-queue.entered",
            task_sid=task_sid,
            task_queue_sid=queue_sid,
            end_ms=before_ms,
        )
        found = self.store.query_events(query, 0, -1)
        return found[-1].event_date_ms if found else before_ms

    def _counts(self, events: list[Event], names: dict[str, str]) -> dict[str, int]:
        counts = dict.fromkeys(names, 0)
        wanted = {event_type: key for key, event_type in names.items()}
        for event in events:
            key = wanted.get(event["event_type"])
            if key is not None:
                counts[key] += 1
        return counts

    def cumulative(
        self,
        events: list[Event],
        win: Window,
        split: list[int] | None,
        *,
        entered: str,
        queue: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        """Task and Reservation counts and wait durations for the Events of one subject.

        ``entered`` names the count of ``task.created`` / ``task-queue.entered`` /
        ``workflow.entered`` Events (``tasks_created`` / ``tasks_entered``); ``queue`` is
        (workspace, queue SID) for the queue-relative wait duration.
        """
        accepted = [e for e in events if e["event_type"] == "reservation.accepted"]
        canceled = [e for e in events if e["event_type"] == "task.canceled"]
        accepted_waits = [_seconds(e, e["event_data"]["task_date_created"]) for e in accepted]
        canceled_waits = [_seconds(e, e["event_data"]["task_date_created"]) for e in canceled]
        entered_type = {
            "tasks_created": "task.created",
            "tasks_entered": "task-queue.entered" if queue else "workflow.entered",
        }[entered]
        body: dict[str, Any] = {"start_time": win.start, "end_time": win.end}
        body.update(self._counts(events, RESERVATION_COUNTS))
        body.update(self._counts(events, {**TASK_COUNTS, entered: entered_type}))
        body["avg_task_acceptance_time"] = durations(accepted_waits)["avg"]
        body["wait_duration_until_accepted"] = durations(accepted_waits)
        body["wait_duration_until_canceled"] = durations(canceled_waits)
        if queue is not None:
            ws, queue_sid = queue
            relative = [
                _seconds(
                    e,
                    self._entered_queue_ms(
                        ws, e["event_data"]["task_sid"], queue_sid, e["event_date_ms"]
                    )
                    / 1000,
                )
                for e in accepted
            ]
            body["wait_duration_in_queue_until_accepted"] = durations(relative)
        else:
            body["tasks_timed_out_in_workflow"] = sum(
                1 for e in events if e["event_type"] == "workflow.timeout"
            )
        body["split_by_wait_time"] = (
            None if split is None else _split(split, accepted_waits, canceled_waits)
        )
        return body

    def workers_cumulative(
        self, ws: str, events: list[Event], win: Window, worker_sids: set[str]
    ) -> dict[str, Any]:
        mine = [e for e in events if e["event_data"].get("worker_sid") in worker_sids]
        stays: dict[str, list[int]] = {}
        for event in mine:
            if event["event_type"] != "worker.activity.update":
                continue
            data = event["event_data"]
            seconds = int(data.get("worker_time_in_previous_activity") or 0)
            stays.setdefault(data.get("worker_previous_activity_sid") or "", []).append(seconds)
        activity_durations = [
            {
                "sid": a["sid"],
                "friendly_name": a["friendly_name"],
                **durations(stays.get(a["sid"], [])),
            }
            for a in self._activities(ws)
        ]
        body: dict[str, Any] = {"start_time": win.start, "end_time": win.end}
        body["activity_durations"] = activity_durations
        body.update(self._counts(mine, RESERVATION_COUNTS))
        return body


def _split(limits: list[int], accepted: list[int], canceled: list[int]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for limit in limits:
        result[str(limit)] = {
            side: {
                "reservations_accepted": sum(1 for w in accepted if (w < limit) == below),
                "tasks_canceled": sum(1 for w in canceled if (w < limit) == below),
            }
            for side, below in (("below", True), ("above", False))
        }
    return result


@dataclass(frozen=True)
class Subjects:
    """What the service selected for a target: Workers (filters applied) and TaskQueues
    (the service's untyped records; :meth:`Answers.answer` reads them as typed)."""

    workers: list[Record]
    queues: list[Record]


def strip(body: dict[str, Any]) -> dict[str, Any]:
    """A real-time or cumulative body as nested in a ``Statistics`` answer."""
    return {k: v for k, v in body.items() if k not in ("account_sid", "workspace_sid")}


class Answers(Statistics):
    """Whole answers per target (``workspace.realtime``, ``task_queues.statistics`` …)."""

    def answer(
        self, target: str, ws: str, sid: str | None, params: dict[str, Any], subjects: Subjects
    ) -> dict[str, Any] | list[dict[str, Any]]:
        subject, view = target.split(".", 1)
        workers = cast("list[Worker]", subjects.workers)
        queues = cast("list[TaskQueue]", subjects.queues)
        channel = self.channel(ws, params.get("task_channel"))
        base: dict[str, Any] = {"account_sid": self.core.account_sid, "workspace_sid": ws}
        if target == "task_queues.realtime":
            data = [self.queue_realtime(ws, q, channel) for q in queues]
            return {**base, "task_queue_data": data, "task_queue_response_count": len(data)}
        win = window(params, self.core.now())
        split = thresholds(params.get("split_by_wait_time"))
        events = self.events(ws, win, channel) if view != "realtime" else []
        if subject == "task_queues":
            return [
                {
                    **base,
                    "task_queue_sid": q["sid"],
                    "realtime": strip(self.queue_realtime(ws, q, channel)),
                    "cumulative": strip(self._queue_cumulative(ws, q, events, win, split)),
                }
                for q in queues
            ]
        parts: dict[str, Callable[[], dict[str, Any]]]
        if subject == "workspace":
            parts = {
                "realtime": lambda: self.workspace_realtime(ws, channel),
                "cumulative": lambda: self.cumulative(events, win, split, entered="tasks_created"),
            }
            key: dict[str, Any] = {}
        elif subject == "task_queue":
            queue = self.core.child("task_queue", ws, str(sid))
            parts = {
                "realtime": lambda: self.queue_realtime(ws, queue, channel),
                "cumulative": lambda: self._queue_cumulative(ws, queue, events, win, split),
            }
            key = {"task_queue_sid": queue["sid"]}
        elif subject == "workflow":
            flow = self.core.child("workflow", ws, str(sid))
            mine = [e for e in events if e["event_data"].get("workflow_sid") == flow["sid"]]
            parts = {
                "realtime": lambda: self.workflow_realtime(ws, flow, channel),
                "cumulative": lambda: self.cumulative(mine, win, split, entered="tasks_entered"),
            }
            key = {"workflow_sid": flow["sid"]}
        elif subject == "workers":
            sids = {w["sid"] for w in workers}
            parts = {
                "realtime": lambda: self.workers_realtime(ws, workers),
                "cumulative": lambda: self.workers_cumulative(ws, events, win, sids),
            }
            key = {}
        elif subject == "worker":
            worker = self.core.child("worker", ws, str(sid))
            cumulative = self.workers_cumulative(ws, events, win, {worker["sid"]})
            return {**base, "worker_sid": worker["sid"], "cumulative": cumulative}
        else:
            raise bad_request(f"unknown statistics target {target!r}")
        if view == "statistics":
            return {**base, **key, **{name: strip(make()) for name, make in parts.items()}}
        return {**base, **key, **parts[view]()}

    def _queue_cumulative(
        self,
        ws: str,
        queue: TaskQueue,
        events: list[Event],
        win: Window,
        split: list[int] | None,
    ) -> dict[str, Any]:
        mine = [e for e in events if e["event_data"].get("task_queue_sid") == queue["sid"]]
        body = self.cumulative(mine, win, split, entered="tasks_entered", queue=(ws, queue["sid"]))
        body["task_queue_sid"] = queue["sid"]
        return body
