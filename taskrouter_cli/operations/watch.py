"""A Task's observable state (task, reservations, worker) and what changed between polls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskrouter_cli.operations.task_history import VanishedTask, history_text, vanished_task
from taskrouter_cli.operations.tasks import task_reservations


@dataclass(frozen=True)
class ReservationView:
    sid: str
    worker_name: str
    worker_sid: str
    status: str


@dataclass(frozen=True)
class Snapshot:
    task_sid: str
    status: str
    queue: str | None
    age: int | None
    reservations: tuple[ReservationView, ...]
    worker_name: str | None
    worker_activity: str | None
    gone: VanishedTask | None = None
    """Set when the Task no longer exists (told from its Events)."""

    @property
    def final(self) -> bool:
        return self.gone is not None or self.status in ("canceled", "completed")


def take_snapshot(workspace: Any, task_sid: str) -> Snapshot:
    """Fetch the task, its reservations and the worker of the newest reservation. A Task that
    no longer exists but has Events (TaskRouter deletes finished Tasks after about 5 minutes)
    gives a final snapshot with ``gone`` set."""
    from twilio.base.exceptions import TwilioRestException

    try:
        task = workspace.tasks(task_sid).fetch()
    except TwilioRestException as exc:
        gone = vanished_task(workspace, task_sid) if exc.status == 404 else None
        if gone is None:
            raise
        return Snapshot(
            task_sid=task_sid,
            status=gone.final_status or "deleted",
            queue=None,
            age=None,
            reservations=(),
            worker_name=None,
            worker_activity=None,
            gone=gone,
        )
    reservations = tuple(
        ReservationView(
            sid=str(r.sid),
            worker_name=str(r.worker_name),
            worker_sid=str(r.worker_sid),
            status=str(r.reservation_status),
        )
        for r in task_reservations(workspace, task_sid)
    )
    worker_name = worker_activity = None
    if reservations:
        latest = reservations[-1]
        worker = workspace.workers(latest.worker_sid).fetch()
        worker_name, worker_activity = str(worker.friendly_name), str(worker.activity_name)
    return Snapshot(
        task_sid=task_sid,
        status=str(task.assignment_status),
        queue=task.task_queue_friendly_name,
        age=task.age,
        reservations=reservations,
        worker_name=worker_name,
        worker_activity=worker_activity,
    )


def changes(before: Snapshot | None, after: Snapshot) -> list[str]:
    """Lines describing what is new in ``after`` (everything when ``before`` is None)."""
    lines: list[str] = []
    if after.gone is not None:
        if before is None:
            lines.extend(history_text(line) for line in after.gone.lines)
        lines.append(after.gone.summary())
        return lines
    if before is None or (before.status, before.queue) != (after.status, after.queue):
        queue = f" in queue {after.queue}" if after.queue else ""
        lines.append(f"task {after.task_sid} {after.status}{queue}")
    known = {} if before is None else {r.sid: r.status for r in before.reservations}
    for reservation in after.reservations:
        if known.get(reservation.sid) != reservation.status:
            lines.append(
                f"reservation {reservation.sid} {reservation.status} ({reservation.worker_name})"
            )
    previous = None if before is None else (before.worker_name, before.worker_activity)
    if after.worker_name and previous != (after.worker_name, after.worker_activity):
        lines.append(f"worker {after.worker_name} is {after.worker_activity}")
    return lines
