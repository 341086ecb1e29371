"""The three lifecycles of the sandbox -- task, reservation, worker activity -- as transitions.

Each transition owns its status table, timestamps and Events, and returns the routing it makes
due (a list of :class:`RoutingJob`); it never routes. The engine enqueues what they return, and
the service runs it after the write's answer.

Task ``AssignmentStatus`` (TaskRouter docs, "Task lifecycle"): pending → reserved → assigned →
wrapping → completed, and canceled from pending or reserved (:data:`TASK_MOVES` are the moves a
client may ask for). Reservation ``ReservationStatus``: pending → accepted | rejected | timeout |
canceled | rescinded; accepted → wrapping → completed.

A single-tasking worker moves to its queue's reservation activity when reserved and to its
assignment activity once accepted (after the answer); a reject without ``WorkerActivitySid`` and
a cancel or rescind restore the activity it had before; a timeout moves it to the workspace's
timeout activity.
"""

from __future__ import annotations

from typing import Protocol, cast

from .core import Core
from .dispatch import DeliveryRequest
from .events import task_fields, worker_fields
from .records import Activity, Reservation, Task, TaskQueue, Worker, WorkerChannel, Workflow
from .sids import new_sid
from .state import RoutingJob

Due = list[RoutingJob]
"""Routing a transition made due, in the order it is to run."""

TASK_MOVES = {
    "canceled": ("pending", "reserved"),
    "wrapping": ("assigned",),
    "completed": ("assigned", "wrapping"),
}
"""AssignmentStatus a client may set → the statuses it may be set from."""

OPEN_TASK = ("pending", "reserved")
FINISHED_TASK = ("completed", "canceled")
HOLDING = ("accepted", "wrapping")
"""Reservation statuses that hold the worker's capacity."""

DEFAULT_RESERVATION_TIMEOUT = 120


class WaitingLists(Protocol):
    """What the transitions need from the engine's queues of waiting tasks and its timers."""

    def dequeue(self, task: Task) -> None: ...

    def sync_waiting(self, task: Task) -> None: ...

    def schedule(self, when: float | None, kind: str, sid: str) -> None: ...


def worker_job(worker: Worker) -> RoutingJob:
    return RoutingJob("worker", worker["sid"])


def refresh_channel(channel: WorkerChannel) -> None:
    capacity = channel["configured_capacity"]
    free = max(0, capacity - channel["assigned_tasks"])
    channel["available_capacity_percentage"] = int(free * 100 / capacity) if capacity else 0


