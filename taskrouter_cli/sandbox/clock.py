"""Injectable time: every timestamp the sandbox records comes from a :class:`Clock`.

Tests use :class:`FakeClock` and move time with :meth:`FakeClock.advance`; the server uses
:class:`SystemClock`. Both return timezone-aware UTC datetimes.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    runs_by_itself = True

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class SkippableClock:
    """The machine's clock plus an offset that :meth:`advance` grows (``trcli sandbox
    --time-travel``): time passes as usual, and can jump forward to reach a timeout without
    waiting for it. The offset is not persisted: after a restart the clock is the system's.
    """

    runs_by_itself = True

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(timezone.utc) + self._offset

    def advance(self, seconds: float) -> datetime:
        """Jump forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock cannot go backwards")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            return datetime.now(timezone.utc) + self._offset


class FakeClock:
    """A clock that only moves when told to (thread-safe)."""

    runs_by_itself = False

    def __init__(self, start: datetime | None = None) -> None:
        if start is None:
            start = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("a FakeClock cannot go backwards")
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (must not be earlier than the current time)."""
        with self._lock:
            if when < self._now:
                raise ValueError("a FakeClock cannot go backwards")
            self._now = when
