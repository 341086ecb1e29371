"""``trcli workspace``: list, show, create, delete Workspaces; choose the default one."""

from __future__ import annotations

from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app
from taskrouter_cli.cli.conventions import confirm_destructive, yes_option
from taskrouter_cli.cli.named_commands import NamedResource, add_named_commands
from taskrouter_cli.cli.resource_common import note, show_one

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
    from taskrouter_cli.operations.named import create_named
    from taskrouter_cli.resolve import WORKSPACE

    created = create_named(
        app.client,
        None,
        WORKSPACE,
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
    from taskrouter_cli.operations.named import list_named
    from taskrouter_cli.resolve import WORKSPACE

    everything = list_named(app.client, None, WORKSPACE)
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


@workspace.command(name="export")
@click.argument("name", metavar="[WORKSPACE]", required=False)
@click.option(
    "-o",
    "--output",
    "path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to FILE (TOML when it ends in .toml, else JSON) instead of stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "toml"]),
    help="Format on stdout (default json; a file's name decides otherwise).",
)
@pass_app
def workspace_export(app: AppContext, name: str | None, path: str | None, fmt: str | None) -> None:
    """Write a Workspace as code: activities, task channels, queues, workers, workflows.

    Everything refers to everything else by friendly name, never by SID, so the file applies
    to another account or the sandbox with 'trcli workspace apply'. Workers' activities are
    written as where new workers start.

    \b
    Examples:
      trcli workspace export -o support.toml
      trcli workspace export "TaskRouter Quickstart" > quickstart.json
    """
    from taskrouter_cli.operations.workspace_doc import dump_document, format_of
    from taskrouter_cli.operations.workspace_sync import export_workspace

    found = _resolve(app, name) if name else app.workspace
    doc = export_workspace(app.client.taskrouter.v1, str(found.sid))
    if path is None:
        click.echo(dump_document(doc, fmt or "json"), nl=False)
        return
    from pathlib import Path

    text = dump_document(doc, fmt or format_of(path))
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        from taskrouter_cli.errors import UsageError

        raise UsageError(f"Cannot write {path}: {error.strerror or error}") from None
    note(f"Wrote Workspace {found.friendly_name} ({found.sid}) to {path}")


@workspace.command(name="apply")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.option(
    "--prune",
    is_flag=True,
    help="Also delete what the file does not name (asks first; --yes to skip the question).",
)
@click.option(
    "--workspace",
    "workspace_name",
    metavar="NAME",
    help="Apply to the workspace with this name (created if missing) instead of the file's.",
)
@yes_option
@json_option
@pass_app
def workspace_apply(
    app: AppContext,
    path: str,
    dry_run: bool,
    prune: bool,
    workspace_name: str | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Make a Workspace match FILE (from 'trcli workspace export', JSON or TOML).

    Prints the plan first (create / update / delete, with the changed fields), then applies it
    in dependency order: activities, the workspace's settings, task channels, queues, workers,
    workflows. Every reference and expression in the file is checked before anything is
    written. A second apply of the same file changes nothing. Without --prune nothing is
    deleted, except the activities TaskRouter adds to a workspace this apply creates.

    \b
    Examples:
      trcli workspace apply support.toml --dry-run
      trcli workspace apply support.toml --workspace "Support (staging)" --prune --yes
    """
    from taskrouter_cli import output
    from taskrouter_cli.cli.workspace_plan_view import plan_to_dict, print_changes, summary
    from taskrouter_cli.operations.workspace_doc import load_document
    from taskrouter_cli.operations.workspace_sync import apply_plan, plan_apply

    doc = load_document(path)
    if workspace_name:
        doc = doc.renamed(workspace_name)
    v1 = app.client.taskrouter.v1
    plan = plan_apply(v1, doc, prune=prune, live=not app.settings.uses_api_url_override)
    if not as_json:
        print_changes(plan.changes, f"Plan for workspace '{doc.name}'")
        if plan.workspace_sid is None:
            output.info(
                "The workspace is new: the activities and channels TaskRouter gives it are "
                "matched by name when it exists (activities the file does not name are removed)."
            )
    if not plan.pending:
        if as_json:
            output.print_json(plan_to_dict(plan, plan.changes, applied=False))
        else:
            output.success(f"No changes: workspace '{doc.name}' already matches {path}.")
        return
    if dry_run:
        if as_json:
            output.print_json(plan_to_dict(plan, plan.changes, applied=False))
        else:
            output.info(f"Dry run: {summary(plan.pending)}; nothing changed.")
        return
    if plan.pruning:
        names = ", ".join(f"{c.kind} {c.name}" for c in plan.pruning)
        confirm_destructive(
            f"Delete {len(plan.pruning)} resource(s) that {path} does not name ({names})", yes=yes
        )
    done = apply_plan(v1, plan)
    if as_json:
        output.print_json(plan_to_dict(plan, done, applied=True))
        return
    output.success(
        f"Applied to workspace '{doc.name}' ({plan.workspace_sid}): {summary(done, done=True)}."
    )


add_named_commands(
    workspace,
    NamedResource(
        group="workspace",
        kind_name="WORKSPACE",
        label="Workspace",
        plural="Workspaces",
        example='"Old Workspace"',
        columns=COLUMNS,
        fields=FIELDS,
        deletes_also="all its Workers, Tasks, TaskQueues and Workflows",
        note=" and everything in it",
    ),
    "list",
    "delete",
)
