"""``trcli events``: list recent Events and follow new ones."""

from __future__ import annotations

from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option
from taskrouter_cli.cli.conventions import exit_interrupted
from taskrouter_cli.cli.resource_common import note, sid_argument

COLUMNS = [
    ("Time", "event_date"),
    ("Type", "event_type"),
    ("About", "subject"),
    ("Description", "description"),
]


@click.group()
def events() -> None:
    """Events: what happened in the workspace (tasks created, reservations accepted, ...).

    \b
    Examples:
      trcli events list --task WTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      trcli events tail --type reservation.created
    """


def event_filters(function: Any) -> Any:
    for decorator in reversed(
        [
            click.option("--task", "task_sid", metavar="TASK", help="Only this Task's Events."),
            click.option("--worker", metavar="NAME|SID", help="Only this Worker's Events."),
            click.option(
                "--type", "event_type", metavar="TYPE", help="Only this type, e.g. task.created."
            ),
            click.option(
                "--since",
                metavar="DURATION|TIME",
                help="Events since 10m, 2h, 1d or an ISO-8601 time (default: TaskRouter's "
                "last 15 minutes).",
            ),
        ]
    ):
        function = decorator(function)
    return function


def _filters(
    app: AppContext, task_sid: str | None, worker: str | None, since: str | None
) -> dict[str, Any]:
    from taskrouter_cli.operations.inputs import parse_since
    from taskrouter_cli.resolve import WORKER

    return {
        "task_sid": sid_argument(task_sid, "Task") if task_sid else None,
        "since": parse_since(since) if since else None,
        "worker_sid": app.resolver.sid_in_workspace(WORKER, app.workspace_sid, worker)
        if worker
        else None,
    }


@events.command(name="list")
@event_filters
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Show at most this many (the newest).",
)
@workspace_option
@json_option
@pass_app
def events_list(
    app: AppContext,
    task_sid: str | None,
    worker: str | None,
    event_type: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List Events, oldest first.

    \b
    Example:
      trcli events list --since 10m --type reservation.accepted
    """
    from taskrouter_cli import output
    from taskrouter_cli.operations.events import event_subject, list_events

    filters = _filters(app, task_sid, worker, since)
    items = list_events(app.workspace_api, event_type=event_type, limit=limit, **filters)
    if as_json:
        output.print_json([output.resource_to_dict(item) for item in items])
        return
    rows = [{**output.resource_to_dict(item), "subject": event_subject(item)} for item in items]
    output.print_table(rows, COLUMNS, empty_message="No Events match.")


@events.command(name="tail")
@event_filters
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop after this long (default: until Ctrl-C).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between polls.",
)
@workspace_option
@json_option
@pass_app
def events_tail(
    app: AppContext,
    task_sid: str | None,
    worker: str | None,
    event_type: str | None,
    since: str | None,
    timeout: float | None,
    interval: float,
    as_json: bool,
) -> None:
    """Follow new Events as they happen (one line each; with --json one JSON object per line).

    Ctrl-C stops following (exit 130, like every command stopped with Ctrl-C).

    \b
    Example:
      trcli events tail --worker Alice --timeout 60
    """
    import json

    from taskrouter_cli import output
    from taskrouter_cli.guards.terminal import escape_control
    from taskrouter_cli.operations.events import event_subject, follow_events
    from taskrouter_cli.operations.polling import Poller

    filters = _filters(app, task_sid, worker, since)

    def show(event: Any) -> None:
        if as_json:
            click.echo(json.dumps(output.resource_to_dict(event)))
        else:
            when = output.cell(event.event_date)
            line = f"{when}  {event.event_type:<28} {event_subject(event)}  {event.description}"
            click.echo(escape_control(line))

    note("Following events (Ctrl-C to stop)...")
    try:
        count = follow_events(
            app.workspace_api,
            Poller(timeout=timeout, interval=interval),
            show,
            event_type=event_type,
            **filters,
        )
    except KeyboardInterrupt:
        exit_interrupted("Stopped.")
    note(f"Stopped after {timeout:g} s; {count} event(s).")
