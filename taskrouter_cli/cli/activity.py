"""``trcli activity``: list, create and delete Activities."""

from __future__ import annotations

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option
from taskrouter_cli.cli.conventions import confirm_destructive, yes_option
from taskrouter_cli.cli.resource_common import (
    note,
    show_list,
    show_one,
)

COLUMNS = [("SID", "sid"), ("Name", "friendly_name"), ("Available", "available")]
FIELDS = [
    ("SID", "sid"),
    ("Name", "friendly_name"),
    ("Available", "available"),
    ("Created", "date_created"),
]


@click.group()
def activity() -> None:
    """Activities: the states a Worker can be in; available ones receive Tasks.

    \b
    Examples:
      trcli activity list
      trcli activity create Idle --available
    """


@activity.command(name="list")
@workspace_option
@json_option
@pass_app
def activity_list(app: AppContext, as_json: bool) -> None:
    """List the workspace's Activities.

    \b
    Example:
      trcli activity list --json
    """
    items = list(app.workspace_api.activities.stream(page_size=1000))
    show_list(items, as_json=as_json, columns=COLUMNS, empty_message="No Activities.")


@activity.command(name="create")
@click.argument("name")
@click.option(
    "--available/--unavailable",
    default=False,
    show_default=True,
    help="Whether Workers in this Activity receive Tasks (cannot be changed later).",
)
@workspace_option
@json_option
@pass_app
def activity_create(app: AppContext, name: str, available: bool, as_json: bool) -> None:
    """Create an Activity named NAME.

    \b
    Example:
      trcli activity create "On Break" --unavailable
    """
    created = app.workspace_api.activities.create(friendly_name=name, available=available)
    show_one(created, as_json=as_json, fields=FIELDS, title=f"Activity {name}")


@activity.command(name="delete")
@click.argument("name", metavar="ACTIVITY")
@yes_option
@workspace_option
@pass_app
def activity_delete(app: AppContext, name: str, yes: bool) -> None:
    """Delete an Activity (no Worker may be in it).

    \b
    Example:
      trcli activity delete "On Break" --yes
    """
    from taskrouter_cli.resolve import ACTIVITY

    found = app.resolver.in_workspace(ACTIVITY, app.workspace_sid, name)
    confirm_destructive(f"Delete Activity {found.friendly_name} ({found.sid})", yes=yes)
    app.workspace_api.activities(found.sid).delete()
    note(f"Deleted Activity {found.friendly_name} ({found.sid})")
