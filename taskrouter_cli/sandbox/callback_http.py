"""The HTTP client the sandbox's callbacks are POSTed with: HTTP/1.1 on kept-alive connections,
one small protocol object per connection.

A callback is one POST of a form to a plain ``http://`` URL (the learner's server, a tunnel's
local end) and one short reply; aiohttp's client spent ~100 µs of the event loop on each, a
third of a delivery's cost. This client writes the request in one call and parses the reply
incrementally (status line, headers, then a ``Content-Length``, chunked or read-to-close body).
What it does not do (``https://``, credentials in the URL) is left to aiohttp by the
dispatcher.

Limits, so that a misbehaving target cannot make the sandbox grow: at most 100 connections to
one target (more deliveries wait for one, within their own timeout), each closed after 15 s
unused; a reply's head at most 64 KiB and its body at most 1 MiB (Twilio documents no limit; a
larger reply is a failed delivery here). Redirects are not followed (TaskRouter treats a 3xx
like any other non-2xx answer). A kept-alive connection that the target closed while it was
idle is retried once on a new connection, and only if no byte of a reply came back.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import zlib
from collections import deque
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlsplit

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024
MAX_CONNECTIONS_PER_TARGET = 100
"""Open connections to one host and port at most (aiohttp's default limit); more deliveries
at once wait for one of them, in turn, within their own timeout."""
IDLE_SECONDS = 15.0
"""A kept-alive connection unused this long is closed (aiohttp's client keeps them 15 s)."""


class CallbackHttpError(Exception):
    """The target could not be reached, or broke HTTP (a closed connection, a malformed reply)."""


def body_too_large() -> CallbackHttpError:
    return CallbackHttpError(f"reply body larger than {MAX_BODY_BYTES} bytes")


class Reply(NamedTuple):
    status: int
    content_type: str
    body: str


class Target(NamedTuple):
    """Where a plain-HTTP URL's request goes, and what its request line and Host header say."""

    host: str
    port: int
    request_target: str
    host_header: str


@functools.lru_cache(maxsize=256)
def plain_http_target(url: str) -> Target | None:
    """The target of an ``http://`` URL; None for anything else (https, no host, credentials)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme.lower() != "http" or not host or parts.username or parts.password:
        return None
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in url):
        return None  # not sendable as a request line; aiohttp quotes it or says what is wrong
    path = parts.path or "/"
    request_target = f"{path}?{parts.query}" if parts.query else path
    netloc_host = f"[{host}]" if ":" in host else host
    host_header = netloc_host if port in (None, 80) else f"{netloc_host}:{port}"
    return Target(host, 80 if port is None else port, request_target, host_header)


class _ReplyParser:
    """An HTTP/1.x reply, parsed as its bytes arrive; ``feed`` says when it is complete."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._head_done = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.keep_alive = False
        self._length: int | None = None  # Content-Length; None with chunked or read-to-close
        self._chunked = False
        self._body = bytearray()
        self._chunk_left = -1  # bytes left of the current chunk (+2 for its CRLF); -1: at a size
        self._in_trailers = False  # after the last chunk
        self.received_any = False

    def feed(self, data: bytes) -> bool:
        """Take ``data``; True once the reply is complete. Raises CallbackHttpError."""
        self.received_any = True
        self._buffer += data
        if not self._head_done and not self._parse_head():
            return False
        if self._chunked:
            return self._parse_chunks()
        if self._length is not None:
            self._take(min(len(self._buffer), self._length - len(self._body)))
            if self._buffer:
                self.keep_alive = False  # bytes after the reply: the connection is not reused
            return len(self._body) >= self._length
        self._take(len(self._buffer))  # read to close
        return False

    def eof(self) -> bool:
        """The connection closed: True if that completes the reply (a read-to-close body)."""
        return self._head_done and not self._chunked and self._length is None

    def _parse_head(self) -> bool:
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    raise CallbackHttpError(f"reply headers larger than {MAX_HEAD_BYTES} bytes")
                return False
            head = bytes(self._buffer[:end]).decode("latin-1")
            del self._buffer[: end + 4]
            lines = head.split("\r\n")
            version, _, rest = lines[0].partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or not code.isdigit():
                raise CallbackHttpError(f"not an HTTP reply: {lines[0][:80]!r}")
            status = int(code)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep:
                    raise CallbackHttpError(f"malformed reply header {line[:80]!r}")
                key = name.strip().lower()
                value = value.strip()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            if 100 <= status < 200:
                continue  # an interim reply (100 Continue): the real one follows
            self.status, self.headers = status, headers
            self._head_done = True
            break
        connection = headers.get("connection", "").lower()
        self.keep_alive = version == "HTTP/1.1" and "close" not in connection
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._chunked = True
        elif status in (204, 304):
            self._length = 0
        elif "content-length" in headers:
            length = headers["content-length"]
            if not length.isdigit():
                raise CallbackHttpError(f"malformed Content-Length {length[:40]!r}")
            self._length = int(length)
            if self._length > MAX_BODY_BYTES:
                raise body_too_large()
        else:
            self.keep_alive = False
        return True

    def _take(self, count: int) -> None:
        if len(self._body) + count > MAX_BODY_BYTES:
            raise body_too_large()
        self._body += self._buffer[:count]
        del self._buffer[:count]

    def _parse_chunks(self) -> bool:
        while not self._in_trailers:
            if self._chunk_left < 0:
                end = self._buffer.find(b"\r\n")
                if end < 0:
                    if len(self._buffer) > 1024:
                        raise CallbackHttpError("malformed chunk size line")
                    return False
                size_text = bytes(self._buffer[:end]).split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise CallbackHttpError(f"malformed chunk size {size_text[:20]!r}") from None
                del self._buffer[: end + 2]
                if size == 0:
                    self._in_trailers = True
                    break
                if len(self._body) + size > MAX_BODY_BYTES:
                    raise body_too_large()
                self._chunk_left = size + 2
            if len(self._buffer) < self._chunk_left:
                return False
            self._take(self._chunk_left - 2)
            if self._buffer[:2] != b"\r\n":
                raise CallbackHttpError("malformed chunk end")
            del self._buffer[:2]
            self._chunk_left = -1
        # trailers: none ("\r\n") or header lines up to an empty line
        if self._buffer[:2] == b"\r\n":
            end = 0
        else:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    raise CallbackHttpError(f"reply trailers larger than {MAX_HEAD_BYTES} bytes")
                return False
            end += 2
        if len(self._buffer) > end + 2:
            self.keep_alive = False  # bytes after the reply: the connection is not reused
        return True

    def reply(self) -> Reply:
        body = bytes(self._body)
        encoding = self.headers.get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "deflate", "x-gzip"):
            body = _decompress(body, encoding)
        elif encoding not in ("", "identity"):
            raise CallbackHttpError(f"reply body in an unknown Content-Encoding {encoding[:40]!r}")
        content_type = self.headers.get("content-type", "")
        return Reply(self.status, content_type, decode_body(content_type, body))


def _decompress(body: bytes, encoding: str) -> bytes:
    try:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, by their header
        data = inflater.decompress(body, MAX_BODY_BYTES + 1)
        if encoding == "deflate" and not data and body:
            data = zlib.decompressobj(-zlib.MAX_WBITS).decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise CallbackHttpError(f"reply body is not valid {encoding}: {exc}") from None
    if len(data) > MAX_BODY_BYTES:
        raise body_too_large()
    return data


def decode_body(content_type: str, body: bytes | bytearray) -> str:
    """A reply's text: decoded with its ``charset`` (UTF-8 when it names none, or none known),
    undecodable bytes replaced."""
    return body.decode(_charset(content_type), "replace")


@functools.lru_cache(maxsize=64)
def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"')
            try:
                return codecs.lookup(charset).name
            except LookupError:
                break
    return "utf-8"


class _Connection(asyncio.Protocol):
    """One connection to a target: one request at a time, kept open between them."""

    def __init__(self, on_closed: Callable[[], None]) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._on_closed = on_closed
        self.idle_timer: asyncio.TimerHandle | None = None
        self._parser: _ReplyParser | None = None
        self._waiter: asyncio.Future[Reply] | None = None

    def _mark_closed(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_closed()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, waiter: asyncio.Future[Reply]) -> None:
        self._parser = _ReplyParser()
        self._waiter = waiter
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        parser, waiter = self._parser, self._waiter
        if parser is None or waiter is None or waiter.done():
            self.abort()  # bytes nobody asked for: the connection cannot be trusted again
            return
        try:
            complete = parser.feed(data)
            if complete:
                reply = parser.reply()
        except CallbackHttpError as exc:
            self.abort()
            waiter.set_exception(exc)
            return
        if complete:
            self._parser = self._waiter = None
            if not parser.keep_alive:
                self.abort()
            waiter.set_result(reply)

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost finishes the reply

    def connection_lost(self, exc: Exception | None) -> None:
        self._mark_closed()
        parser, waiter = self._parser, self._waiter
        self._parser = self._waiter = None
        if parser is None or waiter is None or waiter.done():
            return
        try:
            if parser.eof():
                waiter.set_result(parser.reply())
                return
        except CallbackHttpError as error:
            waiter.set_exception(error)
            return
        reason = f": {exc}" if exc else ""
        waiter.set_exception(_Disconnected(parser.received_any, f"connection closed{reason}"))

    def abort(self) -> None:
        self._mark_closed()
        if self.transport is not None:
            self.transport.abort()


class _Disconnected(CallbackHttpError):
    def __init__(self, replied: bool, message: str) -> None:
        super().__init__(message if replied else f"{message} before any reply")
        self.replied = replied


class _Pool:
    """The connections to one target: the idle ones, how many are open, who waits for one."""

    def __init__(self, on_empty: Callable[[_Pool], None]) -> None:
        self.idle: list[_Connection] = []
        self.open = 0
        self.waiters: deque[asyncio.Future[None]] = deque()
        self._on_empty = on_empty

    def closed(self) -> None:
        self.open -= 1
        self.wake()
        if self.open == 0 and not self.waiters:
            self._on_empty(self)  # no connection left: the client forgets the target

    def park(self, loop: asyncio.AbstractEventLoop, connection: _Connection) -> None:
        """Keep ``connection`` for the next delivery, for :data:`IDLE_SECONDS` at most."""
        self.idle.append(connection)
        connection.idle_timer = loop.call_later(IDLE_SECONDS, self._expire, connection)
        self.wake()

    def take(self) -> _Connection | None:
        """The most recently parked connection that is still open."""
        while self.idle:
            connection = self.idle.pop()
            if connection.idle_timer is not None:
                connection.idle_timer.cancel()
                connection.idle_timer = None
            if not connection.closed and not _closing(connection):
                return connection
        return None

    def close_idle(self) -> None:
        idle, self.idle = self.idle, []
        for connection in idle:
            if connection.idle_timer is not None:
                connection.idle_timer.cancel()
            connection.abort()

    def _expire(self, connection: _Connection) -> None:
        connection.idle_timer = None
        if connection in self.idle:
            self.idle.remove(connection)
            connection.abort()

    def wake(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class CallbackHttpClient:
    """POSTs forms to plain-HTTP URLs, reusing connections; one per event loop."""

    def __init__(self) -> None:
        self._pools: dict[tuple[str, int], _Pool] = {}

    async def post(
        self, target: Target, body: bytes, headers: list[tuple[str, str]], timeout: float
    ) -> Reply:
        """POST ``body`` (a form) with ``headers``; raises TimeoutError (asyncio's) when the
        whole exchange takes longer than ``timeout`` seconds, CallbackHttpError or OSError."""
        loop = asyncio.get_running_loop()
        lines = [f"POST {target.request_target} HTTP/1.1", f"Host: {target.host_header}"]
        lines += [f"{name}: {value}" for name, value in headers]
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        request = "\r\n".join(lines).encode("latin-1") + body
        deadline = loop.time() + timeout
        key = (target.host, target.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(lambda empty: self._forget(key, empty))
        connection, reused = await self._acquire(loop, pool, target, deadline)
        if reused:
            try:
                return await self._exchange(loop, pool, connection, request, deadline)
            except _Disconnected as exc:
                if exc.replied:
                    raise  # the target saw the request and broke off: not sent twice
            connection, _ = await self._acquire(loop, pool, target, deadline, fresh=True)
        return await self._exchange(loop, pool, connection, request, deadline)

    def close(self) -> None:
        """Close every idle connection (those in use close when their exchange ends)."""
        for pool in list(self._pools.values()):
            pool.close_idle()

    def targets(self) -> int:
        """How many targets the client holds connections to (or waits for)."""
        return len(self._pools)

    def _forget(self, key: tuple[str, int], pool: _Pool) -> None:
        if self._pools.get(key) is pool:
            del self._pools[key]

    async def _acquire(
        self,
        loop: asyncio.AbstractEventLoop,
        pool: _Pool,
        target: Target,
        deadline: float,
        fresh: bool = False,
    ) -> tuple[_Connection, bool]:
        """An idle connection (True) or a new one (False), waiting while the target has
        :data:`MAX_CONNECTIONS_PER_TARGET` open; ``fresh``: a new one only."""
        while True:
            connection = None if fresh else pool.take()
            if connection is not None:
                return connection, True
            if pool.open < MAX_CONNECTIONS_PER_TARGET:
                return await self._connect(loop, pool, target, deadline), False
            waiter: asyncio.Future[None] = loop.create_future()
            pool.waiters.append(waiter)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError
            try:
                await asyncio.wait_for(waiter, remaining)
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    pool.wake()  # woken as the time ran out: pass the turn on
                raise

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, pool: _Pool, target: Target, deadline: float
    ) -> _Connection:
        """A new connection, counted in ``pool.open`` until it closes."""
        pool.open += 1
        made: list[_Connection] = []

        def protocol() -> _Connection:
            made.append(_Connection(pool.closed))  # it gives its place back once, when it closes
            return made[-1]

        try:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError
            await asyncio.wait_for(
                loop.create_connection(protocol, target.host, target.port), remaining
            )
        except BaseException as exc:
            if made:
                made[-1].abort()
            else:
                pool.closed()
            if isinstance(exc, OSError):
                raise CallbackHttpError(
                    f"cannot connect to {target.host_header}: {exc.strerror or exc}"
                ) from None
            raise
        return made[-1]

    async def _exchange(
        self,
        loop: asyncio.AbstractEventLoop,
        pool: _Pool,
        connection: _Connection,
        request: bytes,
        deadline: float,
    ) -> Reply:
        waiter: asyncio.Future[Reply] = loop.create_future()
        timer = loop.call_at(deadline, _expire, connection, waiter)
        try:
            connection.send(request, waiter)
            reply = await waiter
        except BaseException:
            connection.abort()  # a reply may still be on its way: never reused
            raise
        finally:
            timer.cancel()
        if not connection.closed:
            pool.park(loop, connection)
        return reply


def _closing(connection: _Connection) -> bool:
    transport = connection.transport
    return transport is None or transport.is_closing()


def _expire(connection: _Connection, waiter: asyncio.Future[Reply]) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())
    connection.abort()
