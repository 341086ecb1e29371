"""``trcli serve --workers N``: more processes answering callbacks on the same port, one log.

One Python process answers about as many signed callbacks a second as ``php -S`` (aiohttp's
own work is about half of each request, see docs/benchmarks.md); a second core needs a second
process. The ``serve`` process keeps its own server and starts N-1 worker processes (the
``spawn`` start method: nothing of the parent's threads or tunnel is inherited). The ``serve``
process alone listens: it accepts every connection and deals them in turn to itself and each
worker, which gets its connections' sockets over a Unix socket (callbacks/dealer.py).

Workers keep no log of their own: each sends its records, as JSON lines (one message per
20 ms batch), through a pipe to the ``serve`` process, whose :class:`CallbackRecorder` writes
the one callback log and the one live view. Per process, not shared: the replay window (so
``--reject-replays`` needs one process) and the ``answered`` count of ``/healthz``.

Usage::

    server.start()                                  # the serve process's own, deal_connections
    pool = WorkerPool(server.config, server.port, recorder, count=1, deal_to=server.deal_to)
    pool.start()                                    # returns once every worker serves
    ...
    pool.stop()                                     # before server.stop(): their last records
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from taskrouter_cli.errors import NetworkError
from taskrouter_cli.guards.pipes import enlarge_pipe

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from taskrouter_cli.callbacks.app import ServerConfig
    from taskrouter_cli.callbacks.log import CallbackRecorder

READY = b"ready"
START_TIMEOUT = 30.0
PIPE_BYTES = 1 << 20
"""What a worker's pipe to the serve process holds (Linux, where allowed; 64 KiB by default).
A worker sends its log lines every 20 ms in one message, ~70-150 KB under full load: with
64 KiB the write blocked the worker's event loop until the serve process's reader thread had
drained the pipe (0.45 ms a batch on average, up to 8.7 ms, measured under strace)."""


def serve_worker(config: ServerConfig, connection: Connection, dealt: socket.socket) -> None:
    """A worker process: serve the connections dealt down ``dealt`` until SIGTERM/SIGINT;
    records go to ``connection``."""
    from taskrouter_cli.callbacks.app import CallbackServer
    from taskrouter_cli.callbacks.log import CallbackRecorder

    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda signum, frame: stop.set())
    # Each batch of the worker's JSON lines goes down the pipe as one message.
    recorder = CallbackRecorder(None, live="off", forward=connection.send_bytes)
    server = CallbackServer(config, recorder=recorder, accepted_from=dealt)
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001 - reported by the parent as one line
        connection.send_bytes(b"error " + str(exc).encode("utf-8", "replace"))
        return
    connection.send_bytes(READY)
    try:
        while not stop.wait(0.25) and server.running:
            pass
    finally:
        server.stop()  # the recorder's last lines go down the pipe
        connection.close()


def worker_pipe(context: Any) -> tuple[Connection, Connection]:
    """(receiving, sending): a one-way pipe for a worker's log lines, as large as allowed up to
    PIPE_BYTES, so that sending a batch does not wait for the reader."""
    receiving, sending = context.Pipe(duplex=False)
    enlarge_pipe(sending.fileno(), PIPE_BYTES)
    return receiving, sending


class WorkerPool:
    """``count`` processes serving ``config`` for ``port``, each on the connections it is dealt
    through ``deal_to`` (the serve process's CallbackServer.deal_to); their records go to
    ``recorder``."""

    def __init__(
        self,
        config: ServerConfig,
        port: int,
        recorder: CallbackRecorder,
        count: int,
        deal_to: Callable[[socket.socket], None],
    ) -> None:
        self.config = dataclasses.replace(config, port=port, deal_connections=False)
        self.recorder = recorder
        self.count = count
        self._deal_to = deal_to
        self._processes: list[Any] = []
        self._readers: list[threading.Thread] = []

    def start(self) -> None:
        """Start the workers; returns once each is ready for the connections it is dealt, else
        stops them all and raises."""
        context = multiprocessing.get_context("spawn")
        connections = []
        channels = []
        for index in range(self.count):
            receiving, sending = worker_pipe(context)
            here, there = socket.socketpair()
            process = context.Process(
                target=serve_worker,
                args=(self.config, sending, there),
                name=f"trcli-serve-worker-{index + 1}",
                daemon=True,
            )
            process.start()
            sending.close()  # the child holds its own end: EOF here once it exits
            there.close()
            self._processes.append(process)
            connections.append(receiving)
            channels.append(here)
        try:
            for connection in connections:
                self._await_ready(connection)
        except BaseException:
            for connection in connections:
                connection.close()
            for channel in channels:
                channel.close()
            self.stop()
            raise
        for channel in channels:
            self._deal_to(channel)
        for index, connection in enumerate(connections):
            reader = threading.Thread(
                target=self._read, args=(connection,), name=f"trcli-serve-log-{index + 1}"
            )
            reader.daemon = True
            reader.start()
            self._readers.append(reader)

    @staticmethod
    def _await_ready(connection: Connection) -> None:
        if not connection.poll(START_TIMEOUT):
            raise NetworkError(f"A serve worker did not start within {START_TIMEOUT:.0f} s")
        try:
            message = connection.recv_bytes()
        except EOFError:
            raise NetworkError("A serve worker exited while starting") from None
        if message != READY:
            detail = message.decode("utf-8", "replace").removeprefix("error ")
            raise NetworkError(f"A serve worker could not start: {detail}")

    def _read(self, connection: Connection) -> None:
        try:
            while True:
                self.recorder.record_batch(connection.recv_bytes())
        except (EOFError, OSError):
            pass
        finally:
            connection.close()

    @property
    def alive(self) -> bool:
        return all(process.is_alive() for process in self._processes)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the workers (SIGTERM, then SIGKILL) and wait until their records are queued."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(timeout)
        for reader in self._readers:
            reader.join(timeout)
        self._processes, self._readers = [], []
