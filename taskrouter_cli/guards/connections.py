"""Slow and idle clients cannot starve an aiohttp server of connections or file descriptors.

aiohttp times out neither a request whose headers trickle in nor a body that never finishes,
and with the common soft limit of 1,024 open files ~1,100 idle connections stop every valid
request (for ``trcli serve``, TaskRouter then cancels the reservation with error 11200).
:class:`ConnectionGuard`, installed on an ``aiohttp.web.Server``, bounds all of it:

* **headers**: a connection must deliver complete request headers within ``header_timeout``
  seconds of opening, and of finishing its previous request (keep-alive idle time counts
  too); else it is closed;
* **bodies**: the handler gets the body within ``body_timeout`` seconds, else 408 (aiohttp's
  handlers through :meth:`ConnectionGuard.read_body`; the sandbox's own HTTP front through
  :meth:`ConnectionGuard.body_due`, enforced by the sweep);
* **idle connections**: at most ``max_connections`` are open; a new one beyond that closes the
  oldest connection that has no request in progress (a real client sends its request at once,
  so it is never the oldest idle one for long);
* :func:`raise_file_limit` lifts the soft RLIMIT_NOFILE to the hard limit at start, and
  :func:`connection_cap` keeps headroom under it for the process's other files and for
  one burst of accepted connections.

Header and idle deadlines, and the front's body deadlines, are enforced by
:meth:`ConnectionGuard.sweep`, which a background task calls every ``SWEEP_INTERVAL`` seconds
with the loop's time; tests call it with a later time instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

HEADER_TIMEOUT = 10.0
"""Seconds a connection may take to deliver complete request headers (or stay idle)."""
BODY_TIMEOUT = 10.0
"""Seconds a request may take to deliver its body once its headers are in."""
SWEEP_INTERVAL = 1.0
FILE_HEADROOM = 128
"""Descriptors kept free under the open-file limit for everything but client connections."""
MAX_CONNECTIONS = 4096

Handler = Callable[[Any], Awaitable[Any]]


QUIET_INTERVAL = 10.0
"""Seconds between two lines about the same kind of event-loop trouble on stderr."""

log = logging.getLogger("taskrouter_cli.server")


def quiet_server_logs(loop: asyncio.AbstractEventLoop) -> None:
    """Keep stderr readable under garbage and floods.

    aiohttp logs every unparsable request with a traceback (the client already got its 400),
    and asyncio logs every failed accept; both would scroll a live view away. aiohttp's server
    logger is silenced below CRITICAL, and loop errors become one line per kind every
    ``QUIET_INTERVAL`` seconds, without a traceback.
    """
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    last: dict[str, float] = {}

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "event loop error")
        now = loop.time()
        if now - last.get(message, -QUIET_INTERVAL) < QUIET_INTERVAL:
            return
        last[message] = now
        exception = context.get("exception")
        detail = f": {exception}" if exception is not None else ""
        log.warning("%s%s (repeats are not shown for %g s)", message, detail, QUIET_INTERVAL)

    loop.set_exception_handler(handle)


def raise_file_limit() -> int:
    """Raise the soft open-file limit to the hard limit (where allowed); the soft limit now."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return MAX_CONNECTIONS + FILE_HEADROOM
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return int(soft) if soft != resource.RLIM_INFINITY else MAX_CONNECTIONS + FILE_HEADROOM


ACCEPT_BATCHES_IN_FLIGHT = 3
"""asyncio accepts up to ``backlog`` connections per loop pass, and a connection is seen
(and an idle one evicted) only two passes later: measured, a burst of 1,100 connections
against a 1,024-file limit ran out of descriptors with less free than three batches."""


