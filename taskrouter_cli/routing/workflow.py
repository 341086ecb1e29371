"""Workflow configuration: parse and validate the JSON document, then route tasks through it.

Parsing (behaviour doc §5.1)::

    cfg = parse_workflow_configuration(workflow_record["configuration"])  # WorkflowConfigError
    cfg.filters[0].expression / .friendly_name / .targets[0].queue ...
    cfg.default_filter              # Target | None
    cfg.queue_sids()                # every TaskQueue SID referenced, in first-seen order
    cfg.warnings                    # unknown keys etc. (``strict=True`` makes them errors)

Routing, as the sandbox engine calls it (stateless: a function of the task's attributes and age)::

    decision = cfg.target_for_age(task_attributes, age_seconds, skip=engine_skip)
    if isinstance(decision, TargetStep):
        queue = decision.queue                 # put/keep the task in this TaskQueue
        decision.priority                      # int | None: None -> keep the task's priority
        decision.expression                    # Expression | None over {"task": ..., "worker": ...}
        decision.order_by                      # tuple[OrderBy, ...] -> order_workers(...)
        decision.expires_at_age                # float | None: re-route when the task is this old
        decision.filter_index, decision.target_index   # filter_index None = default_filter
    elif isinstance(decision, WorkflowTimeout):
        ...                                    # cancel the task: workflow.timeout
    else:  # NoMatchingFilter
        ...                                    # no filter matched and there is no default_filter

``engine_skip(step: TargetStep) -> bool`` is consulted only for targets that have ``skip_if``.
The engine decides whether a reservation can be created right now and supplies its worker
counts; :meth:`Target.skip_applies` does the documented check::

    def engine_skip(step: TargetStep) -> bool:
        counts = {"available": 0, "unavailable": 2, "WAxxxx": 1}   # for step.queue
        return step.target.skip_applies(counts, reservable_now=False)

Timing rules (§3.5): target timeouts are measured on the task's age and are cumulative: a target
with ``timeout`` 10 after one with ``timeout`` 10 ends at age 20. A target without ``timeout``
never expires and adds nothing to the offset of later targets (those are reached only via
``skip_if``). A skipped target is passed over; later targets keep their age windows (skipping does
not shift deadlines -- UNCONFIRMED, chosen so routing stays a pure function of age). When the last
target of a filter times out the task leaves the workflow (:class:`WorkflowTimeout`); when the last
target is *skipped* the filter counts as not matched and routing continues with the next matching
filter, then ``default_filter`` (which has no timeout and no ``skip_if``).

Workers are ordered for a target with :func:`order_workers` (``order_by`` clauses on integer
worker attributes, missing values last, stable for ties so the engine's own order -- longest
idle -- breaks them).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from taskrouter_cli.routing.expressions import (
    MAX_EXPRESSION_LENGTH,
    Expression,
    ExpressionError,
    Key,
    parse_expression,
    parse_key,
    resolve_key,
)

__all__ = [
    "Filter",
    "FilterMatch",
    "NoMatchingFilter",
    "OrderBy",
    "RoutingDecision",
    "Target",
    "TargetStep",
    "WorkflowConfigError",
    "WorkflowConfiguration",
    "WorkflowTimeout",
    "order_workers",
    "parse_order_by",
    "parse_workflow_configuration",
]

_QUEUE_SID = re.compile(r"WQ[0-9a-fA-F]{32}")
_WORKER_SID = re.compile(r"WK[0-9a-fA-F]{32}")
_ROOT_KEYS = ("task_routing",)
_ROUTING_KEYS = ("filters", "default_filter")
_FILTER_KEYS = ("filter_friendly_name", "friendly_name", "expression", "targets")
_TARGET_KEYS = (
    "queue",
    "priority",
    "timeout",
    "expression",
    "order_by",
    "skip_if",
    "known_worker_sid",
    "known_worker_friendly_name",
)
_DEFAULT_FILTER_KEYS = ("queue",)

T = TypeVar("T")


class WorkflowConfigError(ValueError):
    """The configuration is invalid; ``path`` is the JSON path of the problem."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class OrderBy:
    """One ``order_by`` clause: a worker attribute key and its direction."""

    key: Key
    descending: bool = False

    def __str__(self) -> str:
        return f"{self.key} {'DESC' if self.descending else 'ASC'}"


