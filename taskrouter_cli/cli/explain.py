"""``trcli explain TASK``: why is this task where it is, and what unblocks it."""

from __future__ import annotations

import json
from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option


@click.command(name="explain")
@click.argument("task_sid", metavar="TASK")
@workspace_option
@json_option
@pass_app
def explain(app: AppContext, task_sid: str, as_json: bool) -> None:
    """Why is TASK pending, reserved or assigned? Evaluates the Workflow's filters against its
    attributes, the queue's target_workers against every Worker, and each Worker's availability
    and capacity, then names what blocks the task and the command that fixes it.

    \b
    Example:
      trcli explain WTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      ... Alice matches but is Offline
      Fix: trcli worker set-activity Alice Idle
    """
    from taskrouter_cli import output
    from taskrouter_cli.operations.routing_dry_run import server_now
    from taskrouter_cli.quickstart.explain import explain_task
    from taskrouter_cli.resolve import check_sid

    check_sid(task_sid, "Task")
    now = server_now(app.client, app.settings.uses_api_url_override)
    result = explain_task(app.workspace_api, task_sid, now)
    if as_json:
        output.print_json(result.to_dict())
        return
    render(result)


def _mark(value: bool | None) -> str:
    if value is None:
        return "-"
    return "[green]✓[/green]" if value else "[red]✗[/red]"


def render(result: Any) -> None:
    from rich.table import Table

    from taskrouter_cli import output
    from taskrouter_cli.output import escape_markup as inert

    console = output.console()
    age = f", age {result.age} s" if result.age is not None else ""
    console.print(f"[bold]Task {result.task_sid}[/bold]: {result.status}{age}")
    if result.history:
        console.print("[bold]Events[/bold]")
        for line in result.history:
            console.print(f"  {inert(line)}", soft_wrap=True)
    else:
        console.print(f"  attributes {inert(json.dumps(result.attributes))}")
    if result.workflow_name:
        name = inert(result.workflow_name)
        console.print(f"[bold]Workflow[/bold] {name} ({result.workflow_sid})")
    for item in result.filters:
        queue = item.queue_name or item.queue_sid or "?"
        console.print(
            f"  {_mark(item.matched)} filter {item.index + 1} '{inert(item.name)}': "
            f"{inert(item.expression)} → {inert(queue)}"
            + (f"  [dim](no match: {inert(item.why_not)})[/dim]" if item.why_not else "")
        )
        for comparison, value in item.trace if len(item.trace) > 1 else ():
            console.print(f"      {_mark(value)} {inert(comparison)}")
    if result.filters and result.used_default_filter:
        console.print("  → no filter matched; the default filter applies")
    if result.queue_name or result.queue_sid:
        console.print(
            f"[bold]Queue[/bold] {inert(result.queue_name or result.queue_sid)}: "
            f"target_workers {inert(result.target_workers or '1==1')}"
            + (
                f"; target expression {inert(result.target_expression)}"
                if result.target_expression
                else ""
            )
        )
    if result.workers:
        table = Table(title_justify="left")
        for header in ("Worker", "Matches", "Activity", "Available", "Capacity", "Busy with"):
            table.add_column(header, overflow="fold")
        for worker in result.workers:
            table.add_row(
                inert(worker.name),
                _mark(worker.matches),
                inert(worker.activity),
                _mark(worker.available),
                worker.capacity or "-",
                ", ".join(worker.open_tasks) or "-",
            )
        console.print(table)
    for item in result.reservations:
        console.print(
            f"  reservation {item['sid']}: {inert(str(item['worker_name']))} {item['status']}"
        )
    for warning in result.warnings:
        console.print(f"[bold yellow]Warning:[/bold yellow] {inert(warning)}", soft_wrap=True)
    colour = {
        "assigned": "green",
        "finished": "green",
        "deleted": "green",
        "worker_eligible": "green",
    }.get(result.reason, "yellow")
    console.print(f"[bold {colour}]Why:[/bold {colour}] {inert(result.message)}", soft_wrap=True)
    if result.fix:
        console.print(f"[bold]Fix:[/bold] {inert(result.fix)}", soft_wrap=True)