def listen_backlog(file_limit: int, wanted: int) -> int:
    """The listen backlog to use: ``wanted``, smaller when open files are scarce."""
    return max(16, min(wanted, file_limit // 8))


def connection_cap(file_limit: int, backlog: int) -> int:
    """How many client connections to allow under ``file_limit`` open files: what is left
    after the headroom and the connections accepted but not yet seen."""
    unseen = ACCEPT_BATCHES_IN_FLIGHT * backlog
    return max(16, min(MAX_CONNECTIONS, file_limit - unseen - FILE_HEADROOM))


class BodyTimeout(Exception):
    """The request body did not arrive within the body timeout."""


class ConnectionGuard:
    """Header/body timeouts and an idle-connection cap for one ``aiohttp.web.Server``."""

    def __init__(
        self,
        *,
        max_connections: int,
        header_timeout: float = HEADER_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self._deadlines: OrderedDict[Any, float] = OrderedDict()
        """Open connections without a request in progress, oldest first, and their deadline."""
        self._busy: set[Any] = set()
        self._transports: dict[Any, Any] = {}
        self._bodies: dict[Any, tuple[float, Callable[[], None]]] = {}
        """Requests whose body is still arriving: its deadline and what to do past it."""
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed_slow = 0
        self.closed_over_cap = 0

    # -- installation ---------------------------------------------------------------------

    def start(self) -> None:
        """Start sweeping (on the running loop); :meth:`install` does it too."""
        if self._sweeper is None:
            self._loop = asyncio.get_running_loop()
            quiet_server_logs(self._loop)
            self._sweeper = asyncio.create_task(self._sweep_forever())

    def install(self, server: Any) -> None:
        """Hook into ``server`` (an aiohttp ``web.Server``) before it accepts connections."""
        self.start()
        made, lost = server.connection_made, server.connection_lost
        handler: Handler = server.request_handler

        def connection_made(protocol: Any, transport: Any) -> None:
            made(protocol, transport)
            self.opened(protocol, transport)

        def connection_lost(protocol: Any, exc: BaseException | None = None) -> None:
            self.forget(protocol)
            lost(protocol, exc)

        async def guarded(request: Any) -> Any:
            protocol = request.protocol
            self.started(protocol)
            try:
                return await handler(request)
            finally:
                self.finished(protocol)

        server.connection_made = connection_made
        server.connection_lost = connection_lost
        server.request_handler = guarded  # each new connection's handler copies it

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None

    async def read_body(self, read: Awaitable[bytes]) -> bytes:
        """``await read`` within the body timeout, else :class:`BodyTimeout`."""
        try:
            return await asyncio.wait_for(read, self.body_timeout)
        except asyncio.TimeoutError:
            raise BodyTimeout(f"request body not received within {self.body_timeout:g} s") from None

    # -- bookkeeping (the installed hooks call these; a server of our own calls them too) --

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def opened(self, protocol: Any, transport: Any) -> None:
        """``protocol`` is a new connection: its headers are due within the header timeout."""
        self._transports[protocol] = transport
        self._deadlines[protocol] = self._now() + self.header_timeout
        while len(self._transports) > self.max_connections and self._deadlines:
            oldest = next(iter(self._deadlines))
            if oldest is protocol:
                break
            self.closed_over_cap += 1
            self._close(oldest)

    def started(self, protocol: Any) -> None:
        """``protocol`` has a request in progress (no deadline; never evicted)."""
        self._deadlines.pop(protocol, None)
        self._busy.add(protocol)

    def finished(self, protocol: Any) -> None:
        """``protocol`` answered its request: the next one is due within the header timeout."""
        self._busy.discard(protocol)
        if protocol in self._transports:
            self._deadlines[protocol] = self._now() + self.header_timeout
            self._deadlines.move_to_end(protocol)

    def forget(self, protocol: Any) -> None:
        """``protocol`` is closed, or no longer this guard's to watch."""
        self._bodies.pop(protocol, None)
        self._deadlines.pop(protocol, None)
        self._busy.discard(protocol)
        self._transports.pop(protocol, None)

    def _close(self, protocol: Any) -> None:
        transport = self._transports.get(protocol)
        self.forget(protocol)
        if transport is not None:
            transport.abort()

    @property
    def open_connections(self) -> int:
        return len(self._transports)

    def body_due(self, protocol: Any, late: Callable[[], None]) -> None:
        """The body of ``protocol``'s request is due within the body timeout: ``late()`` (which
        answers 408 and closes) once it is past -- unless :meth:`body_arrived` first. For a
        server of our own; aiohttp's handlers use :meth:`read_body`."""
        self._bodies[protocol] = (self._now() + self.body_timeout, late)

    def body_arrived(self, protocol: Any) -> None:
        self._bodies.pop(protocol, None)

    def sweep(self, now: float | None = None) -> int:
        """Close every idle connection past its deadline at ``now``, and give up on every body
        past its own; how many connections that was."""
        moment = self._now() if now is None else now
        expired = [protocol for protocol, due in self._deadlines.items() if due <= moment]
        for protocol in expired:
            self._close(protocol)
        late = [(protocol, call) for protocol, (due, call) in self._bodies.items() if due <= moment]
        for protocol, call in late:
            self._bodies.pop(protocol, None)
            call()
        self.closed_slow += len(expired) + len(late)
        return len(expired) + len(late)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            self.sweep()
