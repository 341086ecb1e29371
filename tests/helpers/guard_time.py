"""Moving a running server's connection guard forward in time, instead of waiting."""

from __future__ import annotations

import asyncio
from typing import Any


def sweep_guard_later(guard: Any, loop: Any, seconds: float) -> int:
    """Run ``guard``'s sweep on ``loop`` (the server's, whose state it is) as if ``seconds`` had
    passed; how many connections it closed or answered."""
    assert guard is not None and loop is not None

    async def sweep() -> int:
        return int(guard.sweep(loop.time() + seconds))

    return asyncio.run_coroutine_threadsafe(sweep(), loop).result(5)