@dataclass(frozen=True)
class Target:
    queue: str
    priority: int | None = None
    timeout: int | None = None
    expression: Expression | None = None
    order_by: tuple[OrderBy, ...] = ()
    skip_if: Expression | None = None
    known_worker_sid: str | None = None
    known_worker_friendly_name: str | None = None

    def skip_applies(self, workers: Mapping[str, Any], *, reservable_now: bool) -> bool:
        """The documented ``skip_if`` rule: skip when nobody can be reserved right now AND the
        expression holds over ``{"workers": workers}`` (``available``, ``unavailable``,
        ``<ActivitySid>`` counts in this target's queue)."""
        if self.skip_if is None or reservable_now:
            return False
        return self.skip_if.evaluate({"workers": workers})

    def known_worker(self, task_attributes: Mapping[str, Any]) -> tuple[str, str] | None:
        """For known-agent routing: ``("sid" | "friendly_name", value)`` or None.

        The configured value is either a ``task.<key>`` reference, resolved in the task's
        attributes, or a literal (a WK SID / a friendly name). A reference that resolves to
        nothing (or to a non-string) gives None."""
        for field, raw in (
            ("sid", self.known_worker_sid),
            ("friendly_name", self.known_worker_friendly_name),
        ):
            if raw is None:
                continue
            if raw.startswith("task."):
                value = resolve_key({"task": task_attributes}, parse_key(raw).parts)
                return (field, value) if isinstance(value, str) and value else None
            return (field, raw)
        return None


@dataclass(frozen=True)
class Filter:
    index: int
    friendly_name: str | None
    expression: Expression
    targets: tuple[Target, ...]

    def matches(self, task_attributes: Mapping[str, Any]) -> bool:
        return self.expression.evaluate(task_attributes)


@dataclass(frozen=True)
class FilterMatch:
    """The first matching filter (``filter`` None and ``index`` None: the default_filter)."""

    index: int | None
    filter: Filter | None
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class TargetStep:
    """Routing outcome: the task belongs in ``target`` now."""

    filter_index: int | None  # None: default_filter
    filter_name: str | None
    target_index: int
    target: Target
    expires_at_age: float | None  # task age (s) at which this target times out; None = never
    skipped: tuple[tuple[int, int], ...] = ()  # (filter_index, target_index) passed over by skip_if

    @property
    def queue(self) -> str:
        return self.target.queue

    @property
    def priority(self) -> int | None:
        return self.target.priority

    @property
    def expression(self) -> Expression | None:
        return self.target.expression

    @property
    def order_by(self) -> tuple[OrderBy, ...]:
        return self.target.order_by


@dataclass(frozen=True)
class WorkflowTimeout:
    """The last target of the matched filter timed out: the task leaves the workflow (cancel)."""

    filter_index: int
    filter_name: str | None
    age_limit: float  # the age at which the filter's last target expired
    skipped: tuple[tuple[int, int], ...] = ()
    reason: str = "workflow.timeout"


@dataclass(frozen=True)
class NoMatchingFilter:
    """No filter matched (or every matching filter was skipped) and there is no default_filter."""

    skipped: tuple[tuple[int, int], ...] = ()
    reason: str = "No matching filter"


RoutingDecision = TargetStep | WorkflowTimeout | NoMatchingFilter
SkipPredicate = Callable[[TargetStep], bool]


