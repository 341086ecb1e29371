"""Reservations: find the one the user means, explain why it cannot be answered, answer it.

Which reservation ``accept``/``reject`` act on:

* a ``WR…`` SID with ``--task``: that reservation of that task;
* a ``WR…`` SID alone: its task is found by scanning reserved tasks, then every worker's
  reservations;
* ``--task`` alone: that task's one pending reservation;
* nothing: the workspace's one pending reservation (reserved tasks → their pending
  reservations); several or none is a usage error (exit 2) listing what there is.

Answering a reservation that is no longer pending is refused before any request with one line
saying what happened to it (timed out, accepted by whom, rejected, canceled, rescinded); that is
a usage error (exit 2) because the request cannot succeed in the current state.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from taskrouter_cli.errors import NotFoundError, UsageError
from taskrouter_cli.operations.tasks import MAX_PAGE_SIZE, task_reservations
from taskrouter_cli.resolve import check_sid


def _by_date(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda r: (r.date_created is None, r.date_created, r.sid))


def list_reservations(
    workspace: Any,
    *,
    task_sid: str | None = None,
    worker_sid: str | None = None,
    status: str | None = None,
) -> list[Any]:
    """Reservations of a task, of a worker, or (neither) of every worker in the workspace."""
    from twilio.base import values

    wanted = status or values.unset
    if task_sid:
        items = workspace.tasks(task_sid).reservations.list(
            reservation_status=wanted,
            worker_sid=worker_sid or values.unset,
            page_size=MAX_PAGE_SIZE,
        )
        return _by_date(items)
    worker_sids = (
        [worker_sid]
        if worker_sid
        else [w.sid for w in workspace.workers.stream(page_size=MAX_PAGE_SIZE)]
    )
    found: list[Any] = []
    for sid in worker_sids:
        found.extend(
            workspace.workers(sid).reservations.list(
                reservation_status=wanted, page_size=MAX_PAGE_SIZE
            )
        )
    return _by_date(found)


def pending_reservations(workspace: Any) -> list[Any]:
    """Every pending reservation in the workspace (via the tasks that are reserved)."""
    found: list[Any] = []
    for task in workspace.tasks.stream(assignment_status=["reserved"], page_size=MAX_PAGE_SIZE):
        found.extend(task_reservations(workspace, str(task.sid), "pending"))
    return _by_date(found)


def describe(reservation: Any) -> str:
    return f"{reservation.sid} ({reservation.worker_name}, task {reservation.task_sid})"


def find_pending(workspace: Any, task_sid: str | None) -> Any:
    """The pending reservation meant when no WR SID is given (see the module docstring)."""
    if task_sid:
        pending = task_reservations(workspace, task_sid, "pending")
        if len(pending) == 1:
            return pending[0]
        if not pending:
            task = workspace.tasks(task_sid).fetch()
            raise UsageError(
                f"Task {task_sid} has no pending reservation (it is {task.assignment_status})",
                _hint_for_task_status(str(task.assignment_status)),
            )
        names = ", ".join(describe(r) for r in pending)
        raise UsageError(
            f"Task {task_sid} has {len(pending)} pending reservations: {names}",
            "Name one: 'trcli reservation accept WR...'",
        )
    pending = pending_reservations(workspace)
    if len(pending) == 1:
        return pending[0]
    if not pending:
        raise UsageError(
            "No pending reservation in the workspace",
            "A reservation appears when a task waits and a matching worker is available: "
            "'trcli task list --status pending', 'trcli worker set-activity NAME Idle'",
        )
    names = ", ".join(describe(r) for r in pending)
    raise UsageError(
        f"{len(pending)} reservations are pending: {names}",
        "Say which: pass the WR... SID or --task WT...",
    )


def _hint_for_task_status(status: str) -> str:
    return {
        "pending": "It waits for an available worker: 'trcli worker set-activity NAME Idle'",
        "assigned": "Its reservation was already accepted: 'trcli task show' lists it",
        "wrapping": "Its reservation was already accepted",
        "canceled": "The task was canceled",
        "completed": "The task is completed",
    }.get(status, "See 'trcli task show'")


def locate(workspace: Any, reservation_sid: str, task_sid: str | None = None) -> Any:
    """The reservation (task view) with this SID; finds its task when not given."""
    check_sid(reservation_sid, "Reservation")
    if task_sid:
        check_sid(task_sid, "Task")
        return workspace.tasks(task_sid).reservations(reservation_sid).fetch()
    for reservation in pending_reservations(workspace):
        if reservation.sid == reservation_sid:
            return reservation
    for worker in workspace.workers.stream(page_size=MAX_PAGE_SIZE):
        for reservation in workspace.workers(worker.sid).reservations.list(page_size=MAX_PAGE_SIZE):
            if reservation.sid == reservation_sid:
                return workspace.tasks(reservation.task_sid).reservations(reservation_sid).fetch()
    raise NotFoundError(
        f"No reservation {reservation_sid} in this workspace",
        "List them with 'trcli reservation list'",
    )


def clock_time(value: Any) -> str:
    """``10:32:05`` (UTC) for a datetime; the value as text otherwise."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.strftime("%H:%M:%S")
    return str(value) if value else "an unknown time"


