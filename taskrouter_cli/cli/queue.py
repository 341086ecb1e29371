"""``trcli queue``: list, show, create, update and delete TaskQueues."""

from __future__ import annotations

from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option
from taskrouter_cli.cli.named_commands import NamedResource, add_named_commands
from taskrouter_cli.cli.resource_common import (
    show_one,
)

COLUMNS = [
    ("SID", "sid"),
    ("Name", "friendly_name"),
    ("Target workers", "target_workers"),
    ("Order", "task_order"),
    ("Reservation activity", "reservation_activity_name"),
    ("Assignment activity", "assignment_activity_name"),
]
FIELDS = [
    ("SID", "sid"),
    ("Name", "friendly_name"),
    ("Target workers", "target_workers"),
    ("Task order", "task_order"),
    ("Max reserved workers", "max_reserved_workers"),
    ("Reservation activity", "reservation_activity_name"),
    ("Assignment activity", "assignment_activity_name"),
    ("Created", "date_created"),
    ("Updated", "date_updated"),
]


@click.group()
def queue() -> None:
    """TaskQueues: which Workers (by attribute expression) take which Tasks.

    \b
    Examples:
      trcli queue create "Customer Care Requests - Spanish" --target-workers 'languages HAS "es"'
      trcli queue show "Customer Care Requests - Spanish"
    """


def _resolve(app: AppContext, value: str) -> Any:
    from taskrouter_cli.resolve import TASK_QUEUE

    return app.resolver.in_workspace(TASK_QUEUE, app.workspace_sid, value)


def _queue_params(
    app: AppContext,
    target_workers: str | None,
    max_reserved_workers: int | None,
    task_order: str | None,
    reservation_activity: str | None,
    assignment_activity: str | None,
) -> dict[str, Any]:
    from twilio.base import values

    from taskrouter_cli.operations.queues import check_target_workers
    from taskrouter_cli.resolve import ACTIVITY

    check_target_workers(target_workers)

    def activity(value: str | None) -> Any:
        if value is None:
            return values.unset
        return app.resolver.sid_in_workspace(ACTIVITY, app.workspace_sid, value)

    return {
        "target_workers": values.unset if target_workers is None else target_workers,
        "max_reserved_workers": values.unset
        if max_reserved_workers is None
        else max_reserved_workers,
        "task_order": task_order or values.unset,
        "reservation_activity_sid": activity(reservation_activity),
        "assignment_activity_sid": activity(assignment_activity),
    }


def queue_options(function: Any) -> Any:
    for decorator in reversed(
        [
            click.option(
                "--target-workers",
                metavar="EXPRESSION",
                help="Which Workers belong, e.g. 'languages HAS \"es\"' (TaskRouter default 1==1).",
            ),
            click.option(
                "--max-reserved-workers",
                type=click.IntRange(1, 50),
                help="Workers reserved at once for one Task (default 1).",
            ),
            click.option(
                "--task-order",
                type=click.Choice(["FIFO", "LIFO"]),
                help="Task order (default FIFO).",
            ),
            click.option(
                "--reservation-activity",
                metavar="NAME|SID",
                help="Activity a Worker moves to when reserved (single-tasking workspaces).",
            ),
            click.option(
                "--assignment-activity",
                metavar="NAME|SID",
                help="Activity a Worker moves to when it accepts (single-tasking workspaces).",
            ),
        ]
    ):
        function = decorator(function)
    return function


@queue.command(name="create")
@click.argument("name")
@queue_options
@workspace_option
@json_option
@pass_app
def queue_create(
    app: AppContext,
    name: str,
    target_workers: str | None,
    max_reserved_workers: int | None,
    task_order: str | None,
    reservation_activity: str | None,
    assignment_activity: str | None,
    as_json: bool,
) -> None:
    """Create a TaskQueue named NAME.

    \b
    Example:
      trcli queue create "Customer Care Requests - English" \\
          --target-workers 'languages HAS "en"' --reservation-activity Reserved \\
          --assignment-activity Busy
    """
    params = _queue_params(
        app,
        target_workers,
        max_reserved_workers,
        task_order,
        reservation_activity,
        assignment_activity,
    )
    from taskrouter_cli.operations.named import create_named
    from taskrouter_cli.resolve import TASK_QUEUE

    created = create_named(app.client, app.workspace_sid, TASK_QUEUE, friendly_name=name, **params)
    show_one(created, as_json=as_json, fields=FIELDS, title=f"TaskQueue {name}")


@queue.command(name="update")
@click.argument("name", metavar="QUEUE")
@click.option("--name", "new_name", metavar="NAME", help="New friendly name.")
@queue_options
@workspace_option
@json_option
@pass_app
def queue_update(
    app: AppContext,
    name: str,
    new_name: str | None,
    target_workers: str | None,
    max_reserved_workers: int | None,
    task_order: str | None,
    reservation_activity: str | None,
    assignment_activity: str | None,
    as_json: bool,
) -> None:
    """Change a TaskQueue.

    \b
    Example:
      trcli queue update "Customer Care Requests - English" --target-workers 'languages HAS "en"'
    """
    from twilio.base import values

    from taskrouter_cli.errors import UsageError

    given = (
        new_name,
        target_workers,
        max_reserved_workers,
        task_order,
        reservation_activity,
        assignment_activity,
    )
    if all(value is None for value in given):
        raise UsageError("Nothing to update", "See 'trcli queue update --help' for the options")
    found = _resolve(app, name)
    params = _queue_params(
        app,
        target_workers,
        max_reserved_workers,
        task_order,
        reservation_activity,
        assignment_activity,
    )
    from taskrouter_cli.operations.named import update_named
    from taskrouter_cli.resolve import TASK_QUEUE

    updated = update_named(
        app.client,
        app.workspace_sid,
        TASK_QUEUE,
        str(found.sid),
        friendly_name=new_name or values.unset,
        **params,
    )
    show_one(updated, as_json=as_json, fields=FIELDS, title=f"TaskQueue {updated.friendly_name}")


add_named_commands(
    queue,
    NamedResource(
        group="queue",
        kind_name="TASK_QUEUE",
        label="TaskQueue",
        plural="TaskQueues",
        example='"Customer Care Requests - English"',
        columns=COLUMNS,
        fields=FIELDS,
        deletes_also="",
        note="",
    ),
    "list",
    "show",
    "delete",
)
