"""``trcli setup``: create the quickstart's workspace (Part 1) idempotently, or remove it."""

from __future__ import annotations

from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app
from taskrouter_cli.cli.conventions import confirm_destructive, yes_option

RESULT_STYLE = {
    "created": "green",
    "updated": "yellow",
    "exists": "dim",
    "differs": "red",
    "removed": "yellow",
    "absent": "dim",
}


@click.command(name="setup")
@click.option(
    "--workspace-name",
    metavar="NAME",
    help="Friendly name of the workspace to create or remove. Default: TaskRouter Quickstart.",
)
@click.option(
    "--teardown",
    is_flag=True,
    help="Delete the workspace (and every worker, queue, workflow and task in it).",
)
@yes_option
@json_option
@pass_app
def setup(
    app: AppContext, workspace_name: str | None, teardown: bool, yes: bool, as_json: bool
) -> None:
    """Create the quickstart's workspace: activities, Alice and Bob, two queues, the workflow.

    \b
    Exactly the tutorial's Part 1 (no Console needed), on your account or the sandbox:
      Activities  Offline (default), Idle (available), Reserved, Busy
      Workers     Alice {"languages": ["en", "es"]}, Bob {"languages": ["en"]}
      TaskQueues  Customer Care Requests - Spanish (languages HAS "es")
                  Customer Care Requests - English (languages HAS "en")
      Workflow    Incoming Customer Care Requests (selected_language == "es" / "en")

    Idempotent: what exists is reported and left alone, what differs is brought back to this
    spec where TaskRouter allows it ('trcli workspace apply' of this built-in workspace).
    --teardown deletes the workspace again.

    \b
    Examples:
      trcli setup
      trcli setup --workspace-name "My Quickstart"
      trcli setup --teardown --yes
    """
    from taskrouter_cli import output
    from taskrouter_cli.quickstart.setup import apply_setup
    from taskrouter_cli.quickstart.setup import teardown as remove
    from taskrouter_cli.quickstart_spec import QUICKSTART

    spec = QUICKSTART.named(workspace_name) if workspace_name else QUICKSTART
    v1 = app.client.taskrouter.v1
    where = "the sandbox" if app.settings.uses_api_url_override else "your Twilio account"
    if teardown:
        confirm_destructive(
            f"Delete workspace '{spec.name}' and everything in it from {where}", yes=yes
        )
        report = remove(v1, spec.name)
    else:
        if not as_json:
            output.info(f"Setting up workspace '{spec.name}' on {where}…")
        report = apply_setup(v1, spec)
    if as_json:
        output.print_json(report.to_dict())
        return
    _print_report(report.items)
    if teardown:
        return
    if report.changed:
        output.success(f"Workspace '{spec.name}' is set up ({report.workspace_sid}).")
    else:
        output.success(f"Workspace '{spec.name}' was already set up; nothing changed.")
    if report.count("differs"):
        output.info("[red]Some resources differ from the quickstart; see the table.[/red]")
    output.info(
        "Next: Part 2 step by step with 'trcli tutorial --stage N', or check it all with "
        "'trcli doctor'."
    )


def _print_report(items: Any) -> None:
    from rich.table import Table

    from taskrouter_cli import output

    table = Table(title_justify="left")
    for header in ("Kind", "Name", "SID", "Result", "Detail"):
        table.add_column(header, overflow="fold")
    for item in items:
        style = RESULT_STYLE.get(item.result, "")
        table.add_row(
            item.kind,
            item.name,
            item.sid or "-",
            f"[{style}]{item.result}[/{style}]" if style else item.result,
            item.detail,
        )
    output.console().print(table)
