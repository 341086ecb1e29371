"""Wall-clock time measured fairly on a shared machine.

A test that promises "answered within 1 s" measures wall-clock time, and on a loaded machine
part of it is time this thread was ready to run but waited for a CPU another process held (a
busy loop beside a 0.7 s loop added 0.5 s of such waiting). Linux counts that wait per thread
(``/proc/thread-self/schedstat``, second field, nanoseconds); :class:`Stopwatch` leaves it out,
so what remains is the time the code under test ran or waited on its own I/O and timers, which
is what the promise is about. Where the file is absent the plain wall-clock time is used.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType
from typing import final

_SCHEDSTAT = Path("/proc/thread-self/schedstat")


def _runqueue_wait() -> float:
    """Seconds this thread has spent runnable but not running (0 where Linux does not say)."""
    try:
        return int(_SCHEDSTAT.read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


@final
class Stopwatch:
    """``with Stopwatch() as watch: ...`` then ``watch.seconds``: elapsed wall-clock time less
    the time this thread waited for a CPU; ``watch.wall`` is the plain elapsed time."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.wall = 0.0
        self._started = 0.0
        self._waited = 0.0

    def __enter__(self) -> Stopwatch:
        self._waited = _runqueue_wait()
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.wall = time.perf_counter() - self._started
        waited = _runqueue_wait() - self._waited
        self.seconds = max(0.0, self.wall - waited)

    def __str__(self) -> str:
        return f"{self.seconds:.3f} s ({self.wall:.3f} s wall-clock)"
