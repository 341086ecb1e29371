"""The routing engine: queues of waiting tasks, worker eligibility, reservations, timers (§3, §5).

Routing is incremental: only the task or worker that changed is routed, so the cost of a routing
pass does not grow with the number of pending tasks.

* Every queue keeps its waiting tasks in a sorted list keyed by (priority desc, virtual start
  time, sequence) for FIFO queues, and by (virtual start time desc, sequence desc) for LIFO
  queues, which ignore priority.
* Writes do not route: they queue :class:`RoutingJob`s (``route_task``, ``offer``,
  ``route_worker``, ``queue_changed``, the assignment activity) that the service runs with
  :meth:`run_job` right after the write's answer.
* Completed and canceled tasks are deleted ``finished_task_seconds`` later (a ``purge`` timer).
* A task is routed when it is created or updated, when its reservations all ended without an
  acceptance (reject, timeout, cancel: the workflow is evaluated again), when a target timeout
  fires, and when its workflow is updated with ``ReEvaluateTasks``. Workflow evaluation is
  :meth:`WorkflowConfiguration.target_for_age` (target timeouts measured on the task's age).
* A worker is routed when it becomes available, its attributes change, capacity is freed, or a
  queue's ``target_workers`` changes: it walks the waiting lists of the queues it belongs to (in
  order) and takes the first task it may serve.
* Eligibility: an available activity AND (multi-tasking) an available channel with capacity left
  (pending reservations count against capacity) or (single-tasking) no open reservation.
* Worker choice: the longest idle (``date_status_changed``, ties by ``date_created``), then the
  target's ``order_by`` (a stable sort, so idle time breaks its ties).
* Single-tasking: a reservation moves the worker to the queue's reservation activity, an
  acceptance to its assignment activity; a reject without ``WorkerActivitySid`` and a
  cancel/rescind restore the activity the worker had before the reservation; a timeout moves the
  worker to the workspace's timeout activity.
* Across queues a worker takes the highest-priority task; on equal priority tasks of queues whose
  ``task_order`` equals the workspace's ``prioritize_queue_order`` come first, then the oldest.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, cast

from taskrouter_cli.routing.expressions import ExpressionError, parse_expression
from taskrouter_cli.routing.time_of_day import with_time_of_day
from taskrouter_cli.routing.workflow import (
    Target,
    TargetStep,
    WorkflowConfigError,
    WorkflowConfiguration,
    WorkflowTimeout,
    order_workers,
    parse_workflow_configuration,
)

from .core import Core
from .lifecycle import FINISHED_TASK, OPEN_TASK, Due, Lifecycles
from .records import Reservation, Task, TaskQueue, Worker, Workflow, Workspace
from .state import Record, RoutingJob

QueueKey = tuple[float, float, float]
Entry = tuple[float, float, float, str, str]
"""A waiting task in its queue's sorted list: its :data:`QueueKey`, its SID and the queue's SID
(one tuple per waiting task, also found by SID in ``Engine._entries``)."""


class Engine:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.state = core.state
        self.waiting: dict[str, list[Entry]] = {}
        self._entries: dict[str, Entry] = {}
        self.direct: dict[str, list[str]] = {}
        self._members: dict[str, set[str]] = {}
        self._timers: list[tuple[float, int, str, str]] = []
        self._timer_seq = itertools.count()
        self._configs: dict[str, tuple[str, WorkflowConfiguration]] = {}
        self.life = Lifecycles(core, self)

    # (re)building ----------------------------------------------------------------------------
    def rebuild(self) -> None:
        """Recreate queues, caches and timers from the records (after loading the store)."""
        self.waiting.clear()
        self._entries.clear()
        self.direct.clear()
        self._members.clear()
        self._timers.clear()
        self._configs.clear()
        for record in self.state.tasks.scan():  # one pass, none kept
            task = cast(Task, record)
            if task["assignment_status"] in OPEN_TASK:
                self.schedule(task.get("_ttl_deadline"), "ttl", task["sid"])
                self.schedule(task.get("_target_deadline"), "target", task["sid"])
                if task.get("_waiting"):
                    self._place(task)  # already marked waiting: nothing to write
            elif task["assignment_status"] in FINISHED_TASK:
                self.schedule(task.get("_purge_at"), "purge", task["sid"])
        for res in self.state.records["reservation"].values():
            if res["reservation_status"] == "pending":
                self.schedule(res.get("_deadline"), "reservation", res["sid"])

    # helpers ---------------------------------------------------------------------------------
    def _task(self, sid: str) -> Task:
        return cast(Task, self.state.records["task"][sid])

    def _worker(self, sid: str) -> Worker:
        return cast(Worker, self.state.records["worker"][sid])

    def now_ts(self) -> float:
        return self.core.now().timestamp()

    def multi(self, workspace_sid: str) -> bool:
        return bool(self.core.workspace(workspace_sid)["multi_task_enabled"])

    def config(self, workflow: Workflow) -> WorkflowConfiguration | None:
        text = workflow["configuration"]
        cached = self._configs.get(workflow["sid"])
        if cached is not None and cached[0] is text:
            return cached[1]
        try:
            cfg = parse_workflow_configuration(text)
        except WorkflowConfigError:
            return None
        self._configs[workflow["sid"]] = (text, cfg)
        return cfg

    def worker_view(self, worker: Worker | Record) -> dict[str, Any]:
        """Worker attributes plus the fields target expressions may use."""
        view = dict(self.core.attrs(worker))
        view.update(
            sid=worker["sid"],
            friendly_name=worker["friendly_name"],
            activity_sid=worker["activity_sid"],
            activity_name=worker["activity_name"],
        )
        return view

    def task_context(self, task: Task) -> Mapping[str, Any]:
        """The task's attributes with the documented ``taskrouter.*`` time-of-day keys, on the
        sandbox's clock (Twilio docs: "Time of Day Routing for TaskRouter")."""
        return with_time_of_day(self.core.attrs(task), self.core.now())

    def target_context(self, task_attrs: Mapping[str, Any], worker: Worker) -> Mapping[str, Any]:
        """What a target ``expression`` is evaluated against: ``task.*``, ``worker.*`` and the
        time-of-day keys."""
        now = self.core.now()
        return with_time_of_day(
            {"task": with_time_of_day(task_attrs, now), "worker": self.worker_view(worker)}, now
        )

    def queue_matches(self, queue: TaskQueue, worker: Worker) -> bool:
        text = queue.get("target_workers")
        if text is None:
            text = "1==1"
        if not text.strip():
            return False
        try:
            return parse_expression(text).evaluate(self.core.attrs(worker))
        except ExpressionError:
            return False

    def members(self, typed: TaskQueue | Record) -> set[str]:
        queue = cast(TaskQueue, typed)
        found = self._members.get(queue["sid"])
        if found is None:
            found = {
                worker["sid"]
                for worker in self.state.workers_in(queue["workspace_sid"]).values()
                if self.queue_matches(queue, worker)
            }
            self._members[queue["sid"]] = found
        return found

    def current_target(self, typed: Task | Record) -> Target | None:
        task = cast(Task, typed)
        step = task.get("_step")
        workflow = self.state.workflow(task.get("workflow_sid") or "")
        if step is None or workflow is None:
            return None
        cfg = self.config(workflow)
        if cfg is None:
            return None
        filter_index, target_index = step
        try:
            if filter_index is None:
                return cfg.default_filter
            return cfg.filters[filter_index].targets[target_index or 0]
        except IndexError:
            return None

    def pending_reservations(self, task: Task | Record) -> list[Reservation]:
        return [
            res
            for res in self.state.task_reservations(task["sid"])
            if res["reservation_status"] == "pending"
        ]

    # routing after the write ----------------------------------------------------------------
    # A write changes only what it answers; the routing it makes due is queued (durably, in the
    # write's transaction) and run by :meth:`run_jobs` right after the answer, in order.
    def route_task(self, task: Task | Record) -> None:
        """Evaluate the task's workflow and reserve workers for it (after the answer)."""
        self.state.add_job(RoutingJob("task", task["sid"]))

    def offer(self, task: Task | Record) -> None:
        """Offer the task to the workers free now (after the answer)."""
        self.state.add_job(RoutingJob("offer", task["sid"]))

    def route_worker(self, worker: Worker | Record) -> None:
        """Give the worker the best waiting tasks it may serve (after the answer)."""
        self.state.add_job(RoutingJob("worker", worker["sid"]))

    def queue_changed(self, queue: TaskQueue | Record) -> None:
        """target_workers / task_order / max_reserved_workers changed (after the answer)."""
        self.state.add_job(RoutingJob("queue", queue["sid"]))

    def run_job(self, job: RoutingJob) -> None:
        if job.action == "worker":
            worker = self.state.worker(job.sid)
            if worker is not None:
                self._route_worker(worker)
        elif job.action in ("task", "offer"):
            task = self.state.task(job.sid)
            if task is not None:
                (self._route_task if job.action == "task" else self._offer)(task)
        elif job.action == "queue":
            queue = self.state.task_queue(job.sid)
            if queue is not None:
                self._queue_changed(queue)
        elif job.action == "assigned":
            res = self.state.reservation(job.sid)
            if res is not None:
                self._due(self.life.assignment_activity(res))

    # timers ----------------------------------------------------------------------------------
    def schedule(self, when: float | None, kind: str, sid: str) -> None:
        if when is not None:
            heapq.heappush(self._timers, (when, next(self._timer_seq), kind, sid))

    def _timer_valid(self, when: float, kind: str, sid: str) -> bool:
        if kind == "reservation":
            res = self.state.get("reservation", sid)
            return bool(res and res["reservation_status"] == "pending" and res["_deadline"] == when)
        task = self.state.get("task", sid)
        if kind == "purge":
            return bool(
                task is not None
                and task["assignment_status"] in FINISHED_TASK
                and task.get("_purge_at") == when
            )
        if task is None or task["assignment_status"] not in OPEN_TASK:
            return False
        if kind == "ttl":
            return bool(task.get("_ttl_deadline") == when)
        return bool(task.get("_target_deadline") == when)

    def schedule_ttl(self, task: Task | Record) -> None:
        """Start the task's TTL timer (``_ttl_deadline``)."""
        self.schedule(task["_ttl_deadline"], "ttl", task["sid"])

    def next_deadline(self) -> datetime | None:
        while self._timers:
            when, _, kind, sid = self._timers[0]
            if self._timer_valid(when, kind, sid):
                return datetime.fromtimestamp(when, timezone.utc)
            heapq.heappop(self._timers)
        return None

    def run_due(self) -> int:
        """Run every timer that is due; returns how many fired."""
        fired = 0
        now = self.now_ts()
        while self._timers and self._timers[0][0] <= now:
            when, _, kind, sid = heapq.heappop(self._timers)
            if not self._timer_valid(when, kind, sid):
                continue
            fired += 1
            if kind == "reservation":
                self.timeout(self.state.records["reservation"][sid])
            elif kind == "ttl":
                self.cancel_task(self.state.records["task"][sid], "Task TTL Exceeded")
            elif kind == "purge":
                self.purge(self.state.records["task"][sid])
            else:
                task = self._task(sid)
                if task["assignment_status"] == "pending":
                    self._emit_task(task, "task-queue.timeout", "timed out of TaskQueue")
                    self.route_task(task)
        return fired

    # queues of waiting tasks -------------------------------------------------------------------
    def _key(self, task: Task, queue: TaskQueue | None) -> QueueKey:
        start = task["virtual_start_time"].timestamp()
        if queue is not None and queue.get("task_order") == "LIFO":
            # "Unlike FIFO ordering, LIFO ordering does not consider the Task priority"
            # (Twilio docs, TaskRouter queue ordering: Last In First Out)
            return (0, -start, -task["_seq"])
        return (-task["priority"], start, task["_seq"])

    def _place(self, task: Task) -> bool:
        """Put the task in its waiting list (its worker's, or its queue's); False if none."""
        target = task.get("routing_target") or ""
        if target.startswith("WK"):
            self.direct.setdefault(target, []).append(task["sid"])
        elif (queue_sid := task.get("task_queue_sid")) is not None:
            entry = (*self._key(task, self.state.task_queue(queue_sid)), task["sid"], queue_sid)
            bisect.insort(self.waiting.setdefault(queue_sid, []), entry)
            self._entries[task["sid"]] = entry
        else:
            return False
        return True

    def _enqueue(self, task: Task) -> None:
        self.dequeue(task)
        if not self._place(task):
            return
        if not task.get("_waiting"):
            task["_waiting"] = True
            self.state.touch("task", task)

    def dequeue(self, typed: Task | Record) -> None:
        task = cast(Task, typed)
        entry = self._entries.pop(task["sid"], None)
        if entry is not None:
            items = self.waiting.get(entry[4], [])
            index = bisect.bisect_left(items, entry)
            if index < len(items) and items[index][3] == task["sid"]:
                del items[index]
        target = task.get("routing_target") or ""
        if target.startswith("WK") and task["sid"] in self.direct.get(target, []):
            self.direct[target].remove(task["sid"])
        if task.get("_waiting"):
            task["_waiting"] = False
            self.state.touch("task", task)

    def reorder(self, typed: Task | Record) -> None:
        task = cast(Task, typed)
        """Priority or virtual start time changed: move the task to its new place."""
        if task["sid"] in self._entries:
            self._enqueue(task)

    def _needs_workers(self, task: Task) -> bool:
        if task["assignment_status"] not in OPEN_TASK:
            return False
        if task.get("routing_target", "") and str(task["routing_target"]).startswith("WK"):
            return not self.pending_reservations(task)
        queue = self.state.task_queue(task.get("task_queue_sid") or "")
        if queue is None:
            return False
        return len(self.pending_reservations(task)) < queue["max_reserved_workers"]

    def sync_waiting(self, typed: Task | Record) -> None:
        task = cast(Task, typed)
        if self._needs_workers(task):
            if task["sid"] not in self._entries and not task.get("_waiting"):
                self._enqueue(task)
        else:
            self.dequeue(task)

    # routing a task --------------------------------------------------------------------------
    def _route_task(self, task: Task) -> None:
        """Evaluate where a pending task belongs and try to reserve workers for it."""
        if task["assignment_status"] != "pending":
            return
        self.dequeue(task)
        target = task.get("routing_target") or ""
        if target.startswith("WK") or task.get("_fixed_queue"):
            fixed = task.get("_fixed_queue")
            if fixed and task.get("task_queue_sid") != fixed:
                queue = self.state.task_queue(fixed)
                if queue is not None:
                    self._enter_queue(task, queue)
            self._enqueue(task)
            self._offer(task)
            return
        workflow = self.state.workflow(task.get("workflow_sid") or "")
        cfg = self.config(workflow) if workflow is not None else None
        if cfg is None:
            return
        age = self.now_ts() - task["_created_ts"]
        decision = cfg.target_for_age(
            self.task_context(task), age, skip=lambda step: self._skip(task, step)
        )
        for filter_index, target_index in getattr(decision, "skipped", ()):
            targets = cfg.filters[filter_index].targets
            if target_index == len(targets) - 1:
                self._emit_task(task, "workflow.skipped", "skipped the last workflow step")
        if isinstance(decision, TargetStep):
            queue = self.state.task_queue(decision.queue)
            if queue is None:
                return
            if decision.priority is not None and decision.priority != task["priority"]:
                task["priority"] = decision.priority
            task["_step"] = [decision.filter_index, decision.target_index]
            deadline = (
                task["_created_ts"] + decision.expires_at_age
                if decision.expires_at_age is not None
                else None
            )
            task["_target_deadline"] = deadline
            self.schedule(deadline, "target", task["sid"])
            self._emit_task(task, "workflow.target-matched", "matched a workflow target")
            self._enter_queue(task, queue)
            self._enqueue(task)
            self._offer(task)
        elif isinstance(decision, WorkflowTimeout):
            self._emit_task(task, "workflow.timeout", "timed out of the workflow")
            self.cancel_task(task, "Workflow Timeout")
        else:
            if self.core.options.no_match_outcome == "cancel":
                self.cancel_task(task, self.core.options.no_match_reason)
            else:
                task["_step"] = None
                self.state.touch("task", task)

    def _enter_queue(self, task: Task, queue: TaskQueue) -> None:
        previous = task.get("task_queue_sid")
        task["task_queue_sid"] = queue["sid"]
        task["task_queue_friendly_name"] = queue["friendly_name"]
        task["task_queue_entered_date"] = self.core.stamp()
        self.state.touch("task", task)
        if previous and previous != queue["sid"]:
            self._emit_task(task, "task-queue.moved", f"moved to TaskQueue {queue['sid']}")
        self._emit_task(task, "task-queue.entered", f"entered TaskQueue {queue['sid']}")

    def _skip(self, task: Task, step: TargetStep) -> bool:
        queue = self.state.task_queue(step.queue)
        if queue is None:
            return True
        counts: dict[str, Any] = {"available": 0, "unavailable": 0}
        for worker_sid in self.members(queue):
            worker = self._worker(worker_sid)
            counts["available" if worker["available"] else "unavailable"] += 1
            counts[worker["activity_sid"]] = counts.get(worker["activity_sid"], 0) + 1
        reservable = bool(self.candidates(task, queue, step.target, limit=1))
        return step.target.skip_applies(counts, reservable_now=reservable)

    def candidates(
        self, task: Task, queue: TaskQueue | None, target: Target | None, limit: int
    ) -> list[Worker]:
        """Workers that may be reserved for ``task`` now, best first."""
        task_attrs = self.core.attrs(task)
        busy = {res["worker_sid"] for res in self.pending_reservations(task)}
        direct = task.get("routing_target") or ""
        if direct.startswith("WK"):
            pool: Any = [direct]
        elif queue is not None:
            pool = self.members(queue)
        else:
            return []
        known = target.known_worker(task_attrs) if target is not None else None
        ignore = bool(task.get("ignore_capacity")) and direct.startswith("WK")
        found: list[Worker] = []
        multi = self.multi(task["workspace_sid"])  # once, not once per worker of the pool
        workers = self.state.records["worker"]
        for worker_sid in pool:
            worker = cast("Worker | None", workers.get(worker_sid))
            if (
                worker is None
                or not worker["available"]  # most of a busy pool: can_take's first test, inline
                or worker_sid in busy
                or not self.can_take(worker, task, ignore, multi)
            ):
                continue
            if known is not None and known_value(worker, known[0]) != known[1]:
                continue
            if (
                target is not None
                and target.expression is not None
                and not target.expression.evaluate(self.target_context(task_attrs, worker))
            ):
                continue
            found.append(worker)
        found.sort(key=lambda w: (w["_idle_ts"], w["_created_ts"], w["_seq"]))
        if target is not None and target.order_by:
            found = order_workers(found, target.order_by, self.worker_view)
        return found[:limit]

    def can_take(
        self,
        worker: Worker,
        task: Task,
        ignore_capacity: bool = False,
        multi: bool | None = None,
    ) -> bool:
        """Whether ``worker`` has room for ``task`` now (``multi``: the workspace's
        multi-tasking, when the caller already knows it)."""
        if not worker["available"]:
            return False
        if multi is None:
            multi = self.multi(worker["workspace_sid"])
        if multi:
            channels = self.state.channels_by_worker.get(worker["sid"], {})
            channel = channels.get(task["task_channel_sid"])
            if channel is None or not channel["available"]:
                return False
            if ignore_capacity:
                return True
            used = channel["assigned_tasks"] + channel["_reserved"]
            return bool(used < channel["configured_capacity"])
        return ignore_capacity or worker["_open"] == 0

    def _offer(self, task: Task) -> None:
        """Create as many reservations as the task's queue allows with the workers free now."""
        if task["assignment_status"] not in OPEN_TASK:
            return
        direct = task.get("routing_target") or ""
        queue = self.state.task_queue(task.get("task_queue_sid") or "")
        if direct.startswith("WK"):
            wanted = 1 - len(self.pending_reservations(task))
        elif queue is not None:
            wanted = queue["max_reserved_workers"] - len(self.pending_reservations(task))
        else:
            return
        if wanted > 0:
            for worker in self.candidates(task, queue, self.current_target(task), wanted):
                self.reserve(task, worker, queue)
        self.sync_waiting(task)

    # routing a worker ------------------------------------------------------------------------
    def _route_worker(self, worker: Worker) -> None:
        """Give an available worker the best waiting task(s) it may serve."""
        for _ in range(1000):
            if not worker["available"] or self.state.get("worker", worker["sid"]) is None:
                return
            best = self._best_task_for(worker)
            if best is None:
                return
            task, queue = best
            self.reserve(task, worker, queue)
            self.sync_waiting(task)

    def _best_task_for(self, worker: Worker) -> tuple[Task, TaskQueue | None] | None:
        workspace = self.core.workspace(worker["workspace_sid"])
        best: tuple[tuple[float, ...], Task, TaskQueue | None] | None = None
        free = self._free_channels(worker, workspace)
        tasks = self.state.tasks
        for task_sid in list(self.direct.get(worker["sid"], ())):
            task = cast(Task, tasks.peek(task_sid))
            if self._may_serve(worker, task, None):
                start = task["virtual_start_time"].timestamp()
                rank: tuple[float, ...] = (-task["priority"], 0, start, task["_seq"])
                if best is None or rank < best[0]:
                    best = (rank, task, None)
        for queue in self.state.queues_in(worker["workspace_sid"]).values():
            if worker["sid"] not in self.members(queue):
                continue
            if not free:
                break
            for entry in self.waiting.get(queue["sid"], ()):
                # read without keeping: a worker may walk past many tasks it cannot serve
                task = cast(Task, tasks.peek(entry[3]))
                if task["task_channel_sid"] not in free or not self._may_serve(worker, task, queue):
                    continue
                order = 0 if queue["task_order"] == workspace["prioritize_queue_order"] else 1
                rank = (-task["priority"], order, entry[1], entry[2])
                if best is None or rank < best[0]:
                    best = (rank, task, queue)
                break
        return None if best is None else (self._task(best[1]["sid"]), best[2])

    def _free_channels(self, worker: Worker, workspace: Workspace) -> set[str]:
        """Task channels on which the worker could take one more task right now."""
        channels = self.state.channels_of(worker["sid"])
        if not workspace["multi_task_enabled"]:
            return set(channels) if worker["_open"] == 0 else set()
        return {
            sid
            for sid, channel in channels.items()
            if channel["available"]
            and channel["assigned_tasks"] + channel["_reserved"] < channel["configured_capacity"]
        }

    def _may_serve(self, worker: Worker, task: Task, queue: TaskQueue | None) -> bool:
        ignore = bool(task.get("ignore_capacity")) and queue is None
        if not self.can_take(worker, task, ignore):
            return False
        if any(res["worker_sid"] == worker["sid"] for res in self.pending_reservations(task)):
            return False
        target = self.current_target(task) if queue is not None else None
        if target is None:
            return True
        task_attrs = self.core.attrs(task)
        known = target.known_worker(task_attrs)
        if known is not None and known_value(worker, known[0]) != known[1]:
            return False
        if target.expression is not None:
            return target.expression.evaluate(self.target_context(task_attrs, worker))
        return True

    def worker_attributes_changed(self, typed: Worker | Record) -> None:
        worker = cast(Worker, typed)
        for queue in self.state.queues_in(worker["workspace_sid"]).values():
            members = self._members.get(queue["sid"])
            if members is None:
                continue
            if self.queue_matches(queue, worker):
                members.add(worker["sid"])
            else:
                members.discard(worker["sid"])

    def worker_removed(self, worker: Worker | Record) -> None:
        for members in self._members.values():
            members.discard(worker["sid"])
        self.direct.pop(worker["sid"], None)

    def _queue_changed(self, queue: TaskQueue) -> None:
        """target_workers / task_order / max_reserved_workers changed: re-route its workers."""
        self._members.pop(queue["sid"], None)
        for entry in list(self.waiting.get(queue["sid"], ())):
            self._enqueue(self._task(entry[3]))
        for entry in list(self.waiting.get(queue["sid"], ())):
            self._offer(self._task(entry[3]))
        for worker_sid in sorted(self.members(queue)):
            self._route_worker(self._worker(worker_sid))

    def queue_removed(self, queue: TaskQueue | Record) -> None:
        self._members.pop(queue["sid"], None)
        self.waiting.pop(queue["sid"], None)

    # reservations ----------------------------------------------------------------------------
    def reserve(self, task: Task, worker: Worker, queue: TaskQueue | None) -> Reservation:
        res, due = self.life.reserve(task, worker, queue)
        self._due(due)
        return res

    def _due(self, jobs: Due) -> None:
        for job in jobs:
            self.state.add_job(job)

    def accept(self, res: Reservation | Record) -> None:
        self._due(self.life.accept(cast(Reservation, res)))

    def reject(
        self, res: Reservation | Record, activity_sid: str | None, *, restore: bool = True
    ) -> None:
        self._due(self.life.reject(cast(Reservation, res), activity_sid, restore=restore))

    def timeout(self, res: Reservation | Record) -> None:
        self._due(self.life.timeout(cast(Reservation, res)))

    def cancel_reservation(self, res: Reservation | Record) -> None:
        """The assignment callback and its fallback could not be reached (§4.4)."""
        self._due(self.life.cancel_reservation(cast(Reservation, res)))

    # tasks -----------------------------------------------------------------------------------
    def cancel_task(self, task: Task | Record, reason: str) -> None:
        self._due(self.life.cancel_task(cast(Task, task), reason))

    def finish_task(self, task: Task | Record, status: str, reason: str | None) -> None:
        """``wrapping`` or ``completed`` for an assigned (or wrapping) task."""
        self._due(self.life.finish_task(cast(Task, task), status, reason))

    def purge(self, task: Task | Record) -> None:
        self.life.purge(cast(Task, task))

    def release_assigned(self, task: Task | Record) -> None:
        self.life.release_assigned(cast(Task, task))

    # activities ------------------------------------------------------------------------------
    def set_activity(
        self, worker: Worker | Record, activity_sid: str, *, route: bool = True
    ) -> None:
        self._due(self.life.set_activity(cast(Worker, worker), activity_sid, route=route))

    def _emit_task(self, task: Task, event_type: str, verb: str) -> None:
        self.life.emit_task(task, event_type, verb)


SkipPredicate = Callable[[TargetStep], bool]


def known_value(worker: Worker, field: str) -> object:
    """The worker field a target's known-worker shortcut compares (``sid`` or a name)."""
    return cast("Mapping[str, object]", worker).get(field)
