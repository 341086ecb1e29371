"""``trcli task``: create, list, show, update, cancel, complete, delete and watch Tasks."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option
from taskrouter_cli.cli.conventions import confirm_destructive, exit_interrupted, yes_option
from taskrouter_cli.cli.resource_common import (
    attributes_text,
    note,
    show_list,
    show_one,
    sid_argument,
)
from taskrouter_cli.statuses import TASK_STATUSES

TASK_COLUMNS = [
    ("SID", "sid"),
    ("Status", "assignment_status"),
    ("Priority", "priority"),
    ("Queue", "task_queue_friendly_name"),
    ("Workflow", "workflow_friendly_name"),
    ("Age (s)", "age"),
    ("Attributes", "attributes"),
]
TASK_FIELDS = [
    ("SID", "sid"),
    ("Status", "assignment_status"),
    ("Priority", "priority"),
    ("Queue", "task_queue_friendly_name"),
    ("Workflow", "workflow_friendly_name"),
    ("Channel", "task_channel_unique_name"),
    ("Age (s)", "age"),
    ("Timeout (s)", "timeout"),
    ("Reason", "reason"),
    ("Created", "date_created"),
    ("Updated", "date_updated"),
]
RESERVATION_COLUMNS = [
    ("Reservation", "sid"),
    ("Worker", "worker_name"),
    ("Status", "reservation_status"),
    ("Created", "date_created"),
    ("Updated", "date_updated"),
]


@click.group()
def task() -> None:
    """Create Tasks and follow them through routing.

    \b
    Examples:
      trcli task create --attributes '{"selected_language": "es"}' --wait
      trcli task list --status pending
      trcli task show WTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
    """


@task.command(name="create")
@click.option(
    "--attributes",
    metavar="JSON|@FILE",
    help="Task attributes: a JSON object, or @file.json to read it from a file.",
)
@click.option(
    "--workflow",
    metavar="NAME|SID",
    help="Workflow that routes the Task. Default: the 'workflow' setting (TRCLI_WORKFLOW), "
    "or the workspace's only Workflow.",
)
@click.option("--priority", type=int, help="Task priority (higher is routed first).")
@click.option(
    "--timeout",
    type=click.IntRange(min=1),
    help="Seconds the Task may wait for assignment (TaskRouter default 86400).",
)
@click.option("--channel", metavar="NAME|SID", help="Task channel, e.g. default or voice.")
@click.option(
    "--wait",
    is_flag=True,
    help="Follow the Task until it is reserved, assigned, canceled or completed.",
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long --wait waits (exit 6 when the Task is still pending then, or canceled).",
)
@workspace_option
@json_option
@pass_app
def task_create(
    app: AppContext,
    attributes: str | None,
    workflow: str | None,
    priority: int | None,
    timeout: int | None,
    channel: str | None,
    wait: bool,
    wait_timeout: float,
    as_json: bool,
) -> None:
    """Create a Task and let the Workflow route it.

    With --wait, each routing stage is printed with its time (on stderr), then the
    reservation and the command that accepts it.

    \b
    Example:
      trcli task create --attributes '{"selected_language": "es"}' --workflow \\
          "Incoming Customer Care Requests" --wait
    """
    from taskrouter_cli.operations.polling import Poller
    from taskrouter_cli.operations.tasks import (
        Stage,
        choose_workflow_sid,
        create_task,
        unroutable_reason,
        wait_for_task,
    )

    text = attributes_text(attributes)
    workspace_sid = app.workspace_sid
    workflow_sid = choose_workflow_sid(app.resolver, workspace_sid, workflow, app.settings.workflow)
    created = create_task(
        app.workspace_api,
        attributes=text,
        workflow_sid=workflow_sid,
        priority=priority,
        timeout=timeout,
        channel=channel,
    )
    if not wait:
        show_one(created, as_json=as_json, fields=TASK_FIELDS, title=f"Task {created.sid}")
        problem = unroutable_reason(app.workspace_api, created)
        if problem:
            note(f"Warning: Task {created.sid} will not be routed: {problem}.")
            note(f"See why: trcli explain {created.sid}")
        return
    note(f"Created Task {created.sid}; waiting up to {wait_timeout:g} s for routing")

    def report(stage: Stage) -> None:
        who = f" → {stage.worker_name} ({stage.reservation_sid})" if stage.reservation_sid else ""
        note(f"  {stage.elapsed:6.1f} s  {stage.status}{who}")

    final, stage = wait_for_task(
        app.workspace_api, str(created.sid), Poller(timeout=wait_timeout), report
    )
    show_one(final, as_json=as_json, fields=TASK_FIELDS, title=f"Task {final.sid}")
    if stage.status == "reserved" and stage.reservation_sid:
        note(f"Reservation {stage.reservation_sid} for {stage.worker_name} is pending.")
        note(f"Next: trcli reservation accept {stage.reservation_sid}")


@task.command(name="list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(TASK_STATUSES),
    help="Only Tasks in this status (repeat for several).",
)
@click.option("--queue", metavar="NAME|SID", help="Only Tasks in this TaskQueue.")
@click.option("--workflow", metavar="NAME|SID", help="Only Tasks of this Workflow.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Show at most this many Tasks.",
)
@workspace_option
@json_option
@pass_app
def task_list(
    app: AppContext,
    statuses: tuple[str, ...],
    queue: str | None,
    workflow: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List Tasks (in the order TaskRouter returns them), filtered by status, queue, workflow.

    \b
    Example:
      trcli task list --status pending --status reserved --queue "Customer Care Requests - Spanish"
    """
    from taskrouter_cli.operations.tasks import list_tasks
    from taskrouter_cli.resolve import TASK_QUEUE, WORKFLOW

    workspace_sid = app.workspace_sid
    queue_sid = app.resolver.sid_in_workspace(TASK_QUEUE, workspace_sid, queue) if queue else None
    workflow_sid = (
        app.resolver.sid_in_workspace(WORKFLOW, workspace_sid, workflow) if workflow else None
    )
    tasks, more = list_tasks(
        app.workspace_api,
        statuses=statuses,
        queue_sid=queue_sid,
        workflow_sid=workflow_sid,
        limit=limit,
    )
    show_list(tasks, as_json=as_json, columns=TASK_COLUMNS, empty_message="No Tasks match.")
    if more:
        note(f"showing {limit} of more; use --limit")


