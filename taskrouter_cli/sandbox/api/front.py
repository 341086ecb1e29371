"""The sandbox's HTTP/1.1 front: ``/v1`` requests answered without aiohttp's web layer.

A task's lifecycle makes three ``/v1`` requests, and aiohttp's web application spent ~30 µs of
the event loop's CPU on each beyond the API itself (request and response objects, router,
middleware, a task per request, a stream for the body), about a tenth of the sandbox's loop time
(``docs/benchmarks.md``). This protocol parses the request itself, calls
:meth:`V1Api.respond <taskrouter_cli.sandbox.api.v1.V1Api.respond>` directly, and writes the
answer in one piece once the group commit says what it wrote is committed
(:meth:`GroupCommit.when_durable <taskrouter_cli.sandbox.group_commit.GroupCommit.when_durable>`).

It serves only requests it fully understands: HTTP/1.1; ``GET``, ``POST`` or ``DELETE``; a target
under ``/v1`` of plain characters (no percent-encoding, no dot segments, no empty segments);
header lines of printable ASCII, each name once, a ``Host``, no ``Transfer-Encoding``,
``Expect`` or ``Upgrade``; a ``Content-Length`` body within the size limit. Any other request --
a ``/sandbox`` control, ``HEAD``, a chunked body, a malformed or oversized head -- is handed,
with every byte received so far, to aiohttp's protocol for that connection, which answers as it
always did (a 400, a 413, the control route); the connection then stays with aiohttp.

The guards hold as for aiohttp's connections (``guards/connections.py``, the same
:class:`ConnectionGuard`): headers due within the header timeout, the idle-connection cap; a body
that does not arrive within the body timeout gets 408 and the connection is closed (the guard's
sweep enforces both deadlines, so tests move its time instead of waiting). Answers go
out in request order (a pipelined request waits for the one before); reading pauses while more
than :data:`MAX_WAITING_BYTES` wait, and answering pauses while the client does not read.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from functools import partial
from http import HTTPStatus
from typing import Any

from taskrouter_cli.guards.connections import ConnectionGuard
from taskrouter_cli.sandbox.api.errors import body_too_slow
from taskrouter_cli.sandbox.api.exchange import (
    REQUEST_LINE_FORMAT,
    ApiRequest,
    ApiResponse,
    http_error_answer,
    internal_error_answer,
)
from taskrouter_cli.sandbox.api.v1 import MAX_BODY_BYTES, V1Api
from taskrouter_cli.sandbox.group_commit import GroupCommit

MAX_HEAD_BYTES = 8190
"""The longest request head (request line and headers) the front reads; a longer one goes to
aiohttp, whose limit for one line or header is the same."""
MAX_HEADERS = 64
MAX_WAITING_BYTES = MAX_BODY_BYTES + 64 * 1024
"""Received bytes the front keeps before it stops reading (pipelined requests wait in them)."""

_REQUEST_LINE = re.compile(
    rb"(GET|POST|DELETE) (/v1(?:[/?][-!$&'()*+,./0-9:;=?@A-Z_a-z~]*)?) HTTP/1\.1"
)
"""A request line the front serves: its target is ``/v1``, ``/v1/...`` or ``/v1?...`` without
``%`` or ``#``."""
_HEADER_LINES = re.compile(rb"(?:\r\n[-!#$%&'*+.^_`|~0-9A-Za-z]+:[\x20-\x7e\t]*)*")
"""Header lines of a token, a colon and printable ASCII, each after its CRLF."""
_HOST = re.compile(r"[-.:\[\]_0-9A-Za-z]+")
_BARE_CR_OR_LF = re.compile(rb"(?<!\r)\n|\r[^\n]")
"""A line break the front never serves: an LF without its CR, or a CR followed by anything
but LF (a CR at the end of what has arrived may be the start of a CRLF)."""
_HANDED_OVER_HEADERS = frozenset({"transfer-encoding", "expect", "upgrade"})
_CONNECTION_TOKENS = frozenset({"close", "keep-alive"})
_STATUS_LINES = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode("ascii")
    for status in HTTPStatus
}
_JSON_HEAD = b"Content-Type: application/json\r\nContent-Length: %d\r\n"


class Headers(dict[str, str]):
    """Request headers by lowercase name; looked up in any case."""

    def get(self, name: str, default: Any = None) -> Any:
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())


@dataclass(slots=True)
class RequestHead:
    """A request head the front serves."""

    method: str
    target: str
    path: str
    query_string: str
    headers: Headers
    host: str
    content_length: int
    close: bool
    """The client asked to close the connection after the answer."""


