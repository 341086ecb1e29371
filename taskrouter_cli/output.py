"""Everything trcli prints: JSON for scripts, rich tables for people, one-line errors.

Data goes to stdout; progress and diagnostics go to stderr. Rich decides about colour: none when
the stream is not a terminal or ``NO_COLOR`` is set. rich is imported on first use only, so
commands that print nothing (and ``--help``) do not pay for it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from taskrouter_cli.guards.terminal import escape_control

if TYPE_CHECKING:
    from rich.console import Console

Column = tuple[str, str]
"""(header, field name) of a table column."""


@lru_cache(maxsize=1)
def _console_class() -> type[Console]:
    from rich.console import Console

    return Console


SID_WIDTH = 34
READABLE_WIDTH = 24
"""Columns other than SIDs fold, but not narrower than this (or their longest value)."""

PIPED_WIDTH = 160
"""Width for output that is not a terminal (rich would use 80 and wrap every SID)."""


def _make_console(stream: Any) -> Console:
    width = None
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()) and not os.environ.get("COLUMNS"):
        width = PIPED_WIDTH
    return _console_class()(file=stream, highlight=False, soft_wrap=False, width=width)


def console() -> Console:
    """A console on the current ``sys.stdout`` (so test runners that swap it see the output)."""
    return _make_console(sys.stdout)


def err_console() -> Console:
    return _make_console(sys.stderr)


def _is_sid_column(header: str, name: str) -> bool:
    return header.upper().endswith("SID") or name == "sid" or name.endswith("_sid")


def format_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "value") and value.__class__.__module__.startswith("twilio"):
        return value.value  # twilio enums
    return value


def resource_to_dict(resource: Any) -> dict[str, Any]:
    """The SDK's snake_case fields of an instance resource (``url``/``links`` included)."""
    if isinstance(resource, Mapping):
        return {k: to_jsonable(v) for k, v in resource.items()}
    return {
        name: to_jsonable(value)
        for name, value in vars(resource).items()
        if not name.startswith("_")
    }


def print_json(data: Any) -> None:
    """Write JSON, and nothing else, to stdout."""
    sys.stdout.write(json.dumps(to_jsonable(data), indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def emit(data: Any, *, as_json: bool, table: Any | None = None) -> None:
    """Print ``data`` as JSON or, for people, call ``table()`` to render it."""
    if as_json:
        print_json(data)
    elif table is not None:
        table()


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return format_datetime(value)
    return escape_control(str(value))


def print_table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    title: str | None = None,
    empty_message: str = "Nothing to show.",
) -> None:
    from rich.table import Table

    rows = list(rows)
    if not rows:
        err_console().print(empty_message)
        return
    title = escape_control(title) if title else title
    table = Table(title=title, title_justify="left", show_lines=False)
    cells = [[cell(row.get(name)) for _, name in columns] for row in rows]
    out = console()
    minimums = _minimum_widths(columns, cells, out.width)
    if any(_is_sid_column(h, n) for h, n in columns) and not any(minimums):
        _print_vertical(cells, columns, title)
        return
    for (header, name), minimum in zip(columns, minimums, strict=True):
        is_sid = _is_sid_column(header, name) and minimum == SID_WIDTH
        table.add_column(header, overflow="fold", no_wrap=is_sid, min_width=minimum)
    for row_cells in cells:
        table.add_row(*row_cells)
    out.print(table)


def _print_vertical(cells: list[list[str]], columns: Sequence[Column], title: str | None) -> None:
    """A terminal too narrow for the table's SIDs: one block of "Header  value" lines per row,
    so every SID stays whole on its own line (a cut SID cannot be copied)."""
    from rich.table import Table

    out = console()
    if title:
        out.print(title)
    for number, row_cells in enumerate(cells, start=1):
        block = Table(show_header=False, box=None, pad_edge=False)
        block.add_column(style="bold", no_wrap=True)
        block.add_column(overflow="fold")
        for (header, _), value in zip(columns, row_cells, strict=True):
            block.add_row(header, value)
        out.print(f"[dim]── {number} ──[/dim]")
        out.print(block)


def _minimum_widths(
    columns: Sequence[Column], cells: list[list[str]], width: int
) -> list[int | None]:
    """Per column, how narrow it may get: a SID is never cut (it could not be copied), and
    other columns keep a readable width (a status folded to "pen/din/g" helps nobody) -- as
    long as the terminal is wide enough for that; otherwise everything folds as needed."""
    available = width - (3 * len(columns) + 1)  # borders and padding
    sid = [_is_sid_column(header, name) for header, name in columns]
    readable = [
        min(
            max([len(word) for word in header.split()] + [len(row[index]) for row in cells]),
            READABLE_WIDTH,
        )
        for index, (header, _) in enumerate(columns)
    ]
    sid_total = SID_WIDTH * sum(sid)
    others = [w for w, is_sid in zip(readable, sid, strict=True) if not is_sid]
    if sid_total + sum(others) <= available:
        return [SID_WIDTH if s else w for w, s in zip(readable, sid, strict=True)]
    if sid_total + 4 * len(others) <= available:
        return [SID_WIDTH if s else None for s in sid]
    return [None for _ in columns]


def print_fields(
    data: Mapping[str, Any], fields: Sequence[Column], *, title: str | None = None
) -> None:
    """One resource as a two-column table of field names and values."""
    from rich.table import Table

    title = escape_control(title) if title else title
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, name in fields:
        table.add_row(label, cell(data.get(name)))
    console().print(table)


def info(message: str) -> None:
    """A diagnostic line for people on stderr (rich markup allowed)."""
    err_console().print(message)


def success(message: str) -> None:
    err_console().print(f"[green]✓[/green] {message}")


def pretty_json_text(text: str | None) -> str:
    """A JSON document stored as a string (attributes, configuration), indented for reading."""
    if not text:
        return "{}"
    try:
        return json.dumps(json.loads(text), indent=2)
    except ValueError:
        return escape_control(text)


def escape_markup(text: str) -> str:
    """Outside data to put in rich markup, shown exactly as it is wherever it is put.

    Control characters become escapes (:func:`escape_control`); the rest is rich's own
    ``escape``, which makes a tag-like ``[...]`` literal and doubles the backslashes right
    before one -- the only backslashes rich reads as escapes. A run of backslashes at the end
    would escape whatever tag follows the text, but doubling it (as ``escape`` does for one)
    would show it twice anywhere else; so the run is doubled and closed by an empty style
    (``[b][/b]``, which shows nothing): each backslash is shown once, before a tag or not.
    """
    from rich.markup import escape

    text = escape_control(text)
    body = text.rstrip("\\")
    if len(body) == len(text):
        return escape(text)
    return escape(body) + "\\" * (2 * (len(text) - len(body))) + "[b][/b]"
