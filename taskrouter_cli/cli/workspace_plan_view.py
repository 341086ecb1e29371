"""How ``trcli workspace apply`` (and ``trcli setup``) show a plan: one line per resource."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from taskrouter_cli.operations.workspace_sync import (
    CREATE,
    DELETE,
    DIFFERS,
    UNCHANGED,
    UPDATE,
    Change,
    Plan,
)

MARKS = {
    CREATE: "[green]+[/green]",
    UPDATE: "[yellow]~[/yellow]",
    DELETE: "[red]-[/red]",
    DIFFERS: "[red]![/red]",
    UNCHANGED: "[dim]=[/dim]",
}


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 70 else text[:67] + "..."


def change_lines(change: Change) -> list[str]:
    """Plain text: ``~ TaskQueue Spanish`` then ``    target_workers: old → new``."""
    head = f"{change.kind} {change.name}"
    if change.note:
        head += f" ({change.note})"
    lines = [head]
    for item in change.fields:
        lines.append(f"    {item.name}: {_value(item.old)} → {_value(item.new)}")
    return lines


def print_changes(changes: Iterable[Change], title: str) -> None:
    from rich.markup import escape

    from taskrouter_cli import output

    out = output.console()
    out.print(escape(title) + ":")
    unchanged = 0
    for change in changes:
        if change.action == UNCHANGED:
            unchanged += 1
            continue
        first, *rest = change_lines(change)
        out.print(f"  {MARKS[change.action]} {escape(first)}")
        for line in rest:
            out.print(f"  {escape(line)}")
    if unchanged:
        out.print(f"  {MARKS[UNCHANGED]} {unchanged} unchanged")


def summary(changes: Iterable[Change], *, done: bool = False) -> str:
    changes = list(changes)
    words = ("created", "updated", "deleted") if done else ("to create", "to update", "to delete")
    counts = [
        (sum(1 for c in changes if c.action == action), word)
        for action, word in zip((CREATE, UPDATE, DELETE), words, strict=True)
    ]
    return ", ".join(f"{count} {word}" for count, word in counts)


def plan_to_dict(plan: Plan, changes: Iterable[Change], *, applied: bool) -> dict[str, Any]:
    items = list(changes)
    return {
        "workspace": plan.workspace_name,
        "workspace_sid": plan.workspace_sid,
        "applied": applied,
        "changed": applied and any(c.action in (CREATE, UPDATE, DELETE) for c in items),
        "changes": [
            {
                "kind": c.kind,
                "name": c.name,
                "sid": c.sid,
                "action": c.action,
                "fields": [{"name": f.name, "old": f.old, "new": f.new} for f in c.fields],
                "note": c.note,
            }
            for c in items
        ],
    }