@task.command(name="show")
@click.argument("task_sid", metavar="TASK")
@workspace_option
@json_option
@pass_app
def task_show(app: AppContext, task_sid: str, as_json: bool) -> None:
    """Show a Task: its fields, attributes (pretty-printed) and reservations.

    \b
    Example:
      trcli task show WTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
    """
    from taskrouter_cli import output
    from taskrouter_cli.operations.tasks import fetch_task, task_reservations

    sid = sid_argument(task_sid, "Task")
    found = fetch_task(app.workspace_api, sid)
    if as_json:
        output.print_json(output.resource_to_dict(found))
        return
    show_one(found, as_json=False, fields=TASK_FIELDS, title=f"Task {sid}")
    output.console().print("Attributes:")
    output.console().print(output.pretty_json_text(found.attributes), markup=False)
    show_list(
        task_reservations(app.workspace_api, sid),
        as_json=False,
        columns=RESERVATION_COLUMNS,
        title="Reservations",
        empty_message="No reservations yet.",
    )


@task.command(name="update")
@click.argument("task_sid", metavar="TASK")
@click.option("--attributes", metavar="JSON|@FILE", help="New attributes (replace the old).")
@click.option("--priority", type=int, help="New priority.")
@workspace_option
@json_option
@pass_app
def task_update(
    app: AppContext, task_sid: str, attributes: str | None, priority: int | None, as_json: bool
) -> None:
    """Change a Task's attributes and/or priority.

    \b
    Example:
      trcli task update WTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --priority 10
    """
    from taskrouter_cli.operations.tasks import update_task

    sid = sid_argument(task_sid, "Task")
    text = attributes_text(attributes)
    updated = update_task(app.workspace_api, sid, attributes=text, priority=priority)
    show_one(updated, as_json=as_json, fields=TASK_FIELDS, title=f"Task {sid}")


def _status_command(name: str, status: str, doc: str) -> None:
    @task.command(name=name, help=doc)
    @click.argument("task_sid", metavar="TASK")
    @click.option(
        "--reason",
        help="Why (stored on the Task; TaskRouter requires one to cancel or complete: "
        "'canceled with trcli' / 'completed with trcli' when not given).",
    )
    @workspace_option
    @json_option
    @pass_app
    def command(app: AppContext, task_sid: str, reason: str | None, as_json: bool) -> None:
        from taskrouter_cli.operations.tasks import set_task_status

        sid = sid_argument(task_sid, "Task")
        updated = set_task_status(app.workspace_api, sid, status, reason)
        show_one(updated, as_json=as_json, fields=TASK_FIELDS, title=f"Task {sid}")