@dataclass(frozen=True)
class WorkflowConfiguration:
    filters: tuple[Filter, ...]
    default_filter: Target | None
    warnings: tuple[str, ...] = ()

    def queue_sids(self) -> tuple[str, ...]:
        """Every TaskQueue SID the configuration references, in first-seen order."""
        seen: dict[str, None] = {}
        for flt in self.filters:
            for target in flt.targets:
                seen.setdefault(target.queue)
        if self.default_filter is not None:
            seen.setdefault(self.default_filter.queue)
        return tuple(seen)

    def first_matching_filter(
        self, task_attributes: Mapping[str, Any]
    ) -> tuple[int, Filter] | None:
        for flt in self.filters:
            if flt.matches(task_attributes):
                return flt.index, flt
        return None

    def match(self, task_attributes: Mapping[str, Any]) -> FilterMatch | None:
        """The first matching filter, else the default_filter, else None (ignores skip_if)."""
        found = self.first_matching_filter(task_attributes)
        if found is not None:
            return FilterMatch(found[0], found[1], found[1].targets)
        if self.default_filter is not None:
            return FilterMatch(None, None, (self.default_filter,))
        return None

    def target_for_age(
        self,
        task_attributes: Mapping[str, Any],
        age_seconds: float,
        *,
        skip: SkipPredicate | None = None,
    ) -> RoutingDecision:
        """Where a task of this age belongs now (see the module docstring for the rules)."""
        skipped: list[tuple[int, int]] = []
        for flt in self.filters:
            if not flt.matches(task_attributes):
                continue
            offset = 0.0
            last_expired_at: float | None = None
            for target_index, target in enumerate(flt.targets):
                end = offset + target.timeout if target.timeout is not None else None
                if end is not None and age_seconds >= end:
                    offset, last_expired_at = end, end
                    continue
                step = TargetStep(
                    flt.index, flt.friendly_name, target_index, target, end, tuple(skipped)
                )
                if target.skip_if is not None and skip is not None and skip(step):
                    skipped.append((flt.index, target_index))
                    last_expired_at = None
                    if end is not None:
                        offset = end
                    continue
                return step
            if last_expired_at is not None:
                return WorkflowTimeout(
                    flt.index, flt.friendly_name, last_expired_at, tuple(skipped)
                )
        if self.default_filter is not None:
            return TargetStep(None, None, 0, self.default_filter, None, tuple(skipped))
        return NoMatchingFilter(tuple(skipped))


def order_workers(
    workers: Sequence[T],
    order_by: Sequence[OrderBy],
    attributes: Callable[[T], Mapping[str, Any]] | None = None,
) -> list[T]:
    """Sort ``workers`` by ``order_by`` clauses (keys like ``worker.level`` resolve against
    ``{"worker": attributes}``). Only numbers (not booleans) count; a missing or non-numeric value
    sorts last in either direction. The sort is stable, so ties keep the input order."""

    def attrs_of(worker: T) -> Mapping[str, Any]:
        if attributes is not None:
            return attributes(worker)
        return worker if isinstance(worker, Mapping) else {}

    ordered = list(workers)
    for clause in reversed(order_by):

        def sort_key(worker: T, clause: OrderBy = clause) -> tuple[int, float]:
            value = clause.key.resolve({"worker": attrs_of(worker)})
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return (1, 0.0)
            return (0, -value if clause.descending else value)

        ordered.sort(key=sort_key)
    return ordered


def parse_order_by(text: str, path: str = "order_by") -> tuple[OrderBy, ...]:
    """Parse ``worker.english_level ASC, worker.support DESC`` (direction defaults to ASC)."""
    if not isinstance(text, str) or not text.strip():
        raise WorkflowConfigError(path, "must be a non-empty string like 'worker.level DESC'")
    clauses: list[OrderBy] = []
    for number, part in enumerate(text.split(",")):
        words = part.split()
        if not words or len(words) > 2:
            raise WorkflowConfigError(
                path,
                f"clause {number + 1} {part.strip()!r} must be '<worker attribute> [ASC|DESC]'",
            )
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise WorkflowConfigError(
                path, f"clause {number + 1}: direction must be ASC or DESC, got {words[1]!r}"
            )
        try:
            key = parse_key(words[0])
        except ExpressionError as error:
            raise WorkflowConfigError(path, f"clause {number + 1}: {error}") from None
        if key.parts[0] != "worker" or len(key.parts) < 2:
            raise WorkflowConfigError(
                path,
                f"clause {number + 1}: {words[0]!r} must be a worker attribute like worker.level",
            )
        clauses.append(OrderBy(key, direction == "DESC"))
    return tuple(clauses)


# --------------------------------------------------------------------------------------------
# Parsing


MAX_EXPRESSION_CHARACTERS = 65_536
"""Total length of every expression in one configuration (filters, targets, skip_if). With
each expression at most ``MAX_EXPRESSION_LENGTH`` long, this bounds the parsing work of one
configuration (~100 ms) however the 1 MB a configuration may hold is split."""

MAX_PRIORITY = 2_147_483_647
"""A target's priority is a Task priority: 0 to 2^31 - 1 (Twilio's Task resource docs)."""


