"""Bounded polling with an injectable clock, shared by ``--wait``, ``watch`` and ``tail``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Poller:
    """Calls come every ``interval`` seconds until ``timeout`` seconds have passed.

    ``sleep`` and ``monotonic`` are injectable so tests can drive it without waiting.
    """

    timeout: float | None
    interval: float = 0.2
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    started: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.started = self.monotonic()

    @property
    def elapsed(self) -> float:
        return self.monotonic() - self.started

    def expired(self) -> bool:
        return self.timeout is not None and self.elapsed >= self.timeout

    def wait(self) -> bool:
        """Sleep until the next poll (at most until the deadline, so one last poll happens at
        the deadline); False, without sleeping, once the deadline has passed."""
        if self.expired():
            return False
        pause = self.interval
        if self.timeout is not None:
            pause = min(pause, max(0.0, self.timeout - self.elapsed))
        self.sleep(pause)
        return True
