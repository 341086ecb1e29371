"""``trcli doctor``: check credentials, workspace, workflows, callback URL and workers."""

from __future__ import annotations

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option
from taskrouter_cli.cli.conventions import exit_check_failed

STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


@click.command(name="doctor")
@workspace_option
@json_option
@pass_app
def doctor(app: AppContext, as_json: bool) -> None:
    """Check that everything is in place: credentials, the workspace, each workflow's
    configuration and assignment callback URL (set, https on live Twilio, reachable; a running
    'trcli serve' gets a signed test callback), and the workers' availability.

    Each check is ok, warn or fail, with the command that fixes it. Exits 6 when any check
    fails.

    \b
    Example:
      trcli doctor --json
    """
    from rich.markup import escape
    from rich.table import Table

    from taskrouter_cli import output
    from taskrouter_cli.client import make_client
    from taskrouter_cli.quickstart.doctor import run_doctor

    report = run_doctor(app.settings, make_client)
    if as_json:
        output.print_json(report.to_dict())
    else:
        table = Table(title_justify="left")
        for header in ("Check", "Status", "Detail", "Fix"):
            table.add_column(header, overflow="fold")
        for check in report.checks:
            style = STATUS_STYLE.get(check.status, "")
            table.add_row(
                check.name,
                f"[{style}]{check.status}[/{style}]",
                escape(check.detail),
                escape(check.fix or "-"),
            )
        output.console().print(table)
        failed = sum(1 for check in report.checks if check.status == "fail")
        warned = sum(1 for check in report.checks if check.status == "warn")
        summary = f"{failed} failed, {warned} warning(s), {len(report.checks)} checks"
        if failed:
            output.info(f"[red]✗[/red] {summary}")
        else:
            output.success(summary)
    if report.failed:
        exit_check_failed()
