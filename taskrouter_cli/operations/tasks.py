"""Tasks: create, list with a limit, wait for routing, change status."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from taskrouter_cli.errors import CheckFailed, UsageError
from taskrouter_cli.operations.polling import Poller
from taskrouter_cli.resolve import WORKFLOW, Resolver, describe_candidates

FINAL_STATUSES = frozenset({"canceled", "completed"})
WAIT_UNTIL = frozenset({"reserved", "assigned", "completed"})
"""What ``--wait`` waits for; a Task canceled meanwhile fails the wait with its reason."""
MAX_PAGE_SIZE = 1000
DEFAULT_REASONS = {"canceled": "canceled with trcli", "completed": "completed with trcli"}
"""The ``Reason`` sent when the user gives none (TaskRouter requires one for these moves)."""


def choose_workflow_sid(
    resolver: Resolver, workspace_sid: str, value: str | None, default: str | None
) -> str:
    """The Workflow for a new Task: ``--workflow``, else the ``workflow`` setting, else the
    workspace's only Workflow (an error listing the candidates when there are several)."""
    wanted = value or default
    if wanted:
        return resolver.sid_in_workspace(WORKFLOW, workspace_sid, wanted)
    workflows = resolver.list_in_workspace(WORKFLOW, workspace_sid)
    if len(workflows) == 1:
        return str(workflows[0].sid)
    if not workflows:
        raise UsageError(
            "The workspace has no Workflow to route the Task",
            "Create one with 'trcli workflow create NAME --configuration @workflow.json'",
        )
    raise UsageError(
        f"The workspace has {len(workflows)} Workflows ({describe_candidates(workflows)}); "
        "say which one",
        "Pass --workflow NAME|SID or set a default: 'trcli config set workflow NAME'",
    )


def create_task(
    workspace: Any,
    *,
    attributes: str | None,
    workflow_sid: str,
    priority: int | None = None,
    timeout: int | None = None,
    channel: str | None = None,
) -> Any:
    """POST a Task; options left as None are not sent (TaskRouter's defaults apply)."""
    from twilio.base import values

    def given(value: Any) -> Any:
        return values.unset if value is None else value

    return workspace.tasks.create(
        attributes=given(attributes),
        workflow_sid=workflow_sid,
        priority=given(priority),
        timeout=given(timeout),
        task_channel=given(channel),
    )


def unroutable_reason(workspace: Any, task: Any) -> str | None:
    """Why a just-created Task will not reach a worker, or None.

    A Task that matches no filter of its Workflow (and the Workflow has no default filter) is
    canceled by TaskRouter with the reason "No matching filter"; live TaskRouter may still
    answer ``pending`` when it is created, so the filters are evaluated here too.
    """
    import json

    from taskrouter_cli.routing.workflow import (
        NoMatchingFilter,
        WorkflowConfigError,
        parse_workflow_configuration,
    )

    status = str(task.assignment_status)
    if status == "canceled":
        return f"TaskRouter canceled it: {task.reason or 'no reason given'}"
    if status != "pending":
        return None
    workflow = workspace.workflows(str(task.workflow_sid)).fetch()
    try:
        config = parse_workflow_configuration(workflow.configuration or "")
        attributes = json.loads(task.attributes or "{}")
    except (WorkflowConfigError, ValueError):
        return None
    if not isinstance(attributes, dict):
        return None
    decision = config.target_for_age(attributes, 0.0)
    if isinstance(decision, NoMatchingFilter):
        return (
            f"its attributes match no filter of Workflow {workflow.friendly_name} and it has no "
            f"default filter, so TaskRouter cancels it ({decision.reason!r})"
        )
    return None


def list_tasks(
    workspace: Any,
    *,
    statuses: Sequence[str] = (),
    queue_sid: str | None = None,
    workflow_sid: str | None = None,
    limit: int = 50,
) -> tuple[list[Any], bool]:
    """Up to ``limit`` Tasks (paging through the API) and whether more exist."""
    from twilio.base import values

    items = list(
        workspace.tasks.stream(
            assignment_status=list(statuses) if statuses else values.unset,
            task_queue_sid=queue_sid or values.unset,
            workflow_sid=workflow_sid or values.unset,
            limit=limit + 1,
            page_size=min(limit + 1, MAX_PAGE_SIZE),
        )
    )
    return items[:limit], len(items) > limit


