"""``trcli workflow``: list, show, create, update, delete Workflows; point their callback."""

from __future__ import annotations

from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option
from taskrouter_cli.cli.named_commands import NamedResource, add_named_commands
from taskrouter_cli.cli.resource_common import (
    show_one,
)
from taskrouter_cli.operations.named import update_named
from taskrouter_cli.resolve import WORKFLOW

COLUMNS = [
    ("SID", "sid"),
    ("Name", "friendly_name"),
    ("Reservation timeout (s)", "task_reservation_timeout"),
    ("Assignment callback", "assignment_callback_url"),
]
FIELDS = [
    ("SID", "sid"),
    ("Name", "friendly_name"),
    ("Reservation timeout (s)", "task_reservation_timeout"),
    ("Assignment callback", "assignment_callback_url"),
    ("Fallback callback", "fallback_assignment_callback_url"),
    ("Created", "date_created"),
    ("Updated", "date_updated"),
]


@click.group()
def workflow() -> None:
    """Workflows: the routing rules (filters → queues) and the assignment callback URL.

    \b
    Examples:
      trcli workflow show "Incoming Customer Care Requests"
      trcli workflow point-callback "Incoming Customer Care Requests" \\
          --url https://example.ngrok.app/assignment_callback
    """


def _resolve(app: AppContext, value: str) -> Any:
    from taskrouter_cli.resolve import WORKFLOW

    return app.resolver.in_workspace(WORKFLOW, app.workspace_sid, value)


def _optional(value: Any) -> Any:
    from twilio.base import values

    return values.unset if value is None else value


@workflow.command(name="show")
@click.argument("name")
@workspace_option
@json_option
@pass_app
def workflow_show(app: AppContext, name: str, as_json: bool) -> None:
    """Show a Workflow and its routing: each filter's expression → targets → queue names.

    \b
    Example:
      trcli workflow show "Incoming Customer Care Requests"
    """
    from taskrouter_cli import output
    from taskrouter_cli.operations.workflows import routing_lines

    found = _resolve(app, name)
    if as_json:
        output.print_json(output.resource_to_dict(found))
        return
    show_one(found, as_json=False, fields=FIELDS, title=f"Workflow {found.friendly_name}")
    from taskrouter_cli.operations.named import list_named
    from taskrouter_cli.resolve import TASK_QUEUE

    queues = {
        str(q.sid): str(q.friendly_name)
        for q in list_named(app.client, app.workspace_sid, TASK_QUEUE)
    }
    output.console().print("Routing:")
    for line in routing_lines(found.configuration or "", queues):
        output.console().print(f"  {line}", markup=False)


@workflow.command(name="create")
@click.argument("name")
@click.option(
    "--configuration",
    required=True,
    metavar="JSON|@FILE",
    help="Routing configuration (checked locally before it is sent).",
)
@click.option("--callback-url", metavar="URL", help="Assignment callback URL.")
@click.option("--fallback-url", metavar="URL", help="Fallback assignment callback URL.")
@click.option(
    "--reservation-timeout",
    type=click.IntRange(1, 86400),
    metavar="SECONDS",
    help="Seconds a reservation waits for an answer (TaskRouter default 120).",
)
@workspace_option
@json_option
@pass_app
def workflow_create(
    app: AppContext,
    name: str,
    configuration: str,
    callback_url: str | None,
    fallback_url: str | None,
    reservation_timeout: int | None,
    as_json: bool,
) -> None:
    """Create a Workflow named NAME.

    \b
    Example:
      trcli workflow create "Incoming Customer Care Requests" --configuration @workflow.json \\
          --reservation-timeout 1200
    """
    from taskrouter_cli.operations.workflows import check_callback_url, load_configuration

    text = load_configuration(configuration)
    live = not app.settings.uses_api_url_override
    for option, url in (("--callback-url", callback_url), ("--fallback-url", fallback_url)):
        if url:
            check_callback_url(url, live=live, option=option)
    from taskrouter_cli.operations.named import create_named
    from taskrouter_cli.resolve import WORKFLOW

    created = create_named(
        app.client,
        app.workspace_sid,
        WORKFLOW,
        friendly_name=name,
        configuration=text,
        assignment_callback_url=_optional(callback_url),
        fallback_assignment_callback_url=_optional(fallback_url),
        task_reservation_timeout=_optional(reservation_timeout),
    )
    show_one(created, as_json=as_json, fields=FIELDS, title=f"Workflow {name}")


