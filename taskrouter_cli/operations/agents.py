"""What an agent sees and does (the ``trcli serve --ui`` console): workers and their
activities, one reservation with its task, and the agent's actions on them.

Read functions return typed records built from SDK objects; the actions go through the same
functions as the CLI (``reservations.answer``, ``tasks.set_task_status``) so the console and
``trcli reservation accept`` refuse the same things with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from taskrouter_cli.errors import UsageError
from taskrouter_cli.operations.inputs import stored_object
from taskrouter_cli.operations.reservations import answer
from taskrouter_cli.operations.tasks import MAX_PAGE_SIZE, set_task_status
from taskrouter_cli.output import format_datetime
from taskrouter_cli.resolve import check_sid


@dataclass(frozen=True)
class ActivityView:
    sid: str
    name: str
    available: bool


@dataclass(frozen=True)
class WorkerView:
    sid: str
    name: str
    activity_sid: str
    activity_name: str
    available: bool


@dataclass(frozen=True)
class ReservationState:
    """A reservation and its task as TaskRouter has them now."""

    reservation_sid: str
    task_sid: str
    reservation_status: str
    reservation_created: str | None
    reservation_updated: str | None
    worker_sid: str
    worker_name: str
    task_status: str
    task_created: str | None
    task_updated: str | None
    task_attributes: dict[str, Any]
    task_age: int | None
    task_queue_name: str | None
    workflow_sid: str | None
    reason: str | None


def iso_time(value: Any) -> str | None:
    """An SDK datetime as ``2024-01-01T12:00:00Z`` (UTC); None stays None."""
    if isinstance(value, datetime):
        return format_datetime(value)
    return str(value) if value else None


def list_activities(workspace: Any) -> list[ActivityView]:
    return [
        ActivityView(sid=str(a.sid), name=str(a.friendly_name), available=bool(a.available))
        for a in workspace.activities.stream(page_size=MAX_PAGE_SIZE)
    ]


def list_workers(workspace: Any) -> list[WorkerView]:
    return [
        WorkerView(
            sid=str(w.sid),
            name=str(w.friendly_name),
            activity_sid=str(w.activity_sid),
            activity_name=str(w.activity_name),
            available=bool(w.available),
        )
        for w in workspace.workers.stream(page_size=MAX_PAGE_SIZE)
    ]


def pending_reservation_keys(workspace: Any) -> list[tuple[str, str]]:
    """(task SID, reservation SID) of every pending reservation, via the reserved tasks."""
    keys: list[tuple[str, str]] = []
    for task in workspace.tasks.stream(assignment_status=["reserved"], page_size=MAX_PAGE_SIZE):
        for reservation in workspace.tasks(task.sid).reservations.list(
            reservation_status="pending", page_size=MAX_PAGE_SIZE
        ):
            keys.append((str(task.sid), str(reservation.sid)))
    return keys


def reservation_state(workspace: Any, task_sid: str, reservation_sid: str) -> ReservationState:
    reservation = workspace.tasks(task_sid).reservations(reservation_sid).fetch()
    task = workspace.tasks(task_sid).fetch()
    age = getattr(task, "age", None)
    return ReservationState(
        reservation_sid=reservation_sid,
        task_sid=task_sid,
        reservation_status=str(reservation.reservation_status),
        reservation_created=iso_time(reservation.date_created),
        reservation_updated=iso_time(reservation.date_updated),
        worker_sid=str(reservation.worker_sid),
        worker_name=str(reservation.worker_name),
        task_status=str(task.assignment_status),
        task_created=iso_time(task.date_created),
        task_updated=iso_time(task.date_updated),
        task_attributes=stored_object(task.attributes),
        task_age=int(age) if age is not None else None,
        task_queue_name=str(task.task_queue_friendly_name or "") or None,
        workflow_sid=str(task.workflow_sid or "") or None,
        reason=str(task.reason) if task.reason else None,
    )


def accept_reservation(workspace: Any, task_sid: str, reservation_sid: str) -> None:
    reservation = workspace.tasks(task_sid).reservations(reservation_sid).fetch()
    answer(workspace, reservation, "accepted")


def reject_reservation(
    workspace: Any, task_sid: str, reservation_sid: str, activity_sid: str | None
) -> None:
    if activity_sid:
        check_sid(activity_sid, "Activity")
    reservation = workspace.tasks(task_sid).reservations(reservation_sid).fetch()
    answer(workspace, reservation, "rejected", activity_sid=activity_sid)


def complete_task(workspace: Any, task_sid: str, reason: str) -> None:
    if not reason.strip():
        raise UsageError("Say why the task is complete", "TaskRouter keeps the reason in its log")
    set_task_status(workspace, task_sid, "completed", reason.strip())


def set_worker_activity(
    workspace: Any, worker_sid: str, activity_sid: str, *, reject_pending: bool = False
) -> Any:
    """Move a worker to an activity (what ``trcli worker set-activity`` does)."""
    from twilio.base import values

    check_sid(worker_sid, "Worker")
    check_sid(activity_sid, "Activity")
    return workspace.workers(worker_sid).update(
        activity_sid=activity_sid,
        reject_pending_reservations=True if reject_pending else values.unset,
    )