class Lifecycles:
    def __init__(self, core: Core, waiting: WaitingLists) -> None:
        self.core = core
        self.state = core.state
        self.waiting = waiting

    # lookups ---------------------------------------------------------------------------------
    def _task(self, sid: str) -> Task | None:
        return cast("Task | None", self.state.get("task", sid))

    def _worker(self, sid: str) -> Worker | None:
        return cast("Worker | None", self.state.get("worker", sid))

    def _activity(self, sid: str) -> Activity | None:
        return cast("Activity | None", self.state.get("activity", sid))

    def _queue(self, sid: str | None) -> TaskQueue | None:
        return cast("TaskQueue | None", self.state.get("task_queue", sid or ""))

    def _channel(self, worker_sid: str, channel_sid: str) -> WorkerChannel | None:
        channels = self.state.channels_by_worker.get(worker_sid, {})
        return cast("WorkerChannel | None", channels.get(channel_sid))

    def reservations_of(self, task: Task) -> list[Reservation]:
        return cast("list[Reservation]", self.state.reservations_of_task(task["sid"]))

    def pending_reservations(self, task: Task) -> list[Reservation]:
        return [r for r in self.reservations_of(task) if r["reservation_status"] == "pending"]

    def _multi(self, workspace_sid: str) -> bool:
        return bool(self.core.workspace(workspace_sid)["multi_task_enabled"])

    # reservations ----------------------------------------------------------------------------
    def reserve(
        self, task: Task, worker: Worker, queue: TaskQueue | None
    ) -> tuple[Reservation, Due]:
        """A new pending reservation of ``worker`` for ``task`` (the task becomes reserved)."""
        core = self.core
        stamp = core.stamp()
        workflow = cast("Workflow | None", self.state.get("workflow", task["workflow_sid"] or ""))
        timeout = workflow["task_reservation_timeout"] if workflow else DEFAULT_RESERVATION_TIMEOUT
        deadline = core.now().timestamp() + timeout
        res: Reservation = {
            "account_sid": core.account_sid,
            "date_created": stamp,
            "date_updated": stamp,
            "reservation_status": "pending",
            "sid": new_sid("WR"),
            "task_sid": task["sid"],
            "worker_name": worker["friendly_name"],
            "worker_sid": worker["sid"],
            "workspace_sid": task["workspace_sid"],
            "_queue_sid": queue["sid"] if queue else None,
            "_workflow_sid": task["workflow_sid"],
            "_channel_sid": task["task_channel_sid"],
            "_deadline": deadline,
            "_previous_activity_sid": None,
            "_seq": self.state.next_seq(),
        }
        self.state.add("reservation", res)
        self.waiting.schedule(deadline, "reservation", res["sid"])
        task["assignment_status"] = "reserved"
        task["date_updated"] = stamp
        task["_assignments"] = task.get("_assignments", 0) + 1
        self.state.touch("task", task)
        self._hold(worker, res, +1)
        self._emit_reservation(res, task, worker, "reservation.created", "created")
        due: Due = []
        if (
            not self._multi(task["workspace_sid"])
            and queue is not None
            and queue["reservation_activity_sid"]
            and queue["reservation_activity_sid"] != worker["activity_sid"]
        ):
            res["_previous_activity_sid"] = worker["activity_sid"]
            due += self.set_activity(worker, queue["reservation_activity_sid"], route=False)
        if workflow is not None and workflow["assignment_callback_url"]:
            core.outbox.append(self._assignment_request(res, task, worker, workflow))
        return res, due

    def _assignment_request(
        self, res: Reservation, task: Task, worker: Worker, workflow: Workflow
    ) -> DeliveryRequest:
        now = self.core.now()
        params = [
            ("Timestamp", str(int(now.timestamp()))),
            ("AccountSid", self.core.account_sid),
            ("WorkspaceSid", task["workspace_sid"]),
            ("WorkflowSid", workflow["sid"]),
            ("TaskQueueSid", task["task_queue_sid"] or ""),
            ("WorkerSid", worker["sid"]),
            ("WorkerAttributes", worker["attributes"]),
            ("TaskSid", task["sid"]),
            ("TaskAttributes", task["attributes"]),
            ("TaskAge", str(int((now - task["date_created"]).total_seconds()))),
            ("TaskPriority", str(task["priority"])),
            ("ReservationSid", res["sid"]),
        ]
        return DeliveryRequest(
            kind="assignment",
            url=workflow["assignment_callback_url"] or "",
            fallback_url=workflow["fallback_assignment_callback_url"],
            params=params,
            timeout=self.core.options.assignment_callback_timeout,
            reservation_sid=res["sid"],
            workspace_sid=task["workspace_sid"],
        )

    def _hold(self, worker: Worker, res: Reservation, delta: int) -> None:
        """Count a pending reservation against the worker (and its channel)."""
        worker["_open"] = max(0, worker["_open"] + delta)
        self.state.touch("worker", worker)
        channel = self._channel(worker["sid"], res["_channel_sid"])
        if channel is not None:
            channel["_reserved"] = max(0, channel["_reserved"] + delta)
            self.state.touch("worker_channel", channel)

    def _assign_channel(self, res: Reservation, delta: int) -> None:
        channel = self._channel(res["worker_sid"], res["_channel_sid"])
        if channel is not None:
            channel["assigned_tasks"] = max(0, channel["assigned_tasks"] + delta)
            refresh_channel(channel)
            self.state.touch("worker_channel", channel)

    def assignment_activity(self, res: Reservation) -> Due:
        """An accepted reservation moves a single-tasking worker to its queue's assignment
        activity (routing work: it runs after the answer to the accept)."""
        if res["reservation_status"] not in HOLDING:
            return []
        worker = self._worker(res["worker_sid"])
        queue = self._queue(res["_queue_sid"])
        if (
            worker is not None
            and queue is not None
            and queue["assignment_activity_sid"]
            and self._activity(queue["assignment_activity_sid"]) is not None
            and not self._multi(res["workspace_sid"])
        ):
            return self.set_activity(worker, queue["assignment_activity_sid"], route=False)
        return []

    def _close(self, res: Reservation, status: str, event_type: str, verb: str) -> Worker | None:
        """End a pending reservation; returns its worker (if it still exists)."""
        res["reservation_status"] = status
        res["date_updated"] = self.core.stamp()
        self.state.touch("reservation", res)
        worker = self._worker(res["worker_sid"])
        task = self._task(res["task_sid"])
        if worker is not None:
            self._hold(worker, res, -1)
        if task is not None and worker is not None:
            self._emit_reservation(res, task, worker, event_type, verb)
        return worker

    def _restore(self, worker: Worker | None, res: Reservation) -> Due:
        previous = res["_previous_activity_sid"]
        if worker is not None and previous and self._activity(previous):
            return self.set_activity(worker, previous, route=False)
        return []

    def accept(self, res: Reservation) -> Due:
        task = self._task(res["task_sid"])
        worker = self._worker(res["worker_sid"])
        assert task is not None and worker is not None
        res["reservation_status"] = "accepted"
        res["date_updated"] = self.core.stamp()
        self.state.touch("reservation", res)
        channel = self._channel(worker["sid"], res["_channel_sid"])
        if channel is not None:
            channel["_reserved"] = max(0, channel["_reserved"] - 1)
        self._assign_channel(res, +1)
        task["assignment_status"] = "assigned"
        task["date_updated"] = self.core.stamp()
        self.state.touch("task", task)
        self.waiting.dequeue(task)
        self._emit_reservation(res, task, worker, "reservation.accepted", "accepted")
        due: Due = []
        released: list[Worker] = []
        for other in self.pending_reservations(task):
            other_worker = self._close(other, "rescinded", "reservation.rescinded", "rescinded")
            due += self._restore(other_worker, other)
            if other_worker is not None:
                released.append(other_worker)
        due.append(RoutingJob("assigned", res["sid"]))
        return due + [worker_job(w) for w in released]

    def reject(self, res: Reservation, activity_sid: str | None, *, restore: bool = True) -> Due:
        worker = self._close(res, "rejected", "reservation.rejected", "rejected")
        due: Due = []
        if worker is not None:
            if activity_sid:
                due += self.set_activity(worker, activity_sid, route=False)
            elif restore:
                due += self._restore(worker, res)
        due += self._released(res)
        return due + ([worker_job(worker)] if worker is not None else [])

    def timeout(self, res: Reservation) -> Due:
        worker = self._close(res, "timeout", "reservation.timeout", "timed out")
        due: Due = []
        if worker is not None:
            timeout_activity = self.core.workspace(worker["workspace_sid"])["timeout_activity_sid"]
            if timeout_activity:
                due += self.set_activity(worker, timeout_activity, route=False)
        due += self._released(res)
        return due + ([worker_job(worker)] if worker is not None else [])

    def cancel_reservation(self, res: Reservation) -> Due:
        """The assignment callback and its fallback could not be reached (§4.4)."""
        worker = self._close(res, "canceled", "reservation.canceled", "canceled")
        due = self._restore(worker, res)
        due += self._released(res)
        return due + ([worker_job(worker)] if worker is not None else [])

    def _released(self, res: Reservation) -> Due:
        task = self._task(res["task_sid"])
        if task is None or task["assignment_status"] != "reserved":
            return []
        if self.pending_reservations(task):
            self.waiting.sync_waiting(task)
            return [RoutingJob("offer", task["sid"])]
        task["assignment_status"] = "pending"
        task["date_updated"] = self.core.stamp()
        self.state.touch("task", task)
        if task.get("_assignments", 0) >= self.core.options.max_assignment_count:
            return self.cancel_task(task, "Max assignment count exceeded")
        return [RoutingJob("task", task["sid"])]

    # tasks -----------------------------------------------------------------------------------
    def cancel_task(self, task: Task, reason: str) -> Due:
        self.waiting.dequeue(task)
        due: Due = []
        released: list[Worker] = []
        for res in self.pending_reservations(task):
            worker = self._close(res, "canceled", "reservation.canceled", "canceled")
            due += self._restore(worker, res)
            if worker is not None:
                released.append(worker)
        task["assignment_status"] = "canceled"
        task["reason"] = reason
        task["date_updated"] = self.core.stamp()
        task["_target_deadline"] = None
        self.state.touch("task", task)
        self.emit_task(task, "task.canceled", "canceled")
        self._finished(task)
        return due + [worker_job(w) for w in released]

    def finish_task(self, task: Task, status: str, reason: str | None) -> Due:
        """``wrapping`` or ``completed`` for an assigned (or wrapping) task."""
        res = next(
            (r for r in self.reservations_of(task) if r["reservation_status"] in HOLDING), None
        )
        stamp = self.core.stamp()
        task["assignment_status"] = status
        if reason is not None:
            task["reason"] = reason
        task["date_updated"] = stamp
        self.state.touch("task", task)
        worker = self._worker(res["worker_sid"]) if res else None
        if status == "wrapping":
            if res is not None and worker is not None:
                res["reservation_status"] = "wrapping"
                res["date_updated"] = stamp
                self.state.touch("reservation", res)
                self._emit_reservation(res, task, worker, "reservation.wrapup", "wrapping up")
            self.emit_task(task, "task.wrapup", "wrapping up")
            return []
        if res is not None:
            res["reservation_status"] = "completed"
            res["date_updated"] = stamp
            self.state.touch("reservation", res)
            self._assign_channel(res, -1)
            if worker is not None:
                worker["_open"] = max(0, worker["_open"] - 1)
                self.state.touch("worker", worker)
                self._emit_reservation(res, task, worker, "reservation.completed", "completed")
        self.emit_task(task, "task.completed", "completed")
        self._finished(task)
        return [worker_job(worker)] if worker is not None else []

    def _finished(self, task: Task) -> None:
        """A completed or canceled task is deleted ``finished_task_seconds`` later, as live
        TaskRouter deletes them (UpdateTask ``Reason``: "queues the task for deletion"); its
        Events stay. ``keep_finished`` keeps them for inspection."""
        options = self.core.options
        if options.keep_finished:
            return
        when = self.core.now().timestamp() + options.finished_task_seconds
        task["_purge_at"] = when
        self.waiting.schedule(when, "purge", task["sid"])

    def purge(self, task: Task) -> None:
        """Delete a finished task and its reservations (no Event: statistics stay as they were)."""
        for res in self.reservations_of(task):
            self.state.remove("reservation", res)
        self.state.remove("task", task)
        self.core.forget(task["sid"])

    def release_assigned(self, task: Task) -> None:
        """A task that holds a worker is deleted: free the worker's capacity."""
        for res in self.reservations_of(task):
            if res["reservation_status"] in HOLDING:
                self._assign_channel(res, -1)
                worker = self._worker(res["worker_sid"])
                if worker is not None:
                    worker["_open"] = max(0, worker["_open"] - 1)
                    self.state.touch("worker", worker)

    # worker activity -------------------------------------------------------------------------
    def set_activity(self, worker: Worker, activity_sid: str, *, route: bool = True) -> Due:
        """Move the worker to an activity (Event ``worker.activity.update``); with ``route``, an
        available worker is routed afterwards."""
        activity = self._activity(activity_sid)
        assert activity is not None
        previous_sid = worker["activity_sid"]
        now = self.core.now()
        if previous_sid != activity_sid:
            previous = self._activity(previous_sid)
            since = worker["date_status_changed"]
            worker["activity_sid"] = activity_sid
            worker["activity_name"] = activity["friendly_name"]
            worker["available"] = activity["available"]
            worker["date_status_changed"] = now.replace(microsecond=0)
            worker["date_updated"] = now.replace(microsecond=0)
            worker["_idle_ts"] = now.timestamp()
            self.state.touch("worker", worker)
            seconds = max(0.0, (now - since).total_seconds()) if since else 0.0
            data = worker_fields(worker)
            data.update(
                worker_previous_activity_sid=previous_sid,
                worker_previous_activity_name=previous["friendly_name"] if previous else None,
                worker_time_in_previous_activity=str(int(seconds)),
                worker_time_in_previous_activity_ms=str(int(seconds * 1000)),
            )
            self.core.emit(
                self.core.workspace(worker["workspace_sid"]),
                "worker.activity.update",
                "worker",
                worker["sid"],
                f"Worker {worker['friendly_name']} updated to {activity['friendly_name']} Activity",
                data,
            )
        return [worker_job(worker)] if route and worker["available"] else []

    # events ----------------------------------------------------------------------------------
    def emit_task(self, task: Task, event_type: str, verb: str) -> None:
        self.core.emit(
            self.core.workspace(task["workspace_sid"]),
            event_type,
            "task",
            task["sid"],
            f"Task {task['sid']} {verb}",
            task_fields(task, self.core.now()),
        )

    def _emit_reservation(
        self, res: Reservation, task: Task, worker: Worker, event_type: str, verb: str
    ) -> None:
        data = task_fields(task, self.core.now())
        data.update(worker_fields(worker))
        data["reservation_sid"] = res["sid"]
        if res["_queue_sid"]:
            data["task_queue_sid"] = res["_queue_sid"]
        self.core.emit(
            self.core.workspace(task["workspace_sid"]),
            event_type,
            "reservation",
            res["sid"],
            f"Reservation {res['sid']} {verb} for Worker {worker['sid']}",
            data,
        )
