"""Route a task on paper: which filter, which targets, which workers, and what each timeout does.

``trcli workflow test`` reads the workspace through the API (live or the sandbox), builds the
records below and calls :func:`dry_run`. Nothing here talks to anything: it is the same workflow
walk the sandbox engine runs (:meth:`WorkflowConfiguration.target_for_age`, time-of-day keys from
:func:`with_time_of_day`, :func:`order_workers`), evaluated for a task that does not exist::

    result = dry_run(config, attributes, queues, workers, at=now, priority=0)
    result.filter            # FilterResult of the first matching filter, or None
    result.targets           # the matched filter's targets, each with its workers
    result.reserved_now      # who would be reserved the moment the task is created
    result.timeline          # what happens at each target timeout, in turn

Eligibility is the engine's: the worker is in the target's queue (``target_workers``), the
target's ``expression`` and known-worker fields hold, its activity is available, and it has
capacity (single-tasking: no open reservation; multi-tasking: room on the task's channel).
Worker order is the engine's: longest idle first (ties by creation), then the target's
``order_by``. The timeline follows the task while it waits (target timeouts move only a waiting
task) and stops where a worker would be reserved; each step assumes nothing else changes in the
workspace meanwhile.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from taskrouter_cli.routing.expressions import ExpressionError, parse_expression
from taskrouter_cli.routing.time_of_day import with_time_of_day
from taskrouter_cli.routing.workflow import (
    NoMatchingFilter,
    Target,
    TargetStep,
    WorkflowConfiguration,
    WorkflowTimeout,
    order_workers,
)

__all__ = [
    "DEFAULT_TASK_TIMEOUT",
    "DryRun",
    "FilterResult",
    "QueueState",
    "TargetResult",
    "TimelineStep",
    "WorkerResult",
    "WorkerState",
    "dry_run",
    "queue_members",
]

DEFAULT_TASK_TIMEOUT = 86400
"""A Task's ``Timeout`` (TTL) when none is given: 24 hours (Twilio's CreateTask docs)."""
MAX_STEPS = 200


@dataclass(frozen=True)
class QueueState:
    sid: str
    name: str
    target_workers: str | None
    max_reserved_workers: int = 1


@dataclass(frozen=True)
class WorkerState:
    """A worker as the API shows it, with its capacity on the task's channel worked out."""

    sid: str
    name: str
    attributes: Mapping[str, Any]
    activity_sid: str
    activity: str
    available: bool
    used: int
    """Open tasks (single-tasking) or tasks on the channel (multi-tasking), reservations too."""
    capacity: int
    """1 when single-tasking; the channel's configured capacity when multi-tasking."""
    channel_available: bool = True
    capacity_note: str = ""
    idle_since: datetime | None = None
    created: datetime | None = None

    @property
    def has_capacity(self) -> bool:
        return self.channel_available and self.used < self.capacity

    @property
    def capacity_text(self) -> str:
        return self.capacity_note or f"{self.used}/{self.capacity}"

    def view(self) -> dict[str, Any]:
        """The ``worker`` object target expressions see (the engine's worker view)."""
        return {
            **self.attributes,
            "sid": self.sid,
            "friendly_name": self.name,
            "activity_sid": self.activity_sid,
            "activity_name": self.activity,
        }


@dataclass(frozen=True)
class WorkerResult:
    name: str
    sid: str
    matches: bool
    """The target's expression (and known worker) hold; True when the target has neither."""
    available: bool
    activity: str
    capacity: str
    has_capacity: bool

    @property
    def eligible(self) -> bool:
        return self.matches and self.available and self.has_capacity


@dataclass(frozen=True)
class FilterResult:
    index: int
    name: str
    expression: str
    matched: bool
    trace: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class TargetResult:
    filter_index: int | None
    """None: the workflow's default_filter."""
    index: int
    queue_sid: str
    queue: str
    expression: str | None
    priority: int
    timeout: int | None
    starts_at: float
    """Task age (s) at which the task reaches this target (if it gets that far)."""
    ends_at: float | None
    skip_if: str | None = None
    order_by: str | None = None
    known_worker: str | None = None
    workers: tuple[WorkerResult, ...] = ()
    would_reserve: tuple[str, ...] = ()
    problem: str | None = None
    """The queue does not exist, or an expression cannot be evaluated."""


@dataclass(frozen=True)
class TimelineStep:
    age: float
    at: datetime
    event: str
    """``target`` ``skipped`` ``reserve`` ``wait`` ``workflow-timeout`` ``no-match`` ``ttl``"""
    message: str
    target: TargetResult | None = None


@dataclass(frozen=True)
class DryRun:
    at: datetime
    attributes: Mapping[str, Any]
    priority: int
    filters: tuple[FilterResult, ...]
    filter: FilterResult | None
    uses_default_filter: bool
    targets: tuple[TargetResult, ...]
    reserved_now: tuple[str, ...]
    timeline: tuple[TimelineStep, ...] = field(default=())
    outcome: str = ""
    """One sentence: what happens to the task."""


