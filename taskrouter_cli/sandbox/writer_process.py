"""The store's writes committed in a process of its own: a sandbox on a SQLite file deflates the
bodies and runs SQLite on the second core, without the serving process's interpreter lock.

The store's writer thread (``store_writer.BatchWriter``) used to do that work itself, beside the
event loop: but every body it deflated, every row it bound and every statement step handed the
interpreter lock back and forth with the loop, so the serving process was bound by its lock,
not by its cores. Now the writer thread only pickles each merged batch and sends it down a pipe
to ``python -m taskrouter_cli.sandbox.writer_process <database> <sandbox pid>``, which commits it
in one transaction on its own connection and answers (empty: committed; else the error). The
writer thread waits for that answer, so an answer of the sandbox is still sent only once what it
wrote is committed.

The writer process dies with the sandbox (``PR_SET_PDEATHSIG`` on Linux; elsewhere it ends once
its input closes): a batch it had not answered was not acknowledged either, so a SIGKILL still
loses nothing that was.
"""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from .body_codec import pack

Statement = tuple[str, list[tuple[Any, ...]], "int | None"]
"""SQL, its rows, and the index of the column whose body is deflated (None: no such column)."""

_LENGTH = struct.Struct("!I")
_READ_SIZE = 1 << 20


class WriterProcessEnded(RuntimeError):
    """The writer process ended (it was killed, or could not start)."""


class WriterProcess:
    """``commit(statements)`` runs them in one transaction in the writer process."""

    def __init__(self, database: str) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, database, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._requests = self._process.stdin.fileno()
        self._answers = self._process.stdout.fileno()
        self.ended = False
        self.transactions = 0

    @property
    def pid(self) -> int:
        return self._process.pid

    def commit(self, statements: Sequence[Statement]) -> None:
        """Commit ``statements`` in one transaction; raises ``sqlite3.OperationalError`` with the
        writer's error (nothing of them was written) or :class:`WriterProcessEnded`."""
        if self.ended:
            raise WriterProcessEnded("the store's writer process has ended")
        payload = pickle.dumps(statements, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            _write_all(self._requests, _LENGTH.pack(len(payload)) + payload)
            answer = _read_message(self._answers)
        except OSError as exc:
            answer = None
            reason: BaseException | None = exc
        else:
            reason = None
        if answer is None:
            self.ended = True
            raise WriterProcessEnded("the store's writer process ended") from reason
        if answer:
            raise sqlite3.OperationalError(answer.decode("utf-8", "replace"))
        self.transactions += 1

    def stop(self) -> None:
        """End the writer process (it has answered every commit) and wait for it."""
        self.ended = True
        process = self._process
        for pipe in (process.stdin, process.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def _read_exactly(descriptor: int, size: int) -> bytes | None:
    """``size`` bytes, or None if the other end closed first."""
    chunks: list[bytes] = []
    while size:
        chunk = os.read(descriptor, min(size, _READ_SIZE))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_message(descriptor: int) -> bytes | None:
    header = _read_exactly(descriptor, _LENGTH.size)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    return _read_exactly(descriptor, length) if length else b""


# --- the writer process ----------------------------------------------------------------------
def _die_with(sandbox: int) -> None:
    """Be killed when the sandbox dies (Linux); elsewhere its closing our input ends us."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != sandbox:  # it died before the line above took effect
        os._exit(0)


def _commit(conn: sqlite3.Connection, statements: Sequence[Statement]) -> None:
    conn.execute("BEGIN")
    try:
        for sql, rows, packed in statements:
            if packed is not None:
                rows = [(*row[:packed], pack(row[packed])) for row in rows]
            conn.executemany(sql, rows)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def serve_commits(database: str, sandbox: int) -> None:
    """Commit each batch read from stdin and answer it on stdout, until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the sandbox, which stops us
    _die_with(sandbox)
    conn = sqlite3.connect(database, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("PRAGMA cache_size=-16384")  # as the sandbox's own connection
    requests, answers = sys.stdin.fileno(), sys.stdout.fileno()
    while (message := _read_message(requests)) is not None:
        try:
            _commit(conn, pickle.loads(message))
        except Exception as exc:  # noqa: BLE001 -- answered: the sandbox rolls back
            error = f"{type(exc).__name__}: {exc}".encode()
            _write_all(answers, _LENGTH.pack(len(error)) + error)
        else:
            _write_all(answers, _LENGTH.pack(0))
    conn.close()


if __name__ == "__main__":
    serve_commits(sys.argv[1], int(sys.argv[2]))