@workflow.command(name="update")
@click.argument("name")
@click.option("--name", "new_name", metavar="NAME", help="New friendly name.")
@click.option("--configuration", metavar="JSON|@FILE", help="New routing configuration.")
@click.option(
    "--reservation-timeout", type=click.IntRange(1, 86400), metavar="SECONDS", help="New timeout."
)
@click.option("--re-evaluate-tasks", is_flag=True, help="Route the Workflow's waiting Tasks again.")
@workspace_option
@json_option
@pass_app
def workflow_update(
    app: AppContext,
    name: str,
    new_name: str | None,
    configuration: str | None,
    reservation_timeout: int | None,
    re_evaluate_tasks: bool,
    as_json: bool,
) -> None:
    """Change a Workflow's name, configuration or reservation timeout.

    \b
    Example:
      trcli workflow update "Incoming Customer Care Requests" --reservation-timeout 600
    """
    from taskrouter_cli.errors import UsageError
    from taskrouter_cli.operations.workflows import load_configuration

    text = load_configuration(configuration) if configuration is not None else None
    if new_name is None and text is None and reservation_timeout is None:
        raise UsageError(
            "Nothing to update", "Pass --name, --configuration or --reservation-timeout"
        )
    found = _resolve(app, name)
    updated = update_named(
        app.client,
        app.workspace_sid,
        WORKFLOW,
        str(found.sid),
        friendly_name=_optional(new_name),
        configuration=_optional(text),
        task_reservation_timeout=_optional(reservation_timeout),
        re_evaluate_tasks="true" if re_evaluate_tasks else _optional(None),
    )
    show_one(updated, as_json=as_json, fields=FIELDS, title=f"Workflow {updated.friendly_name}")


@workflow.command(name="point-callback")
@click.argument("name", metavar="WORKFLOW")
@click.option("--url", required=True, metavar="URL", help="New assignment callback URL.")
@click.option("--fallback-url", metavar="URL", help="New fallback assignment callback URL.")
@click.option(
    "--reservation-timeout", type=click.IntRange(1, 86400), metavar="SECONDS", help="New timeout."
)
@workspace_option
@json_option
@pass_app
def workflow_point_callback(
    app: AppContext,
    name: str,
    url: str,
    fallback_url: str | None,
    reservation_timeout: int | None,
    as_json: bool,
) -> None:
    """Point a Workflow's assignment callback at URL (prints the old and the new URL).

    Live Twilio cannot reach localhost: expose your server with 'trcli serve --tunnel' (or
    pass its --public-url). Local URLs are fine against the sandbox.

    \b
    Example:
      trcli workflow point-callback "Incoming Customer Care Requests" \\
          --url https://example.ngrok.app/assignment_callback
    """
    from taskrouter_cli.operations.workflows import check_callback_url

    live = not app.settings.uses_api_url_override
    check_callback_url(url, live=live, option="--url")
    if fallback_url:
        check_callback_url(fallback_url, live=live, option="--fallback-url")
    found = _resolve(app, name)
    old = found.assignment_callback_url or "(none)"
    updated = update_named(
        app.client,
        app.workspace_sid,
        WORKFLOW,
        str(found.sid),
        assignment_callback_url=url,
        fallback_assignment_callback_url=_optional(fallback_url),
        task_reservation_timeout=_optional(reservation_timeout),
    )
    if as_json:
        show_one(updated, as_json=True, fields=FIELDS)
        return
    click.echo(f"Workflow {updated.friendly_name} ({updated.sid})")
    click.echo(f"  old assignment callback: {old}")
    click.echo(f"  new assignment callback: {updated.assignment_callback_url}")
    if fallback_url:
        click.echo(f"  fallback callback:       {updated.fallback_assignment_callback_url}")


@workflow.command(name="test")
@click.argument("name", metavar="WORKFLOW")
@click.option(
    "--attributes",
    required=True,
    metavar="JSON|@FILE",
    help="The task's attributes, as for 'trcli task create'.",
)
@click.option("--priority", type=int, default=0, show_default=True, help="The task's priority.")
@click.option(
    "--channel",
    default="default",
    show_default=True,
    metavar="UNIQUE_NAME|SID",
    help="The task's channel (capacity is checked on it in multi-tasking workspaces).",
)
@click.option(
    "--timeout",
    "task_timeout",
    type=click.IntRange(1, None),
    default=86400,
    show_default=True,
    metavar="SECONDS",
    help="The task's Timeout (TTL), as for 'trcli task create'.",
)
@click.option(
    "--at",
    "at_text",
    metavar="ISO-TIME",
    help="Evaluate time-of-day expressions at this time (UTC unless a zone is given). "
    "Default: now (the sandbox's clock against a sandbox).",
)
@workspace_option
@json_option
@pass_app
def workflow_test(
    app: AppContext,
    name: str,
    attributes: str,
    priority: int,
    channel: str,
    task_timeout: int,
    at_text: str | None,
    as_json: bool,
) -> None:
    """Route a task on paper: which filter matches, each target's workers, who would be
    reserved now, and what happens at each timeout. No task is created.

    Workers are read as they are now (activity, attributes, open tasks); each timeout step
    assumes nothing else changes meanwhile.

    \b
    Examples:
      trcli workflow test "Incoming Customer Care Requests" \\
          --attributes '{"selected_language": "es"}'
      trcli workflow test Support --attributes @task.json --at 2026-12-01T09:30Z --json
    """
    from taskrouter_cli import output
    from taskrouter_cli.cli.dry_run_view import print_dry_run
    from taskrouter_cli.operations.inputs import parse_json_object
    from taskrouter_cli.operations.routing_dry_run import (
        configuration_warnings,
        dry_run_to_dict,
        dry_run_workflow,
        parse_at,
        server_now,
    )

    _, task_attributes = parse_json_object(attributes, "--attributes")
    moment = (
        parse_at(at_text) if at_text else server_now(app.client, app.settings.uses_api_url_override)
    )
    found = _resolve(app, name)
    result = dry_run_workflow(
        app.workspace_api,
        found,
        task_attributes,
        at=moment,
        priority=priority,
        channel=channel,
        task_timeout=task_timeout,
    )
    warnings = configuration_warnings(found.configuration or "")
    if as_json:
        output.print_json(dry_run_to_dict(result, found, warnings))
        return
    print_dry_run(result, str(found.friendly_name), warnings)