def queue_members(queue: QueueState, workers: tuple[WorkerState, ...]) -> set[str]:
    """SIDs of the workers in ``queue`` (the engine's rule: no target_workers = everyone,
    an empty one = no one, a broken one = no one)."""
    text = queue.target_workers
    if text is None:
        return {w.sid for w in workers}
    if not text.strip():
        return set()
    try:
        expression = parse_expression(text)
    except ExpressionError:
        return set()
    return {w.sid for w in workers if expression.evaluate(w.attributes)}


def _order(workers: list[WorkerState], target: Target) -> list[WorkerState]:
    """The engine's order: longest idle first, ties by creation; then ``order_by`` (stable)."""
    epoch = datetime.min
    found = sorted(
        workers,
        key=lambda w: (
            (w.idle_since or epoch).replace(tzinfo=None),
            (w.created or epoch).replace(tzinfo=None),
        ),
    )
    if target.order_by:
        found = order_workers(found, target.order_by, WorkerState.view)
    return found


class _Walk:
    def __init__(
        self,
        config: WorkflowConfiguration,
        attributes: Mapping[str, Any],
        queues: Mapping[str, QueueState],
        workers: tuple[WorkerState, ...],
        at: datetime,
        priority: int,
    ) -> None:
        self.config = config
        self.attributes = attributes
        self.queues = queues
        self.workers = workers
        self.at = at
        self.priority = priority
        self.current_priority = priority
        """The task's priority so far: a target that sets one changes it for good."""
        self.members: dict[str, set[str]] = {}

    def moment(self, age: float) -> datetime:
        return self.at + timedelta(seconds=age)

    def queue_members(self, queue: QueueState) -> set[str]:
        if queue.sid not in self.members:
            self.members[queue.sid] = queue_members(queue, self.workers)
        return self.members[queue.sid]

    def target(self, step: TargetStep, age: float) -> TargetResult:
        target = step.target
        queue = self.queues.get(target.queue)
        starts = 0.0
        if step.filter_index is not None:
            for earlier in self.config.filters[step.filter_index].targets[: step.target_index]:
                if earlier.timeout is not None:
                    starts += earlier.timeout
        known = target.known_worker_sid or target.known_worker_friendly_name
        common: dict[str, Any] = {
            "filter_index": step.filter_index,
            "index": step.target_index,
            "queue_sid": target.queue,
            "queue": queue.name if queue is not None else target.queue,
            "expression": target.expression.text if target.expression is not None else None,
            "priority": target.priority if target.priority is not None else self.current_priority,
            "timeout": target.timeout,
            "starts_at": starts,
            "ends_at": step.expires_at_age,
            "skip_if": target.skip_if.text if target.skip_if is not None else None,
            "order_by": ", ".join(str(o) for o in target.order_by) or None,
            "known_worker": known,
        }
        if queue is None:
            return TargetResult(**common, problem=f"TaskQueue {target.queue} does not exist")
        members = self.queue_members(queue)
        task_context = with_time_of_day(self.attributes, self.moment(age))
        known_worker = target.known_worker(self.attributes)
        results: list[WorkerResult] = []
        eligible: list[WorkerState] = []
        for worker in self.workers:
            if worker.sid not in members:
                continue
            matches = True
            if known_worker is not None:
                field_name, value = known_worker
                matches = (worker.sid if field_name == "sid" else worker.name) == value
            if matches and target.expression is not None:
                context = with_time_of_day(
                    {"task": task_context, "worker": worker.view()}, self.moment(age)
                )
                matches = target.expression.evaluate(context)
            result = WorkerResult(
                name=worker.name,
                sid=worker.sid,
                matches=matches,
                available=worker.available,
                activity=worker.activity,
                capacity=worker.capacity_text,
                has_capacity=worker.has_capacity,
            )
            results.append(result)
            if result.eligible:
                eligible.append(worker)
        chosen = _order(eligible, target)[: max(1, queue.max_reserved_workers)]
        return TargetResult(
            **common, workers=tuple(results), would_reserve=tuple(w.name for w in chosen)
        )

    def skip_applies(self, step: TargetStep, age: float) -> bool:
        """The documented ``skip_if`` check, with the worker counts of the target's queue."""
        queue = self.queues.get(step.queue)
        if queue is None:
            return False
        counts: dict[str, int] = {"available": 0, "unavailable": 0}
        for worker in self.workers:
            if worker.sid in self.queue_members(queue):
                counts["available" if worker.available else "unavailable"] += 1
                counts[worker.activity_sid] = counts.get(worker.activity_sid, 0) + 1
        reservable = bool(self.target(step, age).would_reserve)
        return step.target.skip_applies(counts, reservable_now=reservable)

    def filters(self) -> tuple[FilterResult, ...]:
        context = with_time_of_day(self.attributes, self.at)
        return tuple(
            FilterResult(
                index=flt.index,
                name=flt.friendly_name or f"filter {flt.index + 1}",
                expression=flt.expression.text,
                matched=flt.matches(context),
                trace=tuple(flt.expression.trace(context)),
            )
            for flt in self.config.filters
        )

    def ttl(self, task_timeout: int) -> TimelineStep:
        return TimelineStep(
            float(task_timeout),
            self.moment(task_timeout),
            "ttl",
            f"the task's Timeout ({task_timeout} s) runs out: TaskRouter cancels it",
        )

    def timeline(self, task_timeout: int) -> tuple[list[TimelineStep], list[TargetResult]]:
        steps: list[TimelineStep] = []
        reached: list[TargetResult] = []
        skipped: set[tuple[int, int]] = set()
        age = 0.0
        for _ in range(MAX_STEPS):
            if age >= task_timeout:
                steps.append(self.ttl(task_timeout))
                break
            context = with_time_of_day(self.attributes, self.moment(age))
            decision = self.config.target_for_age(
                context, age, skip=functools.partial(self.skip_applies, age=age)
            )
            for filter_index, target_index in decision.skipped:
                if (filter_index, target_index) not in skipped:
                    skipped.add((filter_index, target_index))
                    steps.append(
                        TimelineStep(
                            age,
                            self.moment(age),
                            "skipped",
                            f"skip_if passes over target {target_index + 1} of filter "
                            f"{filter_index + 1}",
                        )
                    )
            if isinstance(decision, NoMatchingFilter):
                steps.append(
                    TimelineStep(
                        age,
                        self.moment(age),
                        "no-match",
                        "no filter matches and there is no default filter: TaskRouter "
                        "cancels the task",
                    )
                )
                break
            if isinstance(decision, WorkflowTimeout):
                name = decision.filter_name or f"filter {decision.filter_index + 1}"
                steps.append(
                    TimelineStep(
                        decision.age_limit,
                        self.moment(decision.age_limit),
                        "workflow-timeout",
                        f"the last target of '{name}' times out: TaskRouter cancels the task"
                        " (workflow timeout)",
                    )
                )
                break
            result = self.target(decision, age)
            self.current_priority = result.priority
            reached.append(result)
            where = (
                "default filter"
                if decision.filter_index is None
                else (f"target {decision.target_index + 1}")
            )
            if result.problem is not None:
                steps.append(TimelineStep(age, self.moment(age), "wait", result.problem, result))
                break
            if result.would_reserve:
                names = ", ".join(result.would_reserve)
                steps.append(
                    TimelineStep(
                        age,
                        self.moment(age),
                        "reserve",
                        f"{where}, queue {result.queue}: {names} would be reserved",
                        result,
                    )
                )
                break  # target timeouts only move a task that is still waiting
            until = (
                "for a worker (no timeout)"
                if decision.expires_at_age is None
                else f"until age {decision.expires_at_age:g} s"
            )
            steps.append(
                TimelineStep(
                    age,
                    self.moment(age),
                    "wait",
                    f"{where}, queue {result.queue}: no eligible worker, the task waits {until}",
                    result,
                )
            )
            if decision.expires_at_age is None:
                steps.append(self.ttl(task_timeout))  # it waits until its Timeout
                break
            age = decision.expires_at_age
        return steps, reached


