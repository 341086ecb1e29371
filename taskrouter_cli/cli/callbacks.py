"""``trcli callbacks list|show``: the callbacks ``trcli serve`` received, from its log file."""

from __future__ import annotations

from typing import Any

import click

from taskrouter_cli.cli.context import json_option
from taskrouter_cli.errors import NotFoundError, UsageError

COLUMNS = [
    ("#", "number"),
    ("Time", "time"),
    ("Kind", "kind"),
    ("Status", "status"),
    ("Task", "task_sid"),
    ("Reservation", "reservation_sid"),
    ("Worker", "worker"),
    ("Reply / error", "outcome"),
    ("ms", "latency_ms"),
]


def _load() -> list[Any]:
    from taskrouter_cli.callbacks.log import callback_log_path, read_records

    records, broken = read_records(callback_log_path())
    if broken:
        click.echo(f"Skipped {broken} unreadable line(s) in {callback_log_path()}", err=True)
    return records


def _text(value: Any) -> Any:
    """Escape rich markup in text that came from the network."""
    from taskrouter_cli.output import escape_markup

    return escape_markup(value) if isinstance(value, str) else value


def is_doctor_test(record: Any) -> bool:
    """The signed test callback 'trcli doctor' sends (made-up SIDs, TrcliDoctor=1)."""
    return bool(record.params.get("TrcliDoctor") == "1")


def _row(number: int, record: Any) -> dict[str, Any]:
    import json

    if record.handler_status is not None:  # --forward-to: what the user's handler answered
        shown = json.dumps(record.reply) if record.reply is not None else record.handler_body
        outcome = f"handler {record.handler_status} {shown or '(empty)'}"
    elif record.status >= 400:
        outcome = f"{record.error}"
    elif record.kind == "event":
        outcome = record.event_type or "-"
    else:
        outcome = json.dumps(record.reply if record.reply is not None else {})
        if record.rule:
            outcome += f" ({record.rule})"
    return {
        "number": number,
        "time": record.time[5:10] + " " + record.time[11:19]
        if len(record.time) >= 19
        else record.time,
        "kind": f"{record.kind} (doctor's test)" if is_doctor_test(record) else record.kind,
        "status": record.status,
        "task_sid": record.task_sid,
        "reservation_sid": record.reservation_sid,
        "worker": _text(record.worker_name or record.worker_sid),
        "outcome": _text(outcome),
        "latency_ms": record.latency_ms,
    }


@click.group()
def callbacks() -> None:
    """The callbacks 'trcli serve' received (kept in $TRCLI_HOME/callbacks.jsonl).

    \b
    Examples:
      trcli callbacks list
      trcli callbacks list --errors          # refused ones (bad signature, ...) and why
      trcli callbacks show last
      trcli callbacks show WRxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
    """


@callbacks.command(name="list")
@click.option(
    "--limit",
    type=click.IntRange(1, None),
    default=20,
    show_default=True,
    help="Show the newest N.",
)
@click.option("--kind", type=click.Choice(["assignment", "event"]), help="Only this kind.")
@click.option("--errors", is_flag=True, help="Only refused requests (4xx/5xx).")
@json_option
def callbacks_list(limit: int, kind: str | None, errors: bool, as_json: bool) -> None:
    """List received callbacks, oldest first (# is the number 'show' takes).

    \b
    Example:
      trcli callbacks list --errors
    """
    from taskrouter_cli import output

    numbered = [
        (number, record)
        for number, record in enumerate(_load(), start=1)
        if (kind is None or record.kind == kind) and (not errors or record.status >= 400)
    ][-limit:]
    if as_json:
        output.print_json(
            [{"number": n, **r.to_dict(), "doctor_test": is_doctor_test(r)} for n, r in numbered]
        )
        return
    output.print_table(
        [_row(n, r) for n, r in numbered],
        COLUMNS,
        empty_message="No callbacks yet. Start 'trcli serve' and point a Workflow at it.",
    )


def _find(records: list[Any], reference: str) -> tuple[int, Any]:
    if not records:
        raise NotFoundError("No callbacks yet", "Start 'trcli serve' and point a Workflow at it")
    if reference == "last":
        return len(records), records[-1]
    if reference.isdigit():
        number = int(reference)
        if 1 <= number <= len(records):
            return number, records[number - 1]
        raise NotFoundError(
            f"No callback #{number}; there are {len(records)}", "See 'trcli callbacks list'"
        )
    for number in range(len(records), 0, -1):
        record = records[number - 1]
        if reference in (record.reservation_sid, record.task_sid, record.params.get("Sid")):
            return number, record
    if len(reference) == 34 and reference[:2] in ("WR", "WT", "EV"):
        raise NotFoundError(f"No callback for {reference}", "See 'trcli callbacks list'")
    raise UsageError(
        f"'{reference}' is not a callback number, 'last', or a WR/WT/EV SID",
        "See 'trcli callbacks list' for the numbers",
    )


@callbacks.command(name="show")
@click.argument("reference", metavar="NUMBER|last|WR...|WT...", default="last")
@json_option
def callbacks_show(reference: str, as_json: bool) -> None:
    """Show one callback in full: parameters, attributes, reply, error and hint.

    A SID picks the newest callback for that reservation, task or event.

    \b
    Examples:
      trcli callbacks show 3
      trcli callbacks show WRxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
    """
    import json

    from taskrouter_cli import output

    number, record = _find(_load(), reference)
    if as_json:
        output.print_json({"number": number, **record.to_dict()})
        return
    data = _row(number, record)
    data.update(
        signature=record.signature,
        rule=record.rule,
        replay="yes" if record.replay else "no",
        workflow_sid=record.workflow_sid,
        task_queue_sid=record.task_queue_sid,
        event_type=record.event_type,
        path=_text(record.path),
        remote=record.remote,
        hint=_text(record.hint),
        task_attributes=_text(json.dumps(record.task_attributes))
        if record.task_attributes is not None
        else None,
        worker_attributes=_text(json.dumps(record.worker_attributes))
        if record.worker_attributes is not None
        else None,
        next=record.next_command,
        forwarded=_text(f"{record.forwarded_to} ({record.handler_ms or 0:.1f} ms)")
        if record.forwarded_to
        else None,
    )
    fields = [
        ("#", "number"),
        ("Time", "time"),
        ("Kind", "kind"),
        ("Path", "path"),
        ("HTTP status", "status"),
        ("Signature", "signature"),
        ("Task", "task_sid"),
        ("Reservation", "reservation_sid"),
        ("Worker", "worker"),
        ("Workflow", "workflow_sid"),
        ("TaskQueue", "task_queue_sid"),
        ("Event", "event_type"),
        ("Task attributes", "task_attributes"),
        ("Worker attributes", "worker_attributes"),
        ("Reply / error", "outcome"),
        ("Forwarded to", "forwarded"),
        ("Rule", "rule"),
        ("Replay", "replay"),
        ("Latency (ms)", "latency_ms"),
        ("From", "remote"),
        ("Fix", "hint"),
        ("Next", "next"),
    ]
    output.print_fields(data, [f for f in fields if data.get(f[1]) not in (None, "")])