_status_command(
    "cancel",
    "canceled",
    """Cancel a pending or reserved Task (its pending reservations are canceled too).

    \b
    Example:
      trcli task cancel WTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --reason "customer hung up"
    """,
)
_status_command(
    "complete",
    "completed",
    """Complete an assigned (or wrapping) Task. The worker keeps its activity: move it back
    with 'trcli worker set-activity'.

    \b
    Example:
      trcli task complete WTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --reason "resolved"
    """,
)


@task.command(name="delete")
@click.argument("task_sid", metavar="TASK")
@yes_option
@workspace_option
@pass_app
def task_delete(app: AppContext, task_sid: str, yes: bool) -> None:
    """Delete a Task (asks first when stdin is a terminal; otherwise needs --yes).

    \b
    Example:
      trcli task delete WTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --yes
    """
    sid = sid_argument(task_sid, "Task")
    workspace = app.workspace_api
    confirm_destructive(f"Delete Task {sid}", yes=yes)
    workspace.tasks(sid).delete()
    note(f"Deleted Task {sid}")


@task.command(name="watch")
@click.argument("task_sid", metavar="TASK")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop watching after this long (default: until the Task is canceled or completed).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between polls.",
)
@workspace_option
@pass_app
def task_watch(app: AppContext, task_sid: str, timeout: float | None, interval: float) -> None:
    """Watch a Task, its reservations and its worker until it is canceled or completed.

    On a terminal this is a live view; otherwise each change is printed as a line. Ctrl-C
    stops watching (exit 130).

    \b
    Example:
      trcli task watch WTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --timeout 300
    """
    from taskrouter_cli.operations.polling import Poller

    sid = sid_argument(task_sid, "Task")
    workspace = app.workspace_api
    poller = Poller(timeout=timeout, interval=interval)
    try:
        if sys.stdout.isatty():
            last = _watch_live(workspace, sid, poller)
        else:
            last = _watch_lines(workspace, sid, poller)
    except KeyboardInterrupt:
        exit_interrupted("Stopped watching.")
    if not last.final:
        note(f"Stopped watching after {poller.elapsed:.1f} s; the task is {last.status}.")


def _watch_lines(workspace: Any, sid: str, poller: Any) -> Any:
    from taskrouter_cli.guards.terminal import escape_control
    from taskrouter_cli.operations.watch import changes, take_snapshot

    previous = None
    while True:
        current = take_snapshot(workspace, sid)
        stamp = time.strftime("%H:%M:%S")
        for line in changes(previous, current):
            click.echo(f"{stamp}  {escape_control(line)}")
        previous = current
        if current.final or not poller.wait():
            return current


def _watch_live(workspace: Any, sid: str, poller: Any) -> Any:
    from rich.live import Live

    from taskrouter_cli import output
    from taskrouter_cli.operations.watch import take_snapshot

    current = take_snapshot(workspace, sid)
    with Live(_render(current), console=output.console(), refresh_per_second=4) as live:
        while not current.final and poller.wait():
            current = take_snapshot(workspace, sid)
            live.update(_render(current))
    return current


def _render(snapshot: Any) -> Any:
    """The live view: one line per thing, each SID whole (lines wrap between words, so a SID
    moves to the next line on a narrow terminal instead of being cut)."""
    from rich.console import Group
    from rich.text import Text

    from taskrouter_cli.sids import labelled

    lines = [
        Text.assemble(("Task ", "bold"), snapshot.task_sid, f": {snapshot.status}"),
        Text(f"  age {snapshot.age} s, queue {snapshot.queue or '-'}"),
    ]
    for reservation in snapshot.reservations:
        worker = labelled(reservation.worker_name, reservation.worker_sid)
        lines.append(Text(f"  reservation {reservation.sid}: {reservation.status} for {worker}"))
    if snapshot.worker_name:
        lines.append(Text(f"  worker {snapshot.worker_name}: {snapshot.worker_activity or '-'}"))
    return Group(*lines)
