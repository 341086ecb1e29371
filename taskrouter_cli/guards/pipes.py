"""Pipes between trcli's processes made large enough that a writer does not wait for its reader.

Linux gives a pipe 64 KiB; a batch sent down one (a ``serve --workers`` worker's log lines, a
sandbox's group commit for its store writer) can be larger, and the sending event loop would
block until the other process had read. ``F_SETPIPE_SZ`` raises the size where the system allows.
"""

from __future__ import annotations

import contextlib


def enlarge_pipe(descriptor: int, size: int) -> None:
    """Make the pipe behind ``descriptor`` hold ``size`` bytes, where the system allows (Linux, up
    to its limit); elsewhere, or above that limit, it keeps its size."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if setting is not None:
        with contextlib.suppress(OSError):  # a lower system limit: the default size then
            fcntl.fcntl(descriptor, setting, size)