def explain_not_pending(workspace: Any, reservation: Any) -> str:
    """One line saying what happened to a reservation that is not pending any more."""
    status = str(reservation.reservation_status)
    sid, worker = reservation.sid, reservation.worker_name
    when = clock_time(reservation.date_updated)
    task = workspace.tasks(reservation.task_sid).fetch()
    task_status = str(task.assignment_status)
    if status == "timeout":
        seconds = reservation_timeout(workspace, str(task.workflow_sid))
        after = f"after {seconds} s, " if seconds is not None else ""
        again = "pending again" if task_status == "pending" else task_status
        return (
            f"Reservation {sid} timed out ({after}at {when}); the task is {again} and {worker} "
            f"was moved to the workspace's timeout activity — make the worker available "
            f"('trcli worker set-activity {worker} Idle') to get a new reservation"
        )
    if status == "accepted":
        return (
            f"Reservation {sid} was already accepted by {worker} at {when}; "
            f"the task is {task_status}"
        )
    if status == "rejected":
        return (
            f"Reservation {sid} was rejected by {worker} at {when}; the task is {task_status}"
            + (" and goes to the next available worker" if task_status == "pending" else "")
        )
    if status == "canceled":
        if task_status == "canceled":
            reason = f" ({task.reason})" if task.reason else ""
            return f"Reservation {sid} was canceled at {when} because the task was canceled{reason}"
        return (
            f"Reservation {sid} was canceled at {when} (the assignment callback could not be "
            f"reached, or the task left the workflow); the task is {task_status}"
        )
    if status == "rescinded":
        return f"Reservation {sid} was rescinded at {when} because another worker accepted the task"
    return f"Reservation {sid} is {status} (since {when}); the task is {task_status}"


def reservation_timeout(workspace: Any, workflow_sid: str) -> int | None:
    """The Workflow's task_reservation_timeout in seconds (None when it cannot be read)."""
    from twilio.base.exceptions import TwilioRestException

    try:
        return int(workspace.workflows(workflow_sid).fetch().task_reservation_timeout)
    except (TwilioRestException, TypeError, ValueError):
        return None  # the workflow may be gone; the explanation does without the number


def answer(
    workspace: Any, reservation: Any, status: str, *, activity_sid: str | None = None
) -> Any:
    """Accept or reject a pending reservation (refused with an explanation otherwise)."""
    from twilio.base import values

    if str(reservation.reservation_status) != "pending":
        raise UsageError(explain_not_pending(workspace, reservation))
    context = workspace.tasks(reservation.task_sid).reservations(reservation.sid)
    return context.update(
        reservation_status=status, worker_activity_sid=activity_sid or values.unset
    )
