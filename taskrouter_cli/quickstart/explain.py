"""Why is this Task where it is? (``trcli explain TASK``)

Everything is fetched with the twilio SDK (so it works the same on live TaskRouter and the
sandbox) and evaluated locally with the project's own engine (``taskrouter_cli.routing``):

1. the Workflow's filters against the Task's attributes (which matched, which target/queue —
   target timeouts are walked on the task's age, as TaskRouter does);
2. the queue's ``target_workers`` (and the target's ``expression``) against every Worker;
3. each matching Worker's availability (its Activity) and capacity (single-tasking: one open
   Task at a time; multi-tasking: the Task's channel capacity);
4. a verdict: the first thing that blocks the Task, and the trcli command that fixes it.

Verdict reasons (``Explanation.reason``): ``assigned``, ``wrapping``, ``finished``, ``deleted``,
``reservation_pending``, ``no_filter_matched``, ``workflow_timeout``, ``workflow_invalid``,
``queue_no_matching_worker``, ``worker_unavailable``, ``worker_at_capacity``,
``worker_eligible`` (a worker can take it: TaskRouter reserves on the next routing pass).

``skip_if`` cannot be judged from outside (it depends on worker counts at routing time), so a
target with ``skip_if`` is taken as not skipped; the Task's actual queue, when it has one, wins.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from taskrouter_cli.operations.inputs import stored_object
from taskrouter_cli.operations.task_history import history_text, vanished_task
from taskrouter_cli.routing.expressions import Expression, ExpressionError, Key, parse_expression
from taskrouter_cli.routing.lint import raw_expressions
from taskrouter_cli.routing.time_of_day import with_time_of_day
from taskrouter_cli.routing.undocumented import undocumented_constructs

PAGE_SIZE = 1000
OPEN_TASK_STATUSES = ("reserved", "assigned", "wrapping")


@dataclass
class FilterResult:
    index: int
    name: str
    expression: str
    matched: bool
    trace: list[tuple[str, bool]]
    queue_sid: str | None
    queue_name: str | None
    why_not: str = ""
    """For a filter that did not match: what the task's attributes hold for the keys it reads."""


def why_not(expression: Expression, attributes: dict[str, Any]) -> str:
    """``selected_language is "fr"`` / ``vip is not set`` for each key of a failed comparison."""
    facts: dict[str, None] = {}
    for comparison in expression.comparisons():
        if comparison.evaluate(attributes):
            continue
        for operand in (comparison.left, comparison.right):
            if isinstance(operand, Key):
                value = operand.resolve(attributes)
                text = "not set" if value is None else json.dumps(value)
                facts[f"{operand} is {text}"] = None
    return "; ".join(facts)


@dataclass
class WorkerResult:
    sid: str
    name: str
    activity: str
    available: bool
    matches_queue: bool
    matches_target: bool | None
    """The target's ``expression`` (None: the target has none)."""
    open_tasks: list[str] = field(default_factory=list)
    """Tasks holding this worker (pending or accepted reservations on open tasks)."""
    pending_reservation: str | None = None
    at_capacity: bool = False
    capacity: str = ""
    eligible: bool = False

    @property
    def matches(self) -> bool:
        return self.matches_queue and self.matches_target is not False


