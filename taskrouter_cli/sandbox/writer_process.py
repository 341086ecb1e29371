"""The store's writes committed in a process of its own: a sandbox on a SQLite file deflates the
bodies and runs SQLite on the second core, without the serving process's interpreter lock.

A writer thread used to do that work beside the event loop, but every body it deflated, every
row it bound and every statement step handed the interpreter lock back and forth with the loop,
so the serving process was bound by its lock, not by its cores. Now the loop pickles each group
commit's batch and writes it down a pipe to ``python -m taskrouter_cli.sandbox.writer_process
<database> <sandbox pid>``, which commits every batch that queued up in one transaction on its
own connection and answers how many that was (or why they failed). The loop reads the answers
when the pipe is readable (``loop.add_reader``), so no thread of the sandbox waits for them, and
an answer of the sandbox is still sent only once what it wrote is committed.

A thread of the writer process checkpoints the WAL every :data:`CHECKPOINT_EVERY` commits on a
connection of its own, beside the commits (:class:`_Checkpointer`).

After a failed commit the writer fails every later batch too (each was built on the one before)
until :meth:`WriterProcess.reset`, which the store sends once memory is rolled back. The writer
process dies with the sandbox (``PR_SET_PDEATHSIG`` on Linux; elsewhere it ends once its input
closes): a batch it had not answered was not acknowledged either, so a SIGKILL still loses
nothing that was.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from taskrouter_cli.guards.pipes import enlarge_pipe

from .body_codec import pack_column
from .connection_settings import configure

Statement = tuple[str, list[tuple[Any, ...]], "int | None"]
"""SQL, its rows, and the index of the column whose body is deflated (None: no such column)."""

_LENGTH = struct.Struct("!I")  # a batch's length (0: the reset after a failure), then the batch
_ANSWER = struct.Struct("!Ii")  # batches it covers; the length of the error that follows, or -1
_READ_SIZE = 1 << 20
PIPE_BYTES = 1 << 20
"""The pipe to the writer is made this large where the system allows (Linux), so that sending a
batch while the writer commits the one before does not wait."""


CHECKPOINT_EVERY = 100
"""Commits between two checkpoints of the WAL by the checkpoint thread."""
WAL_PAGES_BEFORE_OWN_CHECKPOINT = 10_000
"""The writer's own connection checkpoints (in the commit, as SQLite does by itself at 1,000
pages) once the WAL holds this many pages -- 40 MB. The thread's passive checkpoints have copied
nearly all of it by then, but they rarely finish the WAL while commits keep coming, and only a
finished one lets SQLite start the WAL over: without this the WAL grew by ~40 MB a second under
load. This one runs between two commits, so it finishes, and the WAL stays under ~40 MB."""


class WriterProcessEnded(RuntimeError):
    """The writer process ended (it was killed, or could not start)."""


class WriterProcess:
    """``send(statements)`` -> a future resolved once the writer process has committed them;
    :meth:`collect` (when :attr:`answers_fd` is readable) or :meth:`wait` settles the futures."""

    def __init__(
        self, database: str, own_checkpoint_pages: int = WAL_PAGES_BEFORE_OWN_CHECKPOINT
    ) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, database, str(os.getpid()), str(own_checkpoint_pages)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
            start_new_session=True,  # a terminal's Ctrl-C goes to the sandbox, which stops us
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._requests = self._process.stdin.fileno()
        self.answers_fd = self._process.stdout.fileno()
        """Readable when the writer has answered (for ``loop.add_reader``)."""
        enlarge_pipe(self._requests, PIPE_BYTES)
        os.set_blocking(self.answers_fd, False)
        self._waiting: deque[Future[None]] = deque()
        self._answers = bytearray()
        self._sending = threading.Lock()  # the requests pipe
        self._reading = threading.Lock()  # the answers pipe and the futures waiting for it
        self.ended: BaseException | None = None
        """Why the writer process is gone (None while it runs)."""
        self.transactions = 0

    @property
    def pid(self) -> int:
        return self._process.pid

    def send(self, statements: Sequence[Statement]) -> Future[None]:
        """Queue ``statements`` for one transaction (with whatever else is queued by then)."""
        payload = pickle.dumps(statements, protocol=pickle.HIGHEST_PROTOCOL)
        future: Future[None] = Future()
        with self._sending:  # futures wait in the order their batches were sent
            with self._reading:
                self._waiting.append(future)
            self._send(_LENGTH.pack(len(payload)) + payload)
        return future

    def reset(self) -> None:
        """After a failed commit, once the sandbox has rolled back: commit batches again."""
        with self._sending:
            self._send(_LENGTH.pack(0))

    def collect(self) -> None:
        """Settle the futures of what the writer has answered so far (never waits)."""
        if self._reading.acquire(blocking=False):  # else another thread is reading: it settles
            try:
                self._read_answers()
            finally:
                self._reading.release()

    def wait(self, future: Future[None]) -> None:
        """Read answers until ``future`` is settled (raises its error)."""
        while not future.done():
            with self._reading:
                if future.done():
                    break
                self._wait_readable(None)
                self._read_answers()
        future.result()

    def stop(self, timeout: float = 30.0) -> None:
        """End the writer process once it has answered what it was sent (killed if that takes
        longer than ``timeout`` seconds), and wait for it."""
        process = self._process
        if process.stdin is not None and not process.stdin.closed:
            with contextlib.suppress(OSError):
                process.stdin.close()
        deadline = time.monotonic() + timeout
        with self._reading:
            while self.ended is None and time.monotonic() < deadline:
                self._wait_readable(max(0.0, deadline - time.monotonic()))
                self._read_answers()
        if process.poll() is None:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with self._reading:
            if self.ended is None:
                self._end(WriterProcessEnded("the store's writer process was stopped"))
        if process.stdout is not None:
            process.stdout.close()

    # internals -------------------------------------------------------------------------------
    def _wait_readable(self, timeout: float | None) -> None:
        """Until the answers pipe is readable (or ``timeout`` seconds pass). ``poll``, unlike
        ``select``, takes any descriptor number: a busy sandbox may hold thousands."""
        poller = select.poll()
        poller.register(self.answers_fd, select.POLLIN)
        poller.poll(None if timeout is None else timeout * 1000)

    def _send(self, data: bytes) -> None:
        if self.ended is not None:
            raise WriterProcessEnded(str(self.ended))
        try:
            _write_all(self._requests, data)
        except OSError as exc:  # it died (what it answered before is settled as failed too:
            # the sandbox goes back to what the database holds, so nothing is lost)
            ended = WriterProcessEnded(f"the store's writer process ended: {exc}")
            with self._reading:
                self._end(ended)
            raise ended from exc

    def _read_answers(self) -> None:
        """Under ``_reading``: read what is there, settle what it answers."""
        cause: OSError | None = None
        try:
            chunk = os.read(self.answers_fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            chunk, cause = b"", exc
        if not chunk:
            self._end(WriterProcessEnded(f"the store's writer process ended{_why(cause)}"))
            return
        buffer = self._answers
        buffer += chunk
        while len(buffer) >= _ANSWER.size:
            count, error_length = _ANSWER.unpack_from(buffer)
            end = _ANSWER.size + max(0, error_length)
            if len(buffer) < end:
                break
            error = bytes(buffer[_ANSWER.size : end]).decode() if error_length >= 0 else None
            del buffer[:end]
            self._settle(count, error)

    def _settle(self, count: int, error: str | None) -> None:
        waiting = self._waiting
        done = [waiting.popleft() for _ in range(min(count, len(waiting)))]
        if error is None:
            self.transactions += 1
            for future in done:
                future.set_result(None)
        else:
            failure = sqlite3.OperationalError(error)
            for future in done:
                future.set_exception(failure)

    def _end(self, reason: BaseException) -> None:
        self.ended = reason
        waiting = list(self._waiting)
        self._waiting.clear()
        for future in waiting:
            future.set_exception(reason)


def _why(cause: BaseException | None) -> str:
    return f": {cause}" if cause is not None else ""


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


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


def commit_batches(conn: sqlite3.Connection, batches: Sequence[Sequence[Statement]]) -> None:
    """One transaction for every statement of ``batches`` (bodies deflated where a statement
    says so); a failure rolls all of it back and raises."""
    conn.execute("BEGIN")
    try:
        for statements in batches:
            for sql, rows, packed in statements:
                conn.executemany(sql, rows if packed is None else pack_column(rows, packed))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class _Committer:
    """The writer process's side: batches in, answers out."""

    def __init__(self, conn: sqlite3.Connection, answers: int) -> None:
        self.conn = conn
        self.answers = answers
        self.failed: bytes | None = None

    def commit(self, batches: list[list[Statement]]) -> None:
        if not batches:
            return
        if self.failed is None:
            try:
                commit_batches(self.conn, batches)
            except Exception as exc:  # noqa: BLE001 -- answered: the sandbox rolls back
                self.failed = f"{type(exc).__name__}: {exc}".encode()
        error = self.failed
        length = -1 if error is None else len(error)
        _write_all(self.answers, _ANSWER.pack(len(batches), length) + (error or b""))


