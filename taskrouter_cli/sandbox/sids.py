"""SIDs: two uppercase letters + 32 lowercase hex digits.

New SIDs start with 16 hex digits of a per-process increasing counter (seeded from the time in
microseconds) followed by 16 random hex digits: unique, and in creation order, so the store's
indexes grow at their end instead of being rewritten at random places (this keeps writes cheap
as the database grows).
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time

SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


_counter = itertools.count(int(time.time() * 1_000_000))
_lock = threading.Lock()
_RANDOM_CHUNK = 4096
"""Random bytes are read from the OS this many at a time (the random half of 512 SIDs): one
``os.urandom`` call per SID was a system call on every Event and record created."""
_random = b""
_random_at = 0


def _forget_random() -> None:
    """A forked child must not hand out its parent's random bytes again."""
    global _random, _random_at
    _random, _random_at = b"", 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_random)


def new_sid(prefix: str) -> str:
    global _random, _random_at
    with _lock:
        number = next(_counter)
        if _random_at >= len(_random):
            _random, _random_at = os.urandom(_RANDOM_CHUNK), 0
        tail = _random[_random_at : _random_at + 8]
        _random_at += 8
    return f"{prefix}{number & 0xFFFFFFFFFFFFFFFF:016x}{tail.hex()}"


def is_sid(value: object, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix) and bool(SID_RE.match(value))
