"""``trcli serve --workers N``: the serve process accepts every connection and deals them in turn.

The processes used to share the port with SO_REUSEPORT, where the kernel picks a process by a
hash of each connection's addresses. With the few long-lived connections a callback server
gets (TaskRouter's keep-alive connections, or a load test's 16) that split is a coin toss per
connection: measured with 16, one process often got 10-12 of them, ran out of its one core and
capped the throughput while the other idled (12,100 req/s at 4/12 against 15,000 at 8/8). So
the serve process accepts instead, and deals the connections in turn -- one for itself, one for
each worker -- handing a worker its connection's socket over a Unix socket (SCM_RIGHTS). Each
process serves its connections with the same aiohttp server, as when it accepted them itself.

Usage (see callbacks/app.py and callbacks/workers.py)::

    dealer = ConnectionDealer(serve_here)        # serve_here(sock): serve on this loop
    dealer.listen(listening_sockets(host, port, backlog))
    dealer.add_worker(channel)                   # from the loop's thread: deal to it too
    ...
    receive_connections(channel, serve_here)     # in a worker: serve what comes
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable

ServeHere = Callable[[socket.socket], None]

ACCEPTS_PER_TURN = 128
"""Connections accepted per readiness of a listening socket: then requests get the loop."""
ACCEPT_RETRY_SECONDS = 1.0
"""Out of file descriptors (or memory): accept again after this long (asyncio waits as long)."""
SCARCE = frozenset((errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM))


def listening_sockets(host: str | None, port: int, backlog: int) -> list[socket.socket]:
    """Non-blocking sockets listening on every address ``host`` names (what the event loop's
    ``create_server`` binds: SO_REUSEADDR, IPv6 sockets IPv6-only). Raises OSError."""
    infos = socket.getaddrinfo(
        host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
        for sock in sockets:
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class ConnectionDealer:
    """Accepts on the listening sockets (on the running loop) and deals each connection in turn
    to this process or one of the workers added; a worker that cannot take one (it exited, or
    its channel is full) leaves it to this process."""

    def __init__(self, serve_here: ServeHere) -> None:
        self._serve_here = serve_here
        self._loop = asyncio.get_running_loop()
        self._listeners: list[socket.socket] = []
        self._turns: list[socket.socket | None] = [None]
        """Who gets the next connections, in order: None is this process."""
        self._turn = 0
        self.dealt = 0
        """Connections handed to a worker."""

    @property
    def port(self) -> int:
        return int(self._listeners[0].getsockname()[1])

    def listen(self, sockets: list[socket.socket]) -> None:
        for sock in sockets:
            self._listeners.append(sock)
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    def add_worker(self, channel: socket.socket) -> None:
        """Deal connections to the worker at the other end of ``channel`` too (loop thread)."""
        channel.setblocking(False)
        self._turns.append(channel)

    def close(self) -> None:
        for sock in self._listeners:
            self._loop.remove_reader(sock.fileno())
            sock.close()
        for channel in self._turns:
            if channel is not None:
                channel.close()
        self._listeners, self._turns = [], [None]

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(ACCEPTS_PER_TURN):
            try:
                connection, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in SCARCE:  # stop accepting for a while, as asyncio does
                    self._loop.remove_reader(listener.fileno())
                    self._loop.call_later(ACCEPT_RETRY_SECONDS, self._resume, listener)
                    return
                continue  # ECONNABORTED and such: that connection is gone, not the listener
            connection.setblocking(False)
            self._deal(connection)

    def _resume(self, listener: socket.socket) -> None:
        if listener in self._listeners:
            self._loop.add_reader(listener.fileno(), self._accept, listener)

    def _deal(self, connection: socket.socket) -> None:
        turns = self._turns
        channel = turns[self._turn % len(turns)]
        self._turn += 1
        if channel is not None:
            try:
                socket.send_fds(channel, [b"c"], [connection.fileno()])
            except OSError:
                pass  # the worker is gone or behind: this process serves it
            else:
                self.dealt += 1
                connection.close()  # the worker holds its own descriptor of it now
                return
        self._serve_here(connection)


def receive_connections(channel: socket.socket, serve_here: ServeHere) -> None:
    """In a worker: serve each connection the serve process deals down ``channel`` (on the
    running loop), until the serve process closes its end."""
    loop = asyncio.get_running_loop()
    channel.setblocking(False)

    def receive() -> None:
        while True:
            try:
                data, descriptors, _, _ = socket.recv_fds(channel, 64, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, descriptors = b"", []
            for descriptor in descriptors:
                connection = socket.socket(fileno=descriptor)
                connection.setblocking(False)
                serve_here(connection)
            if not data and not descriptors:  # the serve process closed its end
                loop.remove_reader(channel.fileno())
                channel.close()
                return

    loop.add_reader(channel.fileno(), receive)