class _Checkpointer(threading.Thread):
    """Copies the WAL back into the database beside the commits, on a connection of its own.

    SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages:
    that commit copied the pages and waited for two fsyncs while every answer behind it waited
    too. Here the commits go on meanwhile (a passive checkpoint copies what is committed and
    lets writers write; the GIL is free while SQLite works), and a page written by many commits
    between two checkpoints is copied once; the commit that finds the WAL past
    :data:`WAL_PAGES_BEFORE_OWN_CHECKPOINT` pages finishes what is left. Measured at 50 clients
    in alternating runs: 895 against 846 lifecycles a second (with SQLite's own at 1,000 pages
    beside the thread: 764)."""

    def __init__(self, database: str) -> None:
        super().__init__(name="wal-checkpoint", daemon=True)
        self.database = database
        self._wanted = threading.Event()
        self._stopping = False

    def request(self) -> None:
        self._wanted.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._wanted.set()
        self.join(timeout)

    def run(self) -> None:
        conn = sqlite3.connect(self.database, isolation_level=None, check_same_thread=False)
        try:
            configure(conn)
            conn.execute("PRAGMA cache_size=-256")  # it copies pages, it does not read them
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                with contextlib.suppress(sqlite3.Error):  # busy: the next request tries again
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()


def serve_commits(
    database: str, sandbox: int, own_checkpoint_pages: int = WAL_PAGES_BEFORE_OWN_CHECKPOINT
) -> None:
    """Commit the batches read from stdin -- all that queued up, in one transaction -- and
    answer on stdout, until stdin closes; every :data:`CHECKPOINT_EVERY` commits, the
    checkpoint thread copies the WAL back (SQLite checkpoints by itself again if that thread
    has died)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the sandbox stops us (closing our input)
    _die_with(sandbox)
    conn = sqlite3.connect(database, isolation_level=None)
    configure(conn)  # as the sandbox's own connection
    committer = _Committer(conn, sys.stdout.fileno())
    conn.execute(f"PRAGMA wal_autocheckpoint={int(own_checkpoint_pages)}")
    checkpointer = _Checkpointer(database)
    checkpointer.start()
    commits = 0
    requests = sys.stdin.fileno()
    buffer = bytearray()
    while chunk := os.read(requests, _READ_SIZE):
        buffer += chunk
        batches: list[list[Statement]] = []
        taken = 0
        while len(buffer) - taken >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer, taken)
            end = taken + _LENGTH.size + length
            if len(buffer) < end:
                break
            if length == 0:  # the sandbox has rolled back after a failure
                committer.commit(batches)
                batches, committer.failed = [], None
            else:
                batches.append(pickle.loads(buffer[taken + _LENGTH.size : end]))
            taken = end
        del buffer[:taken]
        if not batches:  # a read that completed no batch: nothing was committed
            continue
        committer.commit(batches)
        commits += 1
        if commits % CHECKPOINT_EVERY == 0:
            if checkpointer.is_alive():
                checkpointer.request()
            else:  # it could not open the database, or died: SQLite's own checkpoints again
                conn.execute("PRAGMA wal_autocheckpoint=1000")
    checkpointer.stop()
    conn.close()


if __name__ == "__main__":
    serve_commits(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
