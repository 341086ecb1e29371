"""``trcli activity``: list, create and delete Activities."""

from __future__ import annotations

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option
from taskrouter_cli.cli.named_commands import NamedResource, add_named_commands
from taskrouter_cli.cli.resource_common import (
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
    from taskrouter_cli.operations.named import create_named
    from taskrouter_cli.resolve import ACTIVITY

    created = create_named(
        app.client, app.workspace_sid, ACTIVITY, friendly_name=name, available=available
    )
    show_one(created, as_json=as_json, fields=FIELDS, title=f"Activity {name}")


add_named_commands(
    activity,
    NamedResource(
        group="activity",
        kind_name="ACTIVITY",
        label="Activity",
        plural="Activities",
        example='"On Break"',
        columns=COLUMNS,
        fields=FIELDS,
        deletes_also="",
        note=" (no Worker may be in it)",
    ),
    "list",
    "delete",
)
