"""One sandbox per database: an exclusive lock held for as long as a sandbox serves a file.

Two sandboxes on one SQLite file diverge (each works from its own memory), accept the same
reservation twice and leave routing state that only a reset repairs. So ``trcli sandbox`` takes
an exclusive ``flock`` on ``<database>.lock`` before opening the database and keeps it until it
exits (the kernel drops it when the process dies, even by SIGKILL). The lock file also says who
holds it -- ``{"pid": ..., "url": ...}`` -- so a second start, or ``sandbox reset`` on a database
in use, can name the running sandbox, and ``sandbox env`` can print its URL. (Where there is
no ``fcntl`` -- Windows -- nothing is locked.)

Usage::

    lock = DatabaseLock(path)
    lock.acquire()                  # raises DatabaseInUse(owner) when another process holds it
    lock.publish(base_url)          # once listening
    ...
    lock.release()

    DatabaseLock(path).holder()     # the Owner of a held lock, or None when free
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from taskrouter_cli.guards.private_files import PRIVATE_FILE_MODE

fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, so no lock (documented)
    fcntl = None


@dataclass(frozen=True)
class Owner:
    """The process that holds a database (what it wrote into the lock file)."""

    pid: int | None
    url: str | None

    def describe(self) -> str:
        pid = f"pid {self.pid}" if self.pid else "another process"
        return f"{pid}, {self.url}" if self.url else f"{pid}, still starting"


class DatabaseInUse(Exception):
    """Another process holds the database's lock."""

    def __init__(self, path: str, owner: Owner) -> None:
        super().__init__(f"The sandbox database {path} is in use by a sandbox ({owner.describe()})")
        self.path = path
        self.owner = owner


def lock_path(database: str | Path) -> Path:
    return Path(f"{database}.lock")


class DatabaseLock:
    def __init__(self, database: str | Path) -> None:
        self.database = str(database)
        self.path = lock_path(database)
        self._descriptor: int | None = None

    def _open(self) -> int:
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        return descriptor

    def acquire(self) -> None:
        """Take the lock or raise :class:`DatabaseInUse` naming the holder."""
        descriptor = self._open()
        if fcntl is None:
            self._descriptor = descriptor
            return
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise DatabaseInUse(self.database, self._read_owner()) from None
        self._descriptor = descriptor
        self._write(Owner(os.getpid(), None))

    def publish(self, url: str) -> None:
        """Record the URL the holder serves (call once listening)."""
        self._write(Owner(os.getpid(), url))

    def _write(self, owner: Owner) -> None:
        if self._descriptor is None:
            return
        data = json.dumps({"pid": owner.pid, "url": owner.url}).encode()
        os.ftruncate(self._descriptor, 0)
        os.pwrite(self._descriptor, data, 0)

    def _read_owner(self) -> Owner:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        pid, url = raw.get("pid"), raw.get("url")
        return Owner(pid if isinstance(pid, int) else None, url if isinstance(url, str) else None)

    def holder(self) -> Owner | None:
        """Who holds the lock now, or None when nobody does (never takes it for long)."""
        if fcntl is None or not self.path.exists():
            return None
        try:
            descriptor = os.open(self.path, os.O_RDWR)
        except OSError:
            return None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return self._read_owner()
        finally:
            os.close(descriptor)  # closing also drops a lock taken just now
        return None

    def release(self) -> None:
        if self._descriptor is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._descriptor, 0)
        os.close(self._descriptor)
        self._descriptor = None