class _Parser:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.warnings: list[str] = []
        self.expression_characters = 0

    def check_keys(self, obj: Mapping[str, Any], allowed: Sequence[str], path: str) -> None:
        for key in obj:
            if key in allowed:
                continue
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            reason = f"unknown key (expected one of: {', '.join(allowed)}){suggestion}"
            if self.strict:
                raise WorkflowConfigError(f"{path}.{key}", reason)
            self.warnings.append(f"{path}.{key}: {reason}")

    def expression(self, value: Any, path: str) -> Expression:
        if not isinstance(value, str):
            raise WorkflowConfigError(path, f"must be a string, got {_json_type(value)}")
        self.expression_characters += min(len(value), MAX_EXPRESSION_LENGTH)
        if self.expression_characters > MAX_EXPRESSION_CHARACTERS:
            raise WorkflowConfigError(
                path,
                f"the configuration's expressions total more than {MAX_EXPRESSION_CHARACTERS} "
                "characters; split the routing over fewer, shorter expressions",
            )
        try:
            return parse_expression(value)
        except ExpressionError as error:
            raise WorkflowConfigError(path, f"invalid expression {value!r}: {error}") from None

    def configuration(self, document: Any) -> WorkflowConfiguration:
        if not isinstance(document, dict):
            raise WorkflowConfigError(
                "configuration", f"must be a JSON object, got {_json_type(document)}"
            )
        if "task-routing" in document and "task_routing" not in document:
            raise WorkflowConfigError(
                "task-routing",
                "legacy YAML-style configuration is not supported; use a JSON "
                '{"task_routing": {"filters": [...]}} document',
            )
        if "task_routing" not in document:
            raise WorkflowConfigError("task_routing", "missing (the configuration's top-level key)")
        self.check_keys(document, _ROOT_KEYS, "configuration")
        routing = document["task_routing"]
        if not isinstance(routing, dict):
            raise WorkflowConfigError(
                "task_routing", f"must be an object, got {_json_type(routing)}"
            )
        self.check_keys(routing, _ROUTING_KEYS, "task_routing")
        raw_filters = routing.get("filters", [])
        if not isinstance(raw_filters, list):
            raise WorkflowConfigError(
                "task_routing.filters", f"must be a list, got {_json_type(raw_filters)}"
            )
        filters = tuple(
            self.filter(raw, index, f"task_routing.filters[{index}]")
            for index, raw in enumerate(raw_filters)
        )
        default = None
        if "default_filter" in routing:
            default = self.default_filter(routing["default_filter"], "task_routing.default_filter")
        if not filters and default is None:
            self.warnings.append("task_routing: no filters and no default_filter (routes no task)")
        return WorkflowConfiguration(filters, default, tuple(self.warnings))

    def filter(self, raw: Any, index: int, path: str) -> Filter:
        if not isinstance(raw, dict):
            raise WorkflowConfigError(path, f"must be an object, got {_json_type(raw)}")
        self.check_keys(raw, _FILTER_KEYS, path)
        name: str | None = None
        for key in ("filter_friendly_name", "friendly_name"):
            if key in raw:
                if not isinstance(raw[key], str):
                    raise WorkflowConfigError(
                        f"{path}.{key}", f"must be a string, got {_json_type(raw[key])}"
                    )
                name = name if name is not None else raw[key]
        if "expression" not in raw:
            raise WorkflowConfigError(
                f"{path}.expression", 'missing (use "1==1" to match every task)'
            )
        expression = self.expression(raw["expression"], f"{path}.expression")
        raw_targets = raw.get("targets")
        if raw_targets is None:
            raise WorkflowConfigError(
                f"{path}.targets", "missing (a filter needs at least one target)"
            )
        if not isinstance(raw_targets, list) or not raw_targets:
            raise WorkflowConfigError(
                f"{path}.targets", f"must be a non-empty list, got {_json_describe(raw_targets)}"
            )
        targets: list[Target] = []
        for target_index, raw_target in enumerate(raw_targets):
            inherited = targets[0].queue if targets else None
            targets.append(self.target(raw_target, f"{path}.targets[{target_index}]", inherited))
        for target in targets[:-1]:
            if target.timeout is None and target.skip_if is None:
                self.warnings.append(
                    f"{path}: a target without timeout or skip_if comes before the last one,"
                    " so later targets are never reached"
                )
                break
        return Filter(index, name, expression, tuple(targets))

    def target(self, raw: Any, path: str, inherited_queue: str | None) -> Target:
        if not isinstance(raw, dict):
            raise WorkflowConfigError(path, f"must be an object, got {_json_type(raw)}")
        self.check_keys(raw, _TARGET_KEYS, path)
        if "queue" in raw:
            queue = self.queue(raw["queue"], f"{path}.queue")
        elif inherited_queue is None:
            raise WorkflowConfigError(
                f"{path}.queue", "missing (the first target of a filter must name a TaskQueue SID)"
            )
        else:
            queue = inherited_queue
        priority = self.priority(raw["priority"], f"{path}.priority") if "priority" in raw else None
        timeout = self.timeout(raw["timeout"], f"{path}.timeout") if "timeout" in raw else None
        expression = None
        if "expression" in raw:
            expression = self.expression(raw["expression"], f"{path}.expression")
            used = expression.keys()
            bare = sorted(k for k in used if re.split(r"[.\[]", k)[0] not in ("task", "worker"))
            if bare:
                self.warnings.append(
                    f"{path}.expression: keys must start with task. or worker.; "
                    f"{', '.join(bare)} will always be null"
                )
        order_by: tuple[OrderBy, ...] = ()
        if "order_by" in raw:
            order_by = parse_order_by(raw["order_by"], f"{path}.order_by")
        skip_if = self.expression(raw["skip_if"], f"{path}.skip_if") if "skip_if" in raw else None
        known_sid = self.known_worker(raw, "known_worker_sid", path)
        known_name = self.known_worker(raw, "known_worker_friendly_name", path)
        if known_sid is not None and known_name is not None:
            raise WorkflowConfigError(
                path, "give known_worker_sid or known_worker_friendly_name, not both"
            )
        return Target(
            queue, priority, timeout, expression, order_by, skip_if, known_sid, known_name
        )

    def default_filter(self, raw: Any, path: str) -> Target:
        if not isinstance(raw, dict):
            raise WorkflowConfigError(path, f"must be an object, got {_json_type(raw)}")
        self.check_keys(raw, _DEFAULT_FILTER_KEYS, path)
        if "queue" not in raw:
            raise WorkflowConfigError(
                f"{path}.queue", "missing (the default_filter must name a TaskQueue SID)"
            )
        return Target(self.queue(raw["queue"], f"{path}.queue"))

    @staticmethod
    def queue(value: Any, path: str) -> str:
        if not isinstance(value, str) or not _QUEUE_SID.fullmatch(value):
            raise WorkflowConfigError(
                path, f"must be a TaskQueue SID (WQ + 32 hex digits), got {_json_describe(value)}"
            )
        return value

    @staticmethod
    def priority(value: Any, path: str) -> int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
            number = int(value)
        if number is None:
            raise WorkflowConfigError(
                path, f"must be an integer (or a numeric string), got {_json_describe(value)}"
            )
        if not 0 <= number <= MAX_PRIORITY:
            raise WorkflowConfigError(
                path, f"must be between 0 and {MAX_PRIORITY} (a Task priority), got {number}"
            )
        return number

    @staticmethod
    def timeout(value: Any, path: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        raise WorkflowConfigError(
            path, f"must be a positive integer (seconds), got {_json_describe(value)}"
        )

    @staticmethod
    def known_worker(raw: Mapping[str, Any], key: str, path: str) -> str | None:
        if key not in raw:
            return None
        value = raw[key]
        if not isinstance(value, str) or not value.strip():
            raise WorkflowConfigError(
                f"{path}.{key}", f"must be a non-empty string, got {_json_describe(value)}"
            )
        if value.startswith("task."):
            try:
                parse_key(value)
            except ExpressionError as error:
                raise WorkflowConfigError(
                    f"{path}.{key}", f"invalid task attribute reference: {error}"
                ) from None
        elif key == "known_worker_sid" and not _WORKER_SID.fullmatch(value):
            raise WorkflowConfigError(
                f"{path}.{key}",
                "must be a task attribute reference like task.requested_agent or a Worker SID,"
                f" got {value!r}",
            )
        return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _json_describe(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "an empty list" if value == [] else _json_type(value)
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_workflow_configuration(text: str, *, strict: bool = False) -> WorkflowConfiguration:
    """Parse and validate a workflow ``Configuration`` JSON string.

    Raises :class:`WorkflowConfigError` naming the JSON path and the reason. Unknown keys are
    recorded in ``.warnings`` (real TaskRouter most likely ignores them); ``strict=True`` rejects
    them instead, which catches typos such as ``"target"`` for ``"targets"``.
    """
    if not isinstance(text, str):
        raise WorkflowConfigError(
            "configuration", f"must be a JSON string, got {type(text).__name__}"
        )
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise WorkflowConfigError("configuration", f"not valid JSON ({error})") from None
    return _Parser(strict).configuration(document)