def parse_head(head: bytes, max_body_bytes: int = MAX_BODY_BYTES) -> RequestHead | None:
    """The head (without its final blank line) if the front serves it, else None."""
    line_end = head.find(b"\r\n")
    if line_end < 0:
        line_end = len(head)
    request_line = _REQUEST_LINE.fullmatch(head, 0, line_end)
    if request_line is None or not _HEADER_LINES.fullmatch(head, line_end):
        return None
    target = request_line.group(2)
    if b"/." in target or b"//" in target:
        return None
    lines = head[line_end + 2 :].decode("ascii").split("\r\n") if line_end < len(head) else []
    if len(lines) > MAX_HEADERS:
        return None
    headers = Headers()
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.lower()] = value.strip(" \t")
    if len(headers) != len(lines):  # a name given twice
        return None
    found = dict.get
    host = found(headers, "host")
    if not host or not _HOST.fullmatch(host) or not _HANDED_OVER_HEADERS.isdisjoint(headers):
        return None
    length_text = found(headers, "content-length", "0")
    if not (length_text.isdigit() and len(length_text) <= 9):
        return None
    length = int(length_text)
    if length > max_body_bytes:
        return None
    close = False
    connection = found(headers, "connection")
    if connection is not None:
        tokens = {token.strip().lower() for token in connection.split(",")}
        if not tokens <= _CONNECTION_TOKENS:
            return None
        close = "close" in tokens
    text = target.decode("ascii")
    path, _, query = text.partition("?")
    method = request_line.group(1).decode("ascii")
    return RequestHead(method, text, path, query, headers, host, length, close)