@workflow.command(name="lint")
@click.argument("name", metavar="[WORKFLOW]", required=False)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False),
    help="Check this configuration file (JSON) instead of a Workflow's.",
)
@click.option(
    "--offline",
    is_flag=True,
    help="With --file: check the file alone (no account needed; queues and workers unchecked).",
)
@click.option(
    "--task-timeout",
    type=click.IntRange(1, None),
    default=86400,
    show_default=True,
    metavar="SECONDS",
    help="The tasks' Timeout (TTL) that target timeouts are checked against.",
)
@workspace_option
@json_option
@pass_app
def workflow_lint(
    app: AppContext,
    name: str | None,
    path: str | None,
    offline: bool,
    task_timeout: int,
    as_json: bool,
) -> None:
    """Check a routing configuration before anyone routes with it.

    \b
    Errors (exit 6): the documented JSON shape (unknown keys included), expressions that do
    not parse (with the column), queues that do not exist, filters no task can reach, targets
    no current worker can match, target timeouts adding up past the task's Timeout.
    Warnings (exit 0): constructs Twilio does not document (unary NOT, lower-case operators).
    Queues and workers are read from the workspace (--offline: the file alone, e.g. in CI).

    \b
    Examples:
      trcli workflow lint "Incoming Customer Care Requests"
      trcli workflow lint --file workflow.json --json
      trcli workflow lint --file workflow.json --offline
    """
    from rich.markup import escape

    from taskrouter_cli import output
    from taskrouter_cli.cli.conventions import exit_check_failed
    from taskrouter_cli.errors import UsageError
    from taskrouter_cli.operations.workflow_lint import (
        lint_in_workspace,
        lint_report,
        read_configuration_file,
    )

    if name and path:
        raise UsageError("Give a WORKFLOW or --file, not both")
    if offline and not path:
        raise UsageError("--offline checks a file", "Pass --file FILE with it")
    source: dict[str, Any]
    if path:
        configuration = read_configuration_file(path)
        source = {"file": path, "workflow": None}
    else:
        from taskrouter_cli.resolve import WORKFLOW

        found = (
            _resolve(app, name)
            if name
            else app.resolver.only_one(WORKFLOW, app.workspace_sid, "a WORKFLOW or --file")
        )
        configuration = found.configuration or ""
        source = {"file": None, "workflow": {"sid": found.sid, "name": found.friendly_name}}
    if offline:
        from taskrouter_cli.routing.lint import lint_configuration

        findings = lint_configuration(configuration, task_timeout=task_timeout)
    else:
        findings = lint_in_workspace(app.workspace_api, configuration, task_timeout=task_timeout)
    report = lint_report(findings, source)
    if as_json:
        output.print_json(report)
    else:
        for finding in findings:
            colour = "red" if finding.severity == "error" else "yellow"
            output.console().print(
                f"[{colour}]{finding.severity}[/{colour}]: "
                + escape(f"{finding.path}: {finding.message} [{finding.code}]")
            )
        what = path or str(source["workflow"]["name"])
        if report["clean"]:
            extra = f" ({report['warnings']} warning(s))" if report["warnings"] else ""
            output.success(f"{what}: no problems found{extra}")
        else:
            output.info(f"{what}: {report['errors']} error(s), {report['warnings']} warning(s)")
    if not report["clean"]:
        exit_check_failed()


add_named_commands(
    workflow,
    NamedResource(
        group="workflow",
        kind_name="WORKFLOW",
        label="Workflow",
        plural="Workflows",
        example='"Old Workflow"',
        columns=COLUMNS,
        fields=FIELDS,
        deletes_also="",
        note="",
    ),
    "list",
    "delete",
)
