"""SIDs: two uppercase letters + 32 lowercase hex digits."""

from __future__ import annotations

import re
import uuid

SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")

PREFIXES = {
    "workspace": "WS",
    "activity": "WA",
    "worker": "WK",
    "task_queue": "WQ",
    "workflow": "WW",
    "task": "WT",
    "reservation": "WR",
    "task_channel": "TC",
    "worker_channel": "WC",
    "event": "EV",
}


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def is_sid(value: object, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix) and bool(SID_RE.match(value))