@dataclass
class Explanation:
    task_sid: str
    status: str
    attributes: dict[str, Any]
    age: int | None
    workflow_sid: str | None
    workflow_name: str | None
    queue_sid: str | None = None
    queue_name: str | None = None
    target_workers: str | None = None
    target_expression: str | None = None
    filters: list[FilterResult] = field(default_factory=list)
    used_default_filter: bool = False
    workers: list[WorkerResult] = field(default_factory=list)
    reservations: list[dict[str, Any]] = field(default_factory=list)
    multi_tasking: bool = False
    reason: str = ""
    message: str = ""
    fix: str | None = None
    history: list[str] = field(default_factory=list)
    """For a Task that no longer exists: its Events, one line each."""
    warnings: list[str] = field(default_factory=list)
    """Constructs of the workflow or queue that Twilio does not document (may be refused)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["filters"] = [
            {**item, "trace": [{"comparison": c, "result": r} for c, r in item["trace"]]}
            for item in data["filters"]
        ]
        return data


def quote(value: str) -> str:
    return shlex.quote(value)


class _Explainer:
    def __init__(self, workspace: Any, task_sid: str, now: datetime | None = None) -> None:
        self.ws = workspace
        self.now = now or datetime.now(timezone.utc)
        task = workspace.tasks(task_sid).fetch()
        self.task = task
        self.result = Explanation(
            task_sid=str(task.sid),
            status=str(task.assignment_status),
            attributes=stored_object(task.attributes),
            age=int(task.age) if task.age is not None else None,
            workflow_sid=task.workflow_sid,
            workflow_name=task.workflow_friendly_name,
            queue_sid=task.task_queue_sid,
            queue_name=task.task_queue_friendly_name,
        )
        self.queues = {str(q.sid): q for q in workspace.task_queues.stream(page_size=PAGE_SIZE)}
        self.activities = list(workspace.activities.stream(page_size=PAGE_SIZE))

    # -- facts ------------------------------------------------------------------------------
    def available_activity(self) -> str:
        """The name to suggest when a worker must become available (Idle when it exists)."""
        names = [str(a.friendly_name) for a in self.activities if a.available]
        for preferred in ("Idle", "Available"):
            if preferred in names:
                return preferred
        return names[0] if names else "Idle"

    def reservations(self) -> None:
        items = self.ws.tasks(self.result.task_sid).reservations.list(page_size=PAGE_SIZE)
        items.sort(key=lambda r: (r.date_created is None, r.date_created))
        self.result.reservations = [
            {
                "sid": str(r.sid),
                "worker_name": r.worker_name,
                "worker_sid": r.worker_sid,
                "status": str(r.reservation_status),
            }
            for r in items
        ]

    def routing(self) -> Any:
        """Evaluate the workflow; returns the target the task belongs to (or None)."""
        from taskrouter_cli.routing.workflow import (
            NoMatchingFilter,
            TargetStep,
            WorkflowConfigError,
            WorkflowTimeout,
            parse_workflow_configuration,
        )

        r = self.result
        if not r.workflow_sid:
            return None
        workflow = self.ws.workflows(r.workflow_sid).fetch()
        r.workflow_name = workflow.friendly_name
        try:
            config = parse_workflow_configuration(workflow.configuration or "")
        except WorkflowConfigError as exc:
            self.verdict(
                "workflow_invalid",
                f"Workflow {workflow.friendly_name}'s configuration cannot be evaluated: {exc}",
                f"trcli workflow show {quote(str(workflow.friendly_name))}",
            )
            return None
        r.warnings.extend(undocumented_warnings(workflow.configuration or ""))
        context = with_time_of_day(r.attributes, self.now)
        for flt in config.filters:
            queue_sid = flt.targets[0].queue if flt.targets else None
            matched = flt.matches(context)
            r.filters.append(
                FilterResult(
                    index=flt.index,
                    name=flt.friendly_name or f"filter {flt.index + 1}",
                    expression=flt.expression.text,
                    matched=matched,
                    trace=flt.expression.trace(context),
                    queue_sid=queue_sid,
                    queue_name=self.queue_name(queue_sid),
                    why_not="" if matched else why_not(flt.expression, dict(context)),
                )
            )
        decision = config.target_for_age(context, float(r.age or 0))
        if isinstance(decision, NoMatchingFilter):
            return decision
        if isinstance(decision, WorkflowTimeout):
            return decision
        assert isinstance(decision, TargetStep)
        r.used_default_filter = decision.filter_index is None
        if not r.queue_sid:
            r.queue_sid = decision.queue
            r.queue_name = self.queue_name(decision.queue)
        if decision.expression is not None:
            r.target_expression = decision.expression.text
        return decision

    def queue_name(self, sid: str | None) -> str | None:
        queue = self.queues.get(sid or "")
        return str(queue.friendly_name) if queue is not None else None

    def worker_context(self, worker: Any) -> dict[str, Any]:
        attrs = stored_object(worker.attributes)
        return {
            **attrs,
            "sid": worker.sid,
            "friendly_name": worker.friendly_name,
            "activity_sid": worker.activity_sid,
            "activity_name": worker.activity_name,
        }

    def workers(self, step: Any) -> None:
        r = self.result
        queue = self.queues.get(r.queue_sid or "")
        target_workers = (queue.target_workers if queue is not None else None) or "1==1"
        r.target_workers = target_workers
        r.warnings.extend(
            f"TaskQueue target_workers: {item.message}"
            for item in undocumented_constructs(target_workers)
        )
        try:
            queue_expression = parse_expression(target_workers)
        except ExpressionError:
            queue_expression = None
        target_expression = step.expression if step is not None else None
        workspace = self.ws.fetch()
        r.multi_tasking = bool(workspace.multi_task_enabled)
        for worker in self.ws.workers.stream(page_size=PAGE_SIZE):
            attrs = stored_object(worker.attributes)
            matches_queue = bool(queue_expression and queue_expression.evaluate(attrs))
            matches_target = None
            if target_expression is not None:
                context = with_time_of_day(
                    {
                        "task": with_time_of_day(r.attributes, self.now),
                        "worker": self.worker_context(worker),
                    },
                    self.now,
                )
                matches_target = bool(target_expression.evaluate(context))
            result = WorkerResult(
                sid=str(worker.sid),
                name=str(worker.friendly_name),
                activity=str(worker.activity_name),
                available=bool(worker.available),
                matches_queue=matches_queue,
                matches_target=matches_target,
            )
            if result.matches:
                self.capacity(worker, result)
            r.workers.append(result)

    def capacity(self, worker: Any, result: WorkerResult) -> None:
        """Open tasks, pending reservation and capacity of a matching worker."""
        for status in ("pending", "accepted"):
            for reservation in self.ws.workers(worker.sid).reservations.list(
                reservation_status=status, page_size=PAGE_SIZE
            ):
                task_sid = str(reservation.task_sid)
                if task_sid == self.result.task_sid and (
                    status == "pending" or self.result.status not in OPEN_TASK_STATUSES
                ):
                    continue  # the task explained is not what keeps the worker busy
                if status == "pending":
                    result.pending_reservation = str(reservation.sid)
                    result.open_tasks.append(task_sid)
                else:
                    other = self.ws.tasks(task_sid).fetch()
                    if str(other.assignment_status) in OPEN_TASK_STATUSES:
                        result.open_tasks.append(task_sid)
        if self.result.multi_tasking:
            channel = self._channel(worker)
            if channel is None:
                result.at_capacity, result.capacity = True, "no channel for this task"
            else:
                used = int(channel.assigned_tasks or 0)
                total = int(channel.configured_capacity or 0)
                result.capacity = f"{used}/{total} on {channel.task_channel_unique_name}"
                result.at_capacity = (not channel.available) or used >= total
        else:
            count = len(result.open_tasks)
            result.capacity = f"{count}/1 (single-tasking)"
            result.at_capacity = count >= 1
        result.eligible = result.available and not result.at_capacity

    def _channel(self, worker: Any) -> Any:
        wanted = {str(self.task.task_channel_sid), str(self.task.task_channel_unique_name)}
        for channel in self.ws.workers(worker.sid).worker_channels.list(page_size=PAGE_SIZE):
            if {str(channel.task_channel_sid), str(channel.task_channel_unique_name)} & wanted:
                return channel
        return None

    # -- verdict ----------------------------------------------------------------------------
    def verdict(self, reason: str, message: str, fix: str | None) -> None:
        if not self.result.reason:
            self.result.reason, self.result.message, self.result.fix = reason, message, fix

    def explain(self) -> Explanation:
        from taskrouter_cli.routing.workflow import NoMatchingFilter, TargetStep, WorkflowTimeout

        r = self.result
        self.reservations()
        sid = r.task_sid
        if r.status == "assigned":
            worker = self._accepted_worker()
            self.verdict(
                "assigned",
                f"Task {sid} is assigned to {worker}: nothing blocks it; "
                "it stays assigned until it is completed",
                f"trcli task complete {sid} --reason done",
            )
        elif r.status == "wrapping":
            self.verdict(
                "wrapping",
                f"Task {sid} is wrapping up after {self._accepted_worker()} handled it",
                f"trcli task complete {sid} --reason done",
            )
        elif r.status == "reserved":
            pending = [x for x in r.reservations if x["status"] == "pending"]
            who = ", ".join(f"{x['worker_name']} ({x['sid']})" for x in pending) or "a worker"
            first = pending[0]["sid"] if pending else "WR..."
            self.verdict(
                "reservation_pending",
                f"Task {sid} is reserved for {who}; the reservation waits to be accepted or "
                "rejected (by the assignment callback's answer or over the REST API)",
                f"trcli reservation accept {first} --task {sid}",
            )
        step = self.routing()
        finished = r.status in ("canceled", "completed")
        why = f" ({self.task.reason})" if self.task.reason else ""
        gone = f"; the task is {r.status}{why}"
        if isinstance(step, NoMatchingFilter):
            self.verdict(
                "no_filter_matched",
                f"No filter of Workflow {r.workflow_name} matches the task's attributes "
                f"{json.dumps(r.attributes)} and the workflow has no default filter"
                + (gone if finished else ""),
                self._attribute_fix(),
            )
        elif isinstance(step, WorkflowTimeout):
            self.verdict(
                "workflow_timeout",
                f"Task {sid} waited past the last target of filter "
                f"'{step.filter_name or step.filter_index + 1}' ({step.age_limit:g} s) and "
                "left the workflow" + (gone if finished else ""),
                "trcli worker set-activity NAME Idle, then create the task again",
            )
        elif finished:
            self.verdict("finished", f"Task {sid} is {r.status}{why}; it is done", None)
        if isinstance(step, TargetStep) and r.reason != "workflow_invalid":
            self.workers(step)
            self.worker_verdict()
        return r

    def _accepted_worker(self) -> str:
        for item in reversed(self.result.reservations):
            if item["status"] in ("accepted", "wrapping", "completed"):
                return str(item["worker_name"])
        return "a worker"

    def _attribute_fix(self) -> str:
        r = self.result
        for item in r.filters:
            keys = parse_expression(item.expression).comparisons()
            for comparison in keys:
                text = str(comparison)
                if " == " in text:
                    key, value = text.split(" == ", 1)
                    try:
                        example = {key.strip(): json.loads(value)}
                    except ValueError:
                        continue
                    return f"trcli task create --attributes {quote(json.dumps(example))}"
        return f"trcli workflow show {quote(str(r.workflow_name))}"

    def worker_verdict(self) -> None:
        r = self.result
        queue = r.queue_name or r.queue_sid or "its queue"
        matching = [w for w in r.workers if w.matches]
        if not matching:
            extra = (
                f" and the target expression {r.target_expression}" if r.target_expression else ""
            )
            names = ", ".join(w.name for w in r.workers) or "no workers exist"
            self.verdict(
                "queue_no_matching_worker",
                f"No worker matches queue {queue}'s target_workers {r.target_workers}{extra} "
                f"(workers: {names})",
                "trcli worker update NAME --attributes '{...}' (give a worker the attributes "
                f"the expression needs: {r.target_workers})",
            )
            return
        eligible = [w for w in matching if w.eligible]
        if eligible:
            self.verdict(
                "worker_eligible",
                f"{eligible[0].name} matches queue {queue} and is available with capacity: "
                "TaskRouter reserves a worker on its next routing pass",
                f"trcli task watch {r.task_sid}",
            )
            return
        at_capacity = [w for w in matching if w.available and w.at_capacity]
        if at_capacity:
            worker = at_capacity[0]
            if worker.open_tasks:
                holding = worker.open_tasks[0]
                fix = f"trcli task complete {holding} --reason done"
                if worker.pending_reservation:
                    fix = f"trcli reservation reject {worker.pending_reservation} --task {holding}"
                message = (
                    f"{worker.name} matches and is {worker.activity} but is at capacity "
                    f"({worker.capacity}): busy with task {holding}"
                )
            else:
                fix = f"trcli worker show {quote(worker.name)}"
                message = (
                    f"{worker.name} matches and is {worker.activity} but has no capacity for "
                    f"this task's channel ({worker.capacity})"
                )
            self.verdict("worker_at_capacity", message, fix)
            return
        worker = min(matching, key=lambda w: bool(w.open_tasks))
        idle = self.available_activity()
        others = [w.name for w in matching if w is not worker]
        also = (
            f" ({', '.join(others)} also match{'es' if len(others) == 1 else ''})" if others else ""
        )
        fix = f"trcli worker set-activity {quote(worker.name)} {quote(idle)}"
        if worker.pending_reservation and worker.open_tasks:
            fix = (
                f"trcli reservation accept {worker.pending_reservation} "
                f"--task {worker.open_tasks[0]}"
            )
        elif worker.open_tasks:
            fix = f"trcli task complete {worker.open_tasks[0]} --reason done && " + fix
        self.verdict(
            "worker_unavailable",
            f"{worker.name} matches but is {worker.activity}{also}",
            fix,
        )


def undocumented_warnings(configuration: str) -> list[str]:
    """One line per construct of the configuration's expressions that Twilio does not document."""
    try:
        document = json.loads(configuration)
    except ValueError:
        return []
    return [
        f"{path}: {item.message}"
        for path, text in raw_expressions(document)
        if isinstance(text, str)
        for item in undocumented_constructs(text)
    ]


def explain_task(workspace: Any, task_sid: str, now: datetime | None = None) -> Explanation:
    """The explanation for one Task (``workspace`` is ``client.taskrouter.v1.workspaces(WS)``);
    ``now`` is the time routing sees (time-of-day keys; default: this machine's clock).

    A Task the API no longer finds but whose Events remain (TaskRouter deletes finished Tasks
    about 5 minutes after they finish) is explained from its Events: verdict ``deleted``."""
    from twilio.base.exceptions import TwilioRestException

    try:
        explainer = _Explainer(workspace, task_sid, now)
    except TwilioRestException as exc:
        if exc.status != 404:
            raise
        gone = vanished_task(workspace, task_sid)
        if gone is None:
            raise
        return Explanation(
            task_sid=task_sid,
            status=gone.final_status or "deleted",
            attributes={},
            age=None,
            workflow_sid=None,
            workflow_name=None,
            reason="deleted",
            message=gone.summary(),
            history=[history_text(line) for line in gone.lines],
        )
    return explainer.explain()
