"""``trcli reservation``: list, show, accept and reject Reservations."""

from __future__ import annotations

from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option
from taskrouter_cli.cli.resource_common import note, show_list, show_one, sid_argument
from taskrouter_cli.statuses import RESERVATION_STATUSES

COLUMNS = [
    ("SID", "sid"),
    ("Status", "reservation_status"),
    ("Worker", "worker_name"),
    ("Task", "task_sid"),
    ("Created", "date_created"),
    ("Updated", "date_updated"),
]
FIELDS = [
    ("SID", "sid"),
    ("Status", "reservation_status"),
    ("Worker", "worker_name"),
    ("Worker SID", "worker_sid"),
    ("Task", "task_sid"),
    ("Created", "date_created"),
    ("Updated", "date_updated"),
]


@click.group()
def reservation() -> None:
    """List Reservations and accept or reject them (what a worker's app would do).

    A Reservation is TaskRouter's offer of one Task to one Worker; it stays pending until it is
    accepted, rejected or times out (the Workflow's reservation timeout).

    \b
    Examples:
      trcli reservation list --status pending
      trcli reservation accept                 # the one pending reservation
      trcli reservation reject --task WTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --activity Offline
    """


@reservation.command(name="list")
@click.option("--task", "task_sid", metavar="TASK", help="Only this Task's reservations.")
@click.option("--worker", metavar="NAME|SID", help="Only this Worker's reservations.")
@click.option("--status", type=click.Choice(RESERVATION_STATUSES), help="Only this status.")
@workspace_option
@json_option
@pass_app
def reservation_list(
    app: AppContext, task_sid: str | None, worker: str | None, status: str | None, as_json: bool
) -> None:
    """List Reservations (of a Task, of a Worker, or of every Worker), oldest first.

    \b
    Example:
      trcli reservation list --worker Alice --status pending
    """
    from taskrouter_cli.operations.reservations import list_reservations
    from taskrouter_cli.resolve import WORKER

    task = sid_argument(task_sid, "Task") if task_sid else None
    worker_sid = (
        app.resolver.sid_in_workspace(WORKER, app.workspace_sid, worker) if worker else None
    )
    items = list_reservations(
        app.workspace_api, task_sid=task, worker_sid=worker_sid, status=status
    )
    show_list(items, as_json=as_json, columns=COLUMNS, empty_message="No reservations match.")


@reservation.command(name="show")
@click.argument("reservation_sid", metavar="RESERVATION")
@click.option("--task", "task_sid", metavar="TASK", help="The Task it belongs to (faster).")
@workspace_option
@json_option
@pass_app
def reservation_show(
    app: AppContext, reservation_sid: str, task_sid: str | None, as_json: bool
) -> None:
    """Show one Reservation.

    \b
    Example:
      trcli reservation show WRxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
    """
    from taskrouter_cli.operations.reservations import locate

    sid = sid_argument(reservation_sid, "Reservation")
    task = sid_argument(task_sid, "Task") if task_sid else None
    found = locate(app.workspace_api, sid, task)
    show_one(found, as_json=as_json, fields=FIELDS, title=f"Reservation {sid}")


def _target(app: AppContext, reservation_sid: str | None, task_sid: str | None) -> Any:
    from taskrouter_cli.operations.reservations import find_pending, locate

    task = sid_argument(task_sid, "Task") if task_sid else None
    if reservation_sid:
        sid = sid_argument(reservation_sid, "Reservation")
        return locate(app.workspace_api, sid, task)
    return find_pending(app.workspace_api, task)


@reservation.command(name="accept")
@click.argument("reservation_sid", metavar="[RESERVATION]", required=False)
@click.option("--task", "task_sid", metavar="TASK", help="The Task whose reservation to accept.")
@workspace_option
@json_option
@pass_app
def reservation_accept(
    app: AppContext, reservation_sid: str | None, task_sid: str | None, as_json: bool
) -> None:
    """Accept a pending Reservation: the Task becomes assigned to the Worker.

    Without RESERVATION: the pending reservation of --task, or the workspace's only pending
    reservation (several: they are listed, exit 2). A reservation that is not pending any more
    is explained in one line (timed out, accepted by whom, rejected, canceled).

    \b
    Example:
      trcli reservation accept --task WTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
    """
    from taskrouter_cli.operations.reservations import answer

    target = _target(app, reservation_sid, task_sid)
    updated = answer(app.workspace_api, target, "accepted")
    show_one(updated, as_json=as_json, fields=FIELDS, title=f"Reservation {updated.sid}")
    note(f"{updated.worker_name} accepted Task {updated.task_sid}; the task is assigned.")


@reservation.command(name="reject")
@click.argument("reservation_sid", metavar="[RESERVATION]", required=False)
@click.option("--task", "task_sid", metavar="TASK", help="The Task whose reservation to reject.")
@click.option(
    "--activity",
    metavar="NAME|SID",
    help="Move the Worker to this Activity (default: the Worker's previous Activity). An "
    "unavailable one stops the same Task being offered again at once.",
)
@workspace_option
@json_option
@pass_app
def reservation_reject(
    app: AppContext,
    reservation_sid: str | None,
    task_sid: str | None,
    activity: str | None,
    as_json: bool,
) -> None:
    """Reject a pending Reservation: the Task goes back to routing.

    RESERVATION is chosen as for 'trcli reservation accept'.

    \b
    Example:
      trcli reservation reject WRxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --activity Offline
    """
    from taskrouter_cli.operations.reservations import answer
    from taskrouter_cli.resolve import ACTIVITY

    target = _target(app, reservation_sid, task_sid)
    activity_sid = (
        app.resolver.sid_in_workspace(ACTIVITY, app.workspace_sid, activity) if activity else None
    )
    updated = answer(app.workspace_api, target, "rejected", activity_sid=activity_sid)
    show_one(updated, as_json=as_json, fields=FIELDS, title=f"Reservation {updated.sid}")
    note(f"{updated.worker_name} rejected Task {updated.task_sid}.")