class _DateLine:
    """``Date: ...`` and ``Server: ...`` header lines, formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._line = b""

    def __call__(self) -> bytes:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            date = formatdate(second, usegmt=True)
            self._line = f"Date: {date}\r\nServer: trcli-sandbox\r\n".encode("ascii")
        return self._line


def encode_answer(answer: ApiResponse, date_line: bytes, close: bool) -> bytes:
    """``answer`` as the bytes of one HTTP/1.1 response."""
    status = answer.status
    line = _STATUS_LINES.get(status) or f"HTTP/1.1 {status} Unknown\r\n".encode("ascii")
    parts = [line]
    body = answer.body
    if body:
        parts.append(_JSON_HEAD % len(body))
    elif status != 204:
        parts.append(b"Content-Length: 0\r\n")
    parts.append(date_line)
    if answer.headers:
        for name, value in answer.headers.items():
            parts.append(f"{name}: {value}\r\n".encode("latin-1"))
    if close:
        parts.append(b"Connection: close\r\n")
    parts.append(b"\r\n")
    parts.append(body)
    return b"".join(parts)


class HttpFront:
    """The protocol factory for the sandbox's listening socket, and what its connections share."""

    def __init__(
        self,
        api: V1Api,
        group: GroupCommit,
        guard: ConnectionGuard,
        fallback: Callable[[], asyncio.Protocol] | None,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        request_log: logging.Logger | None = None,
    ) -> None:
        self.api = api
        self.group = group
        self.guard = guard
        self.fallback = fallback
        """aiohttp's protocol factory (``AppRunner.server``): who gets what the front does not
        serve (None until :meth:`fallback_ready`)."""
        self.awaiting_fallback: list[FrontProtocol] = []
        self.max_body_bytes = max_body_bytes
        self.request_log = request_log
        self.connections: set[FrontProtocol] = set()
        self.date_line = _DateLine()
        self.handed_over = 0
        """Connections handed to aiohttp so far."""

    def __call__(self) -> FrontProtocol:
        return FrontProtocol(self)

    def fallback_ready(self, fallback: Callable[[], asyncio.Protocol]) -> None:
        """aiohttp's protocol factory exists now: connections handed over before get it."""
        self.fallback = fallback
        waiting, self.awaiting_fallback = self.awaiting_fallback, []
        for connection in waiting:
            connection.hand_over_now()

    async def shutdown(self, timeout: float) -> None:
        """Let the answers in progress go out (within ``timeout`` seconds), then close every
        connection the front still has."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(c.busy for c in self.connections) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for connection in list(self.connections):
            connection.close()


class FrontProtocol(asyncio.Protocol):
    """One client connection of the front."""

    def __init__(self, front: HttpFront) -> None:
        self._front = front
        self._transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buffer = bytearray()
        self._head: RequestHead | None = None
        """A head whose body is still arriving."""
        self._body_awaited = False
        """The guard holds a deadline for the body of :attr:`_head`."""
        self.busy = False
        """A request is being answered."""
        self._done = False
        """Closed, or handed to aiohttp."""
        self._awaiting_fallback = False
        """Handed over before aiohttp's protocol existed: it gets the connection once it does."""
        self._reading_paused = False
        self._writing_paused = False

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._front.connections.add(self)
        self._front.guard.opened(self, transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._done = True
        self._transport = None
        self._forget()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not (self.busy or self._writing_paused):
            self._serve_buffered()
        # Checked after serving too: an answer that needs no commit goes out at once, so the
        # front is rarely busy when bytes arrive, and a client that sends faster than the front
        # answers (one request a loop pass, while a pass reads up to 256 KiB) must be held back.
        if (
            len(self._buffer) > MAX_WAITING_BYTES
            and not self._reading_paused
            and (not self._done or self._awaiting_fallback)
        ):
            self._pause_reading()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._serve_buffered()

    # -- serving ------------------------------------------------------------------------

    def close(self) -> None:
        if self._transport is not None and not self._done:
            self._transport.close()

    def _serve_buffered(self) -> None:
        """Start answering the next complete request in the buffer, if nothing else is."""
        front = self._front
        if self.busy or self._done or self._writing_paused:
            return
        head = self._head
        if head is None:
            buffer = self._buffer
            end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD_BYTES + 4)
            if end < 0:
                # Incomplete -- or a head the front does not read: too long, or with a bare
                # LF or CR, which may end a head the client considers complete ("\n\r\n")
                # and which aiohttp answers 400 at once.
                if len(buffer) > MAX_HEAD_BYTES or _BARE_CR_OR_LF.search(buffer):
                    self._hand_over()
                return
            head = parse_head(bytes(buffer[:end]), front.max_body_bytes)
            if head is None:
                self._hand_over()
                return
            del buffer[: end + 4]
            front.guard.started(self)  # no header deadline now; the body has its own below
            self._head = head
        length = head.content_length
        if len(self._buffer) < length:
            if not self._body_awaited:
                self._body_awaited = True
                front.guard.body_due(self, self._body_late)
            if self._reading_paused:
                self._resume_reading()
            return
        if self._body_awaited:
            self._body_awaited = False
            front.guard.body_arrived(self)
        self._head = None
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        if self._reading_paused and len(self._buffer) <= MAX_WAITING_BYTES:
            self._resume_reading()
        self.busy = True
        started = time.perf_counter()
        request = ApiRequest(
            head.method,
            head.path,
            head.query_string,
            head.headers,
            body,
            "http://" + head.host,
        )
        answer = front.api.respond(request)
        front.group.when_durable(partial(self._durable, head, answer, started))
        front.group.poll()

    def _durable(
        self, head: RequestHead, answer: ApiResponse, started: float, error: BaseException | None
    ) -> None:
        """The group commit holding what the request wrote (or read) is done: answer."""
        if error is not None:  # the group commit logged it; memory was rolled back
            answer = internal_error_answer()
        self._write(answer, head.close)
        request_log = self._front.request_log
        if request_log is not None:
            elapsed = (time.perf_counter() - started) * 1e3
            request_log.info(REQUEST_LINE_FORMAT, head.method, head.target, answer.status, elapsed)
        self.busy = False
        if head.close:
            self._done = True
            self._forget()
            return
        self._front.guard.finished(self)
        if self._buffer and self._loop is not None:
            # Pipelined requests: the next one on a later loop pass (this may run inside a
            # group commit's callbacks, and a long pipeline must not nest calls).
            self._loop.call_soon(self._serve_buffered)

    def _write(self, answer: ApiResponse, close: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        transport.write(encode_answer(answer, self._front.date_line(), close))
        if close:
            transport.close()

    def _body_late(self) -> None:
        self._body_awaited = False
        self._write(http_error_answer(body_too_slow(self._front.guard.body_timeout)), close=True)
        self._done = True
        self._forget()

    def _hand_over(self) -> None:
        """From now on aiohttp's protocol serves this connection, starting with the bytes the
        front has received -- once there is one: while the sandbox starts, the front listens
        before aiohttp is imported, and what it hands over meanwhile waits."""
        self._done = True
        if self._front.fallback is None:
            self._awaiting_fallback = True
            self._front.awaiting_fallback.append(self)
            return
        self.hand_over_now()

    def hand_over_now(self) -> None:
        self._awaiting_fallback = False
        transport = self._transport
        fallback = self._front.fallback
        if transport is None or fallback is None:  # closed while it waited
            return
        data = bytes(self._buffer)
        self._buffer.clear()
        self._forget()
        self._front.handed_over += 1
        if self._reading_paused:
            self._resume_reading()
        protocol: Any = fallback()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if data:
            protocol.data_received(data)

    # -- bookkeeping --------------------------------------------------------------------

    def _forget(self) -> None:
        self._front.connections.discard(self)
        self._front.guard.forget(self)

    def _pause_reading(self) -> None:
        if self._transport is not None:
            self._transport.pause_reading()
            self._reading_paused = True

    def _resume_reading(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()
            self._reading_paused = False
