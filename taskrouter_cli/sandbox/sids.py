"""SIDs: two uppercase letters + 32 lowercase hex digits.

New SIDs start with 16 hex digits of a per-process increasing counter (seeded from the time in
microseconds) followed by 16 random hex digits: unique, and in creation order, so the store's
indexes grow at their end instead of being rewritten at random places (this keeps writes cheap
as the database grows).
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time

SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


_counter = itertools.count(int(time.time() * 1_000_000))
_lock = threading.Lock()


def new_sid(prefix: str) -> str:
    with _lock:
        number = next(_counter)
    return f"{prefix}{number & 0xFFFFFFFFFFFFFFFF:016x}{secrets.token_hex(8)}"


def is_sid(value: object, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix) and bool(SID_RE.match(value))
