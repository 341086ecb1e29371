"""``trcli worker``: list, show, create, update, delete Workers; change their Activity."""

from __future__ import annotations

from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option
from taskrouter_cli.cli.named_commands import NamedResource, add_named_commands
from taskrouter_cli.cli.resource_common import (
    attributes_text,
    note,
    show_list,
    show_one,
)

COLUMNS = [
    ("SID", "sid"),
    ("Name", "friendly_name"),
    ("Activity", "activity_name"),
    ("Available", "available"),
    ("Attributes", "attributes"),
]
FIELDS = [
    ("SID", "sid"),
    ("Name", "friendly_name"),
    ("Activity", "activity_name"),
    ("Available", "available"),
    ("Attributes", "attributes"),
    ("Activity since", "date_status_changed"),
    ("Created", "date_created"),
]


@click.group()
def worker() -> None:
    """Workers: the people (or bots) TaskRouter offers Tasks to.

    \b
    Examples:
      trcli worker create Alice --attributes '{"languages": ["en", "es"]}'
      trcli worker set-activity Alice Idle
    """


def _resolve(app: AppContext, value: str) -> Any:
    from taskrouter_cli.resolve import WORKER

    return app.resolver.in_workspace(WORKER, app.workspace_sid, value)


def _activity_sid(app: AppContext, value: str | None) -> Any:
    from twilio.base import values

    from taskrouter_cli.resolve import ACTIVITY

    if value is None:
        return values.unset
    return app.resolver.sid_in_workspace(ACTIVITY, app.workspace_sid, value)


@worker.command(name="list")
@click.option("--activity", metavar="NAME|SID", help="Only Workers in this Activity.")
@click.option("--available", is_flag=True, help="Only available Workers.")
@workspace_option
@json_option
@pass_app
def worker_list(app: AppContext, activity: str | None, available: bool, as_json: bool) -> None:
    """List Workers with their Activity and availability.

    \b
    Example:
      trcli worker list --available
    """
    from twilio.base import values

    from taskrouter_cli.operations.named import list_named
    from taskrouter_cli.resolve import WORKER

    items = list_named(
        app.client,
        app.workspace_sid,
        WORKER,
        activity_sid=_activity_sid(app, activity),
        available="true" if available else values.unset,
    )
    show_list(items, as_json=as_json, columns=COLUMNS, empty_message="No Workers match.")


@worker.command(name="create")
@click.argument("name")
@click.option("--attributes", metavar="JSON|@FILE", help="Worker attributes (a JSON object).")
@click.option("--activity", metavar="NAME|SID", help="Initial Activity (default: the workspace's).")
@workspace_option
@json_option
@pass_app
def worker_create(
    app: AppContext, name: str, attributes: str | None, activity: str | None, as_json: bool
) -> None:
    """Create a Worker named NAME.

    \b
    Example:
      trcli worker create Bob --attributes '{"languages": ["en"]}' --activity Offline
    """
    from twilio.base import values

    from taskrouter_cli.operations.named import create_named
    from taskrouter_cli.resolve import WORKER

    text = attributes_text(attributes)
    created = create_named(
        app.client,
        app.workspace_sid,
        WORKER,
        friendly_name=name,
        attributes=values.unset if text is None else text,
        activity_sid=_activity_sid(app, activity),
    )
    show_one(created, as_json=as_json, fields=FIELDS, title=f"Worker {name}")


@worker.command(name="update")
@click.argument("name", metavar="WORKER")
@click.option("--name", "new_name", metavar="NAME", help="New friendly name.")
@click.option("--attributes", metavar="JSON|@FILE", help="New attributes (replace the old).")
@click.option("--activity", metavar="NAME|SID", help="New Activity.")
@workspace_option
@json_option
@pass_app
def worker_update(
    app: AppContext,
    name: str,
    new_name: str | None,
    attributes: str | None,
    activity: str | None,
    as_json: bool,
) -> None:
    """Change a Worker's name, attributes or Activity.

    \b
    Example:
      trcli worker update Alice --attributes @alice.json --activity Offline
    """
    from twilio.base import values

    from taskrouter_cli.errors import UsageError

    text = attributes_text(attributes)
    if new_name is None and text is None and activity is None:
        raise UsageError("Nothing to update", "Pass --name, --attributes or --activity")
    from taskrouter_cli.operations.named import update_named
    from taskrouter_cli.resolve import WORKER

    found = _resolve(app, name)
    updated = update_named(
        app.client,
        app.workspace_sid,
        WORKER,
        str(found.sid),
        friendly_name=new_name or values.unset,
        attributes=values.unset if text is None else text,
        activity_sid=_activity_sid(app, activity),
    )
    show_one(updated, as_json=as_json, fields=FIELDS, title=f"Worker {updated.friendly_name}")


@worker.command(name="set-activity")
@click.argument("name", metavar="WORKER")
@click.argument("activity", metavar="ACTIVITY")
@click.option(
    "--reject-pending",
    is_flag=True,
    help="Reject the Worker's pending reservations (only with an unavailable Activity).",
)
@workspace_option
@json_option
@pass_app
def worker_set_activity(
    app: AppContext, name: str, activity: str, reject_pending: bool, as_json: bool
) -> None:
    """Move WORKER to ACTIVITY; says so when the Worker is reserved right away.

    \b
    Example:
      trcli worker set-activity Alice Idle
    """
    from taskrouter_cli.operations.workers import move_worker
    from taskrouter_cli.resolve import ACTIVITY

    found = _resolve(app, name)
    target = app.resolver.in_workspace(ACTIVITY, app.workspace_sid, activity)
    change = move_worker(
        app.workspace_api, str(found.sid), str(target.sid), reject_pending=reject_pending
    )
    updated, fresh = change.worker, change.new_reservations
    if as_json:
        show_one(updated, as_json=True, fields=FIELDS)
    else:
        availability = "available" if updated.available else "not available"
        click.echo(f"{updated.friendly_name} is now {updated.activity_name} ({availability}).")
    if fresh:
        for item in fresh:
            note(
                f"{updated.friendly_name} became {target.friendly_name} and was reserved right "
                f"away: reservation {item.sid} for Task {item.task_sid} "
                f"(activity now {change.activity_now})."
            )
        note(f"Next: trcli reservation accept {fresh[0].sid}")


add_named_commands(
    worker,
    NamedResource(
        group="worker",
        kind_name="WORKER",
        label="Worker",
        plural="Workers",
        example="Bob",
        columns=COLUMNS,
        fields=FIELDS,
        deletes_also="",
        note="",
    ),
    "show",
    "delete",
)