def fetch_task(workspace: Any, task_sid: str) -> Any:
    return workspace.tasks(task_sid).fetch()


def task_reservations(workspace: Any, task_sid: str, status: str | None = None) -> list[Any]:
    from twilio.base import values

    items = workspace.tasks(task_sid).reservations.list(
        reservation_status=status or values.unset, page_size=MAX_PAGE_SIZE
    )
    return sorted(items, key=lambda r: (r.date_created is None, r.date_created))


@dataclass(frozen=True)
class Stage:
    """One observed state of a Task while waiting: when, which status, which reservation."""

    elapsed: float
    status: str
    reservation_sid: str | None = None
    worker_name: str | None = None


class WaitTimeout(CheckFailed):
    """``--wait`` ran out of time before the Task was reserved or finished."""


def current_stage(workspace: Any, task_sid: str, elapsed: float) -> tuple[Any, Stage]:
    task = workspace.tasks(task_sid).fetch()
    status = str(task.assignment_status)
    reservation = None
    if status in ("reserved", "assigned", "wrapping", "completed"):
        wanted = "pending" if status == "reserved" else "accepted"
        found = task_reservations(workspace, task_sid, wanted)
        if not found and status != "reserved":
            found = task_reservations(workspace, task_sid)
        reservation = found[-1] if found else None
    return task, Stage(
        elapsed=elapsed,
        status=status,
        reservation_sid=str(reservation.sid) if reservation else None,
        worker_name=str(reservation.worker_name) if reservation else None,
    )


def wait_for_task(
    workspace: Any,
    task_sid: str,
    poller: Poller,
    on_stage: Callable[[Stage], None],
    until: frozenset[str] = WAIT_UNTIL,
) -> tuple[Any, Stage]:
    """Poll the Task until its status is in ``until``; report each new stage to ``on_stage``.

    Raises :class:`WaitTimeout` (exit 6) when the poller's time runs out first.
    """
    last: tuple[str, str | None] | None = None
    while True:
        task, stage = current_stage(workspace, task_sid, poller.elapsed)
        if (stage.status, stage.reservation_sid) != last:
            last = (stage.status, stage.reservation_sid)
            on_stage(stage)
        if stage.status == "canceled" and "canceled" not in until:
            raise CheckFailed(
                f"Task {task_sid} was canceled: {task.reason or 'no reason given'}",
                f"See why with 'trcli explain {task_sid}'",
            )
        if stage.status in until:
            return task, stage
        if not poller.wait():
            raise WaitTimeout(
                f"Task {task_sid} is still {stage.status} after {poller.timeout:g} s",
                "No worker took it yet: make one available, e.g. "
                "'trcli worker set-activity NAME Idle', then 'trcli task watch " + task_sid + "'",
            )


def set_task_status(workspace: Any, task_sid: str, status: str, reason: str | None) -> Any:
    """Cancel, complete or wrap a Task; explains a status the move is not allowed from."""
    from twilio.base import values

    task = workspace.tasks(task_sid).fetch()
    current = str(task.assignment_status)
    allowed = {
        "canceled": ("pending", "reserved"),
        "completed": ("assigned", "wrapping"),
        "wrapping": ("assigned",),
    }[status]
    if current not in allowed:
        verb = {"canceled": "cancel", "completed": "complete", "wrapping": "wrap up"}[status]
        hint = {
            "canceled": "Only pending or reserved Tasks can be canceled; complete an assigned one",
            "completed": "Only assigned (or wrapping) Tasks can be completed; accept its "
            "reservation first or cancel it",
            "wrapping": "Only assigned Tasks can move to wrapping",
        }[status]
        raise UsageError(f"Cannot {verb} Task {task_sid}: it is {current}", hint)
    if reason is None and status in ("canceled", "completed"):
        # UpdateTask Reason is "required only if the Task is canceled or completed" (spec)
        reason = DEFAULT_REASONS[status]
    return workspace.tasks(task_sid).update(
        assignment_status=status, reason=reason if reason is not None else values.unset
    )


def update_task(
    workspace: Any, task_sid: str, *, attributes: str | None, priority: int | None
) -> Any:
    from twilio.base import values

    if attributes is None and priority is None:
        raise UsageError("Nothing to update", "Pass --attributes and/or --priority")
    return workspace.tasks(task_sid).update(
        attributes=values.unset if attributes is None else attributes,
        priority=values.unset if priority is None else priority,
    )
