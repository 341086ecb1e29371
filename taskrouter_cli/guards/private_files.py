"""Files and folders that hold secrets or private data: owner-only (0600 files, 0700 folders).

The sandbox database holds its auth token and API secret, the callback log holds task data,
the config file holds credentials. Folders are made 0700 only when trcli creates them (a
folder the user made is theirs to set); files are created 0600, and an existing one is
tightened to 0600 when trcli opens it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) if needed; folders created here are 0700."""
    if path.is_dir():
        return
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_DIR_MODE)
            os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask


def ensure_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if missing, else tighten it to 0600."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(descriptor)
    tighten(path)


def tighten(path: Path) -> None:
    """Set an existing file to 0600 (nothing if it does not exist or is not ours)."""
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o777 != PRIVATE_FILE_MODE:
            os.chmod(path, PRIVATE_FILE_MODE)


def open_private_append(path: Path) -> int:
    """A descriptor opened for appending to ``path``, created 0600 (folders 0700)."""
    make_private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
    tighten(path)
    return descriptor
