"""Twilio SID shapes: two upper-case letters and 32 hex digits."""

from __future__ import annotations

import re

SID_PATTERN = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")

PREFIX_BY_RESOURCE: dict[str, str] = {
    "Account": "AC",
    "API key": "SK",
    "Workspace": "WS",
    "Activity": "WA",
    "Worker": "WK",
    "TaskQueue": "WQ",
    "Workflow": "WW",
    "Task": "WT",
    "Reservation": "WR",
    "TaskChannel": "TC",
    "WorkerChannel": "WC",
    "Event": "EV",
}


def is_sid(value: str, prefix: str | None = None) -> bool:
    """True when ``value`` is shaped like a SID (with ``prefix``, when given)."""
    if not SID_PATTERN.match(value):
        return False
    return prefix is None or value.startswith(prefix)


def looks_like_any_sid(value: str) -> bool:
    return bool(SID_PATTERN.match(value))


def labelled(name: str | None, sid: str | None) -> str:
    """A resource as a person names it: ``Alice (WK…)`` — the whole SID, never cut."""
    if name and sid:
        return f"{name} ({sid})"
    return name or sid or "-"
