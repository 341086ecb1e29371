"""Helpers shared by the resource command groups (task, worker, queue, ...): printing one
resource or a list, SID arguments. Light: click and our own modules only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import click

from taskrouter_cli.resolve import check_sid

Column = tuple[str, str]


def show_one(
    resource: Any, *, as_json: bool, fields: Sequence[Column], title: str | None = None
) -> dict[str, Any]:
    """Print one resource: its SDK fields as JSON, or chosen fields as a two-column table."""
    from taskrouter_cli import output

    data = output.resource_to_dict(resource)
    if as_json:
        output.print_json(data)
    else:
        output.print_fields(data, fields, title=title)
    return data


def show_list(
    resources: Iterable[Any],
    *,
    as_json: bool,
    columns: Sequence[Column],
    empty_message: str,
    title: str | None = None,
) -> list[dict[str, Any]]:
    """Print a list: an array of SDK fields as JSON, or a table of chosen columns."""
    from taskrouter_cli import output

    rows = [output.resource_to_dict(r) for r in resources]
    if as_json:
        output.print_json(rows)
    else:
        output.print_table(rows, columns, title=title, empty_message=empty_message)
    return rows


def note(message: str) -> None:
    """A line for people on stderr (never mixed into --json output)."""
    click.echo(message, err=True)


def sid_argument(value: str, label: str) -> str:
    """Check a SID given as an argument (before any request is made)."""
    return check_sid(value.strip(), label)


def attributes_text(value: str | None, option: str = "--attributes") -> str | None:
    """JSON object text for ``--attributes`` (inline or @file), checked; None when absent."""
    if value is None:
        return None
    from taskrouter_cli.operations.inputs import parse_json_object

    text, _ = parse_json_object(value, option)
    return text
