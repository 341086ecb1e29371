"""How ``trcli workflow test`` shows a dry run to people (the data is ``--json``)."""

from __future__ import annotations

import json

from taskrouter_cli.routing.dry_run import DryRun, TargetResult


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:g} s"


def _yes_no(value: bool) -> str:
    return "[green]yes[/green]" if value else "[red]no[/red]"


def _target_heading(target: TargetResult) -> str:
    where = "Default filter" if target.filter_index is None else f"Target {target.index + 1}"
    parts = [f"priority {target.priority}"]
    if target.timeout is not None:
        parts.append(
            f"timeout {target.timeout} s: from age {target.starts_at:g} s "
            f"to {_seconds(target.ends_at)}"
        )
    else:
        parts.append("no timeout")
    return f"{where} → queue {target.queue} ({', '.join(parts)})"


def print_dry_run(result: DryRun, workflow_name: str, warnings: list[str]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from taskrouter_cli import output

    out = output.console()
    stamp = result.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.print(f"Workflow [bold]{escape(workflow_name)}[/bold], task created at {stamp}")
    out.print(
        f"Attributes {escape(json.dumps(dict(result.attributes)))}, priority {result.priority}"
    )
    out.print("Filters:")
    if not result.filters:
        out.print("  (none)")
    for flt in result.filters:
        mark = "[green]✓[/green]" if flt.matched else "[dim]✗[/dim]"
        out.print(f"  {mark} {flt.index + 1}. {escape(flt.name)}: {escape(flt.expression)}")
    if result.filter is None and not result.uses_default_filter:
        out.print("[yellow]No filter matches.[/yellow]")
    elif result.uses_default_filter:
        out.print("No filter matches: the task goes to the default filter.")
    for target in result.targets:
        out.print("")
        out.print(escape(_target_heading(target)))
        for label, value in (
            ("expression", target.expression),
            ("skip_if", target.skip_if),
            ("order_by", target.order_by),
            ("known worker", target.known_worker),
        ):
            if value:
                out.print(f"  {label}: {escape(value)}")
        if target.problem:
            out.print(f"  [red]{escape(target.problem)}[/red]")
            continue
        if not target.workers:
            out.print("  [yellow]No worker is in this queue.[/yellow]")
            continue
        table = Table(box=None, pad_edge=False)
        for header in ("Worker", "Matches", "Available", "Capacity", "Eligible"):
            table.add_column(header, overflow="fold")
        for worker in target.workers:
            table.add_row(
                escape(worker.name),
                _yes_no(worker.matches),
                f"{_yes_no(worker.available)} ({escape(worker.activity)})",
                escape(worker.capacity),
                _yes_no(worker.eligible),
            )
        out.print(table)
    out.print("")
    if result.reserved_now:
        out.print(
            f"Now: [green]{escape(', '.join(result.reserved_now))}[/green] would be reserved."
        )
    else:
        out.print("Now: nobody would be reserved.")
    out.print("Timeline (if nothing else changes):")
    for step in result.timeline:
        out.print(f"  {step.age:>8g} s  {escape(step.message)}")
    for line in warnings:
        output.info(f"[yellow]warning:[/yellow] {escape(line)}")