def dry_run(
    config: WorkflowConfiguration,
    attributes: Mapping[str, Any],
    queues: Mapping[str, QueueState],
    workers: tuple[WorkerState, ...],
    *,
    at: datetime,
    priority: int = 0,
    task_timeout: int = DEFAULT_TASK_TIMEOUT,
) -> DryRun:
    """Where a task with ``attributes`` created at ``at`` would go (see the module docstring)."""
    walk = _Walk(config, attributes, queues, workers, at, priority)
    filters = walk.filters()
    timeline, reached = walk.timeline(task_timeout)
    first = reached[0] if reached else None
    targets: tuple[TargetResult, ...] = ()
    if first is not None and first.filter_index is not None:
        flt = config.filters[first.filter_index]
        by_index = {t.index: t for t in reached if t.filter_index == first.filter_index}
        listed: list[TargetResult] = []
        walk.current_priority = priority
        for index, target in enumerate(flt.targets):
            if index not in by_index:
                starts = float(sum(t.timeout or 0 for t in flt.targets[:index]))
                ends = starts + target.timeout if target.timeout is not None else None
                step = TargetStep(flt.index, flt.friendly_name, index, target, ends)
            result = by_index[index] if index in by_index else walk.target(step, starts)
            walk.current_priority = result.priority
            listed.append(result)
        targets = tuple(listed)
    elif first is not None:
        targets = (first,)
    opening = next((step for step in timeline if step.event != "skipped"), None)
    reserved = (
        opening.target.would_reserve if opening and opening.target and not opening.age else ()
    )
    uses_default = first is not None and first.filter_index is None
    chosen = None
    if first is not None and first.filter_index is not None:
        chosen = filters[first.filter_index]
    outcome = timeline[-1].message if timeline else ""
    if reserved and opening is not None:
        outcome = opening.message
    return DryRun(
        at=at,
        attributes=attributes,
        priority=priority,
        filters=filters,
        filter=chosen,
        uses_default_filter=uses_default,
        targets=targets,
        reserved_now=reserved,
        timeline=tuple(timeline),
        outcome=outcome,
    )
