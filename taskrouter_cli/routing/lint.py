"""Check a workflow configuration before anyone routes with it (``trcli workflow lint``).

:func:`lint_configuration` takes the configuration text and, when known, the workspace's queues
and workers, and returns every finding with a JSON path into the configuration::

    for finding in lint_configuration(text, queues, workers):
        finding.severity, finding.code, finding.path, finding.message, finding.position

Codes (severity ``error`` unless noted):

* ``schema`` -- not the documented shape: not JSON, a missing or mistyped field, an unknown key
  (a typo such as ``"target"`` is otherwise silently ignored), a queue that is not a SID;
* ``expression`` -- an expression that does not parse (``position`` is its 0-based column);
* ``unknown-queue`` -- a TaskQueue SID that is not in the workspace;
* ``shadowed-filter`` -- a filter no task can reach: an earlier filter matches every task, or
  has the same expression (unless that filter's last target has ``skip_if``, which lets tasks
  fall through);
* ``unmatchable-target`` -- no current worker can ever be reserved by the target: its queue has
  no worker, or no worker of the queue satisfies the worker-side of the target's expression or
  its known worker (task-side comparisons count as "could be true");
* ``timeout-past-ttl`` -- the targets' timeouts add up past the task's ``Timeout`` (its TTL,
  86,400 s unless the task sets one), so the task is canceled before they run out;
* ``undocumented`` (warning) -- a construct Twilio does not document (unary NOT, lower-case
  operators), from :mod:`taskrouter_cli.routing.undocumented`, in the configuration or in the
  ``target_workers`` of a queue it routes to;
* ``config`` (warning) -- the parser's other remarks (a target without timeout before the last
  one, target-expression keys without ``task.``/``worker.``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from taskrouter_cli.routing.dry_run import (
    DEFAULT_TASK_TIMEOUT,
    QueueState,
    WorkerState,
    queue_members,
)
from taskrouter_cli.routing.expressions import (
    And,
    Comparison,
    Constant,
    ExpressionError,
    Key,
    Node,
    Not,
    Or,
    parse_expression,
)
from taskrouter_cli.routing.undocumented import undocumented_constructs
from taskrouter_cli.routing.workflow import (
    Target,
    WorkflowConfigError,
    WorkflowConfiguration,
    parse_workflow_configuration,
)

__all__ = ["ERROR", "WARNING", "Finding", "lint_configuration", "raw_expressions"]

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    path: str
    message: str
    position: int | None = None

    def line(self) -> str:
        return f"{self.severity}: {self.path}: {self.message} [{self.code}]"


def raw_expressions(document: Any) -> Iterator[tuple[str, Any]]:
    """(JSON path, value) of every expression field of a configuration document, as written."""
    routing = document.get("task_routing") if isinstance(document, dict) else None
    filters = routing.get("filters") if isinstance(routing, dict) else None
    for index, flt in enumerate(filters if isinstance(filters, list) else []):
        if not isinstance(flt, dict):
            continue
        base = f"task_routing.filters[{index}]"
        if "expression" in flt:
            yield f"{base}.expression", flt["expression"]
        targets = flt.get("targets")
        for number, target in enumerate(targets if isinstance(targets, list) else []):
            if isinstance(target, dict):
                for key in ("expression", "skip_if"):
                    if key in target:
                        yield f"{base}.targets[{number}].{key}", target[key]


def _expressions(document: Any) -> tuple[list[Finding], set[str]]:
    findings: list[Finding] = []
    broken: set[str] = set()
    for path, value in raw_expressions(document):
        if not isinstance(value, str):
            continue  # the schema check names it
        try:
            parse_expression(value)
        except ExpressionError as error:
            broken.add(path)
            findings.append(
                Finding(
                    ERROR,
                    "expression",
                    path,
                    f"{error.message} at column {error.position + 1} of {value!r}",
                    error.position,
                )
            )
            continue
        for item in undocumented_constructs(value):
            findings.append(
                Finding(
                    WARNING,
                    "undocumented",
                    path,
                    f"{item.message}, at column {item.position + 1} of {value!r}",
                    item.position,
                )
            )
    return findings, broken


def _always_true(node: Node) -> bool:
    """True for an expression that holds whatever the task (constants only, e.g. ``1==1``)."""
    if isinstance(node, Comparison):
        constant = isinstance(node.left, Constant) and isinstance(node.right, Constant)
        return constant and node.evaluate({})
    if isinstance(node, Or):
        return any(_always_true(op) for op in node.operands)
    if isinstance(node, And):
        return all(_always_true(op) for op in node.operands)
    return False


def _worker_side(node: Node, worker: Mapping[str, Any]) -> bool | None:
    """The expression for this worker with every task-side comparison unknown (None)."""
    if isinstance(node, Comparison):
        keys = [op for op in (node.left, node.right) if isinstance(op, Key)]
        if any(key.parts[0] != "worker" for key in keys):
            return None
        return node.evaluate({"worker": worker})
    if isinstance(node, Not):
        inner = _worker_side(node.operand, worker)
        return None if inner is None else not inner
    results = [_worker_side(op, worker) for op in node.operands]
    if isinstance(node, And):
        if False in results:
            return False
        return True if all(results) else None
    if True in results:
        return True
    return False if all(r is False for r in results) else None


def _could_serve(target: Target, worker: WorkerState) -> bool:
    for field, literal in (
        ("sid", target.known_worker_sid),
        ("name", target.known_worker_friendly_name),
    ):
        fixed = literal is not None and not literal.startswith("task.")
        if fixed and (worker.sid if field == "sid" else worker.name) != literal:
            return False
    if target.expression is None:
        return True
    return _worker_side(target.expression.root, worker.view()) is not False


def _targets(config: WorkflowConfiguration) -> Iterator[tuple[str, Target]]:
    for flt in config.filters:
        for number, target in enumerate(flt.targets):
            yield f"task_routing.filters[{flt.index}].targets[{number}]", target
    if config.default_filter is not None:
        yield "task_routing.default_filter", config.default_filter


def _shadowed(config: WorkflowConfiguration) -> Iterator[Finding]:
    for flt in config.filters:
        for earlier in config.filters[: flt.index]:
            if earlier.targets[-1].skip_if is not None:
                continue
            name = f"filter {earlier.index + 1} ({earlier.friendly_name or 'unnamed'})"
            reason = None
            if _always_true(earlier.expression.root):
                reason = f"{name} comes first and matches every task ({earlier.expression.text})"
            elif str(earlier.expression) == str(flt.expression):
                reason = f"{name} comes first with the same expression"
            if reason is not None:
                yield Finding(
                    ERROR,
                    "shadowed-filter",
                    f"task_routing.filters[{flt.index}]",
                    f"no task ever reaches this filter: {reason}",
                )
                break


def _unmatchable(
    config: WorkflowConfiguration, queues: Mapping[str, QueueState], workers: Sequence[WorkerState]
) -> Iterator[Finding]:
    everyone = tuple(workers)
    for path, target in _targets(config):
        queue = queues.get(target.queue)
        if queue is None:
            continue
        members = [w for w in everyone if w.sid in queue_members(queue, everyone)]
        if not members:
            names = ", ".join(w.name for w in everyone) or "the workspace has none"
            yield Finding(
                ERROR,
                "unmatchable-target",
                f"{path}.queue",
                f"no current worker is in queue {queue.name}: its target_workers "
                f"{queue.target_workers!r} matches none of the workers ({names})",
            )
            continue
        if not any(_could_serve(target, w) for w in members):
            what = (
                f"the target's expression {target.expression.text!r}"
                if target.expression is not None
                else "the target's known worker"
            )
            yield Finding(
                ERROR,
                "unmatchable-target",
                path,
                f"no current worker of queue {queue.name} "
                f"({', '.join(w.name for w in members)}) can satisfy {what}",
            )


def _queue_constructs(
    config: WorkflowConfiguration, queues: Mapping[str, QueueState]
) -> Iterator[Finding]:
    """Undocumented constructs in the ``target_workers`` of the queues the targets use (once
    per queue, at its first reference)."""
    seen: set[str] = set()
    for path, target in _targets(config):
        queue = queues.get(target.queue)
        if queue is None or queue.sid in seen or not queue.target_workers:
            continue
        seen.add(queue.sid)
        for item in undocumented_constructs(queue.target_workers):
            yield Finding(
                WARNING,
                "undocumented",
                f"{path}.queue",
                f"queue {queue.name}'s target_workers: {item.message}, at column "
                f"{item.position + 1} of {queue.target_workers!r}",
                item.position,
            )


def _past_ttl(config: WorkflowConfiguration, task_timeout: int) -> Iterator[Finding]:
    for flt in config.filters:
        total = 0
        for number, target in enumerate(flt.targets):
            if target.timeout is None:
                continue
            total += target.timeout
            if total > task_timeout:
                yield Finding(
                    ERROR,
                    "timeout-past-ttl",
                    f"task_routing.filters[{flt.index}].targets[{number}].timeout",
                    f"the targets' timeouts add up to {total} s here, past the task's Timeout "
                    f"({task_timeout} s): the task is canceled before this target runs out",
                )
                break


def lint_configuration(
    text: str,
    queues: Mapping[str, QueueState] | None = None,
    workers: Sequence[WorkerState] | None = None,
    *,
    task_timeout: int = DEFAULT_TASK_TIMEOUT,
) -> tuple[Finding, ...]:
    """Every finding for the configuration ``text`` (see the module docstring). Without
    ``queues`` the queue and worker checks are skipped."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError, TypeError) as error:
        return (Finding(ERROR, "schema", "configuration", f"not valid JSON ({error})"),)
    findings, broken = _expressions(document)
    try:
        config = parse_workflow_configuration(text)
    except WorkflowConfigError as error:
        if error.path not in broken:
            findings.append(Finding(ERROR, "schema", error.path, error.reason))
        return tuple(findings)
    for remark in config.warnings:
        path, _, reason = remark.partition(": ")
        if "unknown key" in reason:
            findings.append(Finding(ERROR, "schema", path, reason))
        else:
            findings.append(Finding(WARNING, "config", path, reason))
    findings.extend(_shadowed(config))
    if queues is not None:
        for path, target in _targets(config):
            if target.queue not in queues:
                findings.append(
                    Finding(
                        ERROR,
                        "unknown-queue",
                        f"{path}.queue",
                        f"TaskQueue {target.queue} does not exist in this workspace",
                    )
                )
        findings.extend(_unmatchable(config, queues, workers or ()))
        findings.extend(_queue_constructs(config, queues))
    findings.extend(_past_ttl(config, task_timeout))
    return tuple(findings)
