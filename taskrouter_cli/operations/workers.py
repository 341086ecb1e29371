"""Workers: moving one to an Activity and telling what routing did right after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskrouter_cli.operations.agents import set_worker_activity


@dataclass(frozen=True)
class ActivityChange:
    worker: Any
    """The Worker as the update answered."""
    new_reservations: list[Any]
    """Reservations created for it by the move (a waiting Task routed to it right away)."""
    activity_now: str
    """Its Activity after those reservations (e.g. Reserved), as fetched afterwards."""


def move_worker(
    workspace: Any, worker_sid: str, activity_sid: str, *, reject_pending: bool = False
) -> ActivityChange:
    """Set the Worker's Activity and report the reservations the move caused."""
    context = workspace.workers(worker_sid)
    before = {r.sid for r in context.reservations.list(reservation_status="pending")}
    updated = set_worker_activity(
        workspace, worker_sid, activity_sid, reject_pending=reject_pending
    )
    pending = context.reservations.list(reservation_status="pending", page_size=1000)
    fresh = [r for r in pending if r.sid not in before]
    now = str(context.fetch().activity_name) if fresh else str(updated.activity_name)
    return ActivityChange(worker=updated, new_reservations=fresh, activity_now=now)
