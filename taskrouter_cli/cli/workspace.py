"""``trcli workspace``: list, show, create, delete Workspaces; choose the default one."""

from __future__ import annotations

from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app
from taskrouter_cli.cli.conventions import confirm_destructive, yes_option
from taskrouter_cli.cli.resource_common import note, show_list, show_one

COLUMNS = [
    ("SID", "sid"),
    ("Name", "friendly_name"),
    ("Default activity", "default_activity_name"),
    ("Multi-tasking", "multi_task_enabled"),
]
FIELDS = [
    ("SID", "sid"),
    ("Name", "friendly_name"),
    ("Default activity", "default_activity_name"),
    ("Timeout activity", "timeout_activity_name"),
    ("Multi-tasking", "multi_task_enabled"),
    ("Queue order", "prioritize_queue_order"),
    ("Event callback", "event_callback_url"),
    ("Events filter", "events_filter"),
    ("Created", "date_created"),
]


@click.group()
def workspace() -> None:
    """Workspaces: the container of Activities, Workers, TaskQueues, Workflows and Tasks.

    \b
    Examples:
      trcli workspace list
      trcli workspace use "TaskRouter Quickstart"
    """


def _resolve(app: AppContext, value: str) -> Any:
    return app.resolver.workspace(value)


@workspace.command(name="list")
@json_option
@pass_app
def workspace_list(app: AppContext, as_json: bool) -> None:
    """List the account's Workspaces.

    \b
    Example:
      trcli workspace list --json
    """
    items = list(app.client.taskrouter.v1.workspaces.stream(page_size=1000))
    show_list(items, as_json=as_json, columns=COLUMNS, empty_message="No Workspaces.")


@workspace.command(name="show")
@click.argument("name", metavar="[WORKSPACE]", required=False)
@json_option
@pass_app
def workspace_show(app: AppContext, name: str | None, as_json: bool) -> None:
    """Show a Workspace (default: the selected one).

    \b
    Example:
      trcli workspace show "TaskRouter Quickstart"
    """
    found = _resolve(app, name) if name else app.workspace
    show_one(found, as_json=as_json, fields=FIELDS, title=f"Workspace {found.friendly_name}")


@workspace.command(name="create")
@click.argument("name")
@click.option(
    "--template",
    type=click.Choice(["NONE", "FIFO"]),
    help="NONE: default Activities only; FIFO: also a queue and a FIFO Workflow.",
)
@click.option(
    "--multi-task/--single-task",
    "multi_task",
    default=None,
    help="Multi-tasking workspace (TaskRouter default: multi-task).",
)
@click.option("--event-callback-url", metavar="URL", help="URL that receives every Event.")
@json_option
@pass_app
def workspace_create(
    app: AppContext,
    name: str,
    template: str | None,
    multi_task: bool | None,
    event_callback_url: str | None,
    as_json: bool,
) -> None:
    """Create a Workspace named NAME.

    \b
    Example:
      trcli workspace create "Support" --template FIFO --single-task
    """
    from twilio.base import values

    from taskrouter_cli.operations.workflows import check_callback_url

    if event_callback_url:
        check_callback_url(
            event_callback_url,
            live=not app.settings.uses_api_url_override,
            option="--event-callback-url",
        )
    created = app.client.taskrouter.v1.workspaces.create(
        friendly_name=name,
        template=template or values.unset,
        multi_task_enabled=values.unset if multi_task is None else multi_task,
        event_callback_url=event_callback_url or values.unset,
    )
    show_one(created, as_json=as_json, fields=FIELDS, title=f"Workspace {name}")


@workspace.command(name="use")
@click.argument("name", metavar="WORKSPACE")
@pass_app
def workspace_use(app: AppContext, name: str) -> None:
    """Make WORKSPACE the default of the active profile (stored in config.toml).

    The friendly name is stored when it is unique (it survives a sandbox reset), else the SID.

    \b
    Example:
      trcli workspace use "TaskRouter Quickstart"
    """
    from taskrouter_cli.config import ConfigFile, config_path

    found = _resolve(app, name)
    everything = list(app.client.taskrouter.v1.workspaces.stream(page_size=1000))
    same_name = [
        w
        for w in everything
        if (w.friendly_name or "").casefold() == found.friendly_name.casefold()
    ]
    value = str(found.friendly_name) if len(same_name) == 1 else str(found.sid)
    profile = app.settings.profile
    document = ConfigFile.load(config_path())
    document.profiles.setdefault(profile, {})["workspace"] = value
    if document.active is None:
        document.active = profile
    document.save()
    note(f"Default workspace of profile '{profile}': {found.friendly_name} ({found.sid})")


@workspace.command(name="delete")
@click.argument("name", metavar="WORKSPACE")
@yes_option
@pass_app
def workspace_delete(app: AppContext, name: str, yes: bool) -> None:
    """Delete a Workspace and everything in it (asks first on a terminal; otherwise needs
    --yes).

    \b
    Example:
      trcli workspace delete "Old Workspace" --yes
    """
    found = _resolve(app, name)
    confirm_destructive(
        f"Delete Workspace {found.friendly_name} ({found.sid}) with all its Workers, Tasks, "
        "TaskQueues and Workflows",
        yes=yes,
    )
    app.client.taskrouter.v1.workspaces(found.sid).delete()
    note(f"Deleted Workspace {found.friendly_name} ({found.sid})")
