"""The sandbox's callback HTTP client against a real loopback server that answers with raw bytes.

Each test's server reads one request head and body (by Content-Length) and writes the bytes a
script gives for that request; it counts connections and requests, so reuse is observable.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from taskrouter_cli.sandbox import callback_http
from taskrouter_cli.sandbox.callback_http import (
    MAX_BODY_BYTES,
    CallbackHttpClient,
    CallbackHttpError,
    Reply,
    Target,
    plain_http_target,
)

HEADERS = [("X-Twilio-Signature", "sig"), ("Content-Type", "application/x-www-form-urlencoded")]

Answer = Callable[[int, bytes], Awaitable[bytes | None]]
"""(request number, request bytes) -> the bytes to answer (None: close without answering)."""


@dataclass
class RawServer:
    answer: Answer
    close_after_answer: bool = False
    connections: int = 0
    finished: int = 0
    requests: list[bytes] = field(default_factory=list)
    server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    def stop(self) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def target(self) -> Target:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        found = plain_http_target(f"http://127.0.0.1:{port}/assignment?x=1")
        assert found is not None
        return found

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                data = await self.answer(len(self.requests), request)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self.finished += 1


@asynccontextmanager
async def serving(answer: Answer, close_after_answer: bool = False) -> AsyncIterator[RawServer]:
    server = RawServer(answer, close_after_answer)
    await server.start()
    try:
        yield server
    finally:
        server.stop()


def ok(body: bytes = b'{"instruction":"accept"}', extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + extra
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


async def constant(data: bytes) -> Answer:
    async def answer(_number: int, _request: bytes) -> bytes:
        return data

    return answer


class JumpingClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock can jump ahead: a timeout is reached by :meth:`advance`, not
    waited for."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0.0

    def time(self) -> float:
        return super().time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def held_until(release: asyncio.Event, only_the_first: bool = False) -> Answer:
    """Answers ``ok()`` once ``release`` is set (for the first request only, if so asked)."""

    async def answer(number: int, _request: bytes) -> bytes:
        if number == 1 or not only_the_first:
            await release.wait()
        return ok()

    return answer


def run(coro: Awaitable[object]) -> object:
    """``coro`` to its end on a :class:`JumpingClockLoop`, then, as ``asyncio.run`` does, the
    tasks left (the server's connections) cancelled and finished."""
    loop = JumpingClockLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(_cancel_the_rest())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _cancel_the_rest() -> None:
    left = asyncio.all_tasks() - {asyncio.current_task()}
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)


def advance(seconds: float) -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, JumpingClockLoop)
    loop.advance(seconds)


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run (sockets included) until ``condition`` holds; 5 s of real time at most."""
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0)


async def settle() -> None:
    """A few turns of the loop: what is already on the sockets is handled."""
    for _ in range(20):
        await asyncio.sleep(0)


def post(server: RawServer, client: CallbackHttpClient, timeout: float = 5.0) -> Awaitable[Reply]:
    return client.post(server.target, b"A=1&B=2", HEADERS, timeout)


def test_posts_reuse_one_kept_alive_connection_and_send_the_signed_form() -> None:
    async def scenario() -> None:
        async with serving(await constant(ok())) as server:
            client = CallbackHttpClient()
            replies = [await post(server, client) for _ in range(3)]
            client.close()
        assert replies == [Reply(200, "application/json", '{"instruction":"accept"}')] * 3
        assert server.connections == 1
        first = server.requests[0]
        assert first.startswith(b"POST /assignment?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
        assert b"\r\nX-Twilio-Signature: sig\r\n" in first
        assert first.endswith(b"Content-Length: 7\r\n\r\nA=1&B=2")

    run(scenario())


def test_a_chunked_reply_with_trailers_is_joined() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;ext=1\r\n{"ins\r\n13\r\ntruction":"reject"}\r\n0\r\nX-Trailer: 1\r\n\r\n'
    )

    async def scenario() -> None:
        async with serving(await constant(chunked)) as server:
            client = CallbackHttpClient()
            first, second = await post(server, client), await post(server, client)
            client.close()
        assert first.body == second.body == '{"instruction":"reject"}'
        assert server.connections == 1

    run(scenario())


def test_a_reply_without_a_length_is_read_until_the_target_closes() -> None:
    http10 = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=latin-1\r\n\r\ncaf\xe9"

    async def scenario() -> None:
        async with serving(await constant(http10), close_after_answer=True) as server:
            client = CallbackHttpClient()
            first, second = await post(server, client), await post(server, client)
            client.close()
        assert first == second == Reply(200, "text/plain; charset=latin-1", "café")
        assert server.connections == 2  # never reused: the body ended with the connection

    run(scenario())


def test_an_interim_100_continue_is_skipped_and_gzip_is_decoded() -> None:
    body = gzip.compress(b'{"instruction":"accept"}')
    answer = b"HTTP/1.1 100 Continue\r\n\r\n" + ok(body, b"Content-Encoding: gzip\r\n")

    async def scenario() -> None:
        async with serving(await constant(answer)) as server:
            client = CallbackHttpClient()
            reply = await post(server, client)
            client.close()
        assert reply.body == '{"instruction":"accept"}'

    run(scenario())


def test_a_reply_body_over_the_limit_fails_the_delivery_and_drops_the_connection() -> None:
    huge = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + (
        b"%x\r\n" % 65536 + b"x" * 65536 + b"\r\n"
    ) * (MAX_BODY_BYTES // 65536 + 1)
    declared = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1)

    async def scenario() -> None:
        for answer in (huge, declared):
            async with serving(await constant(answer)) as server:
                client = CallbackHttpClient()
                for _ in range(2):
                    with pytest.raises(CallbackHttpError, match="larger than 1048576 bytes"):
                        await post(server, client)
                client.close()
            assert server.connections == 2  # the first connection was dropped, not reused

    run(scenario())


def test_no_answer_within_the_timeout_raises_and_the_connection_is_not_reused() -> None:
    release = asyncio.Event()

    async def scenario() -> None:
        async with serving(held_until(release, only_the_first=True)) as server:
            client = CallbackHttpClient()
            pending = asyncio.ensure_future(post(server, client, timeout=5))
            await until(lambda: len(server.requests) == 1)
            advance(4.9)
            await settle()
            assert not pending.done()
            advance(0.2)
            with pytest.raises(asyncio.TimeoutError):
                await pending
            release.set()
            reply = await post(server, client)
            client.close()
        assert reply.status == 200
        assert server.connections == 2

    run(scenario())


def test_deliveries_beyond_the_connection_limit_wait_for_a_free_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(callback_http, "MAX_CONNECTIONS_PER_TARGET", 2)
    release = asyncio.Event()

    async def scenario() -> None:
        async with serving(held_until(release)) as server:
            client = CallbackHttpClient()
            posts = [asyncio.ensure_future(post(server, client)) for _ in range(5)]
            await until(lambda: len(server.requests) == 2)
            await settle()
            assert (server.connections, len(server.requests)) == (2, 2)
            release.set()
            replies = await asyncio.gather(*posts)
            client.close()
        assert [reply.status for reply in replies] == [200] * 5
        assert server.connections == 2

    run(scenario())


def test_a_delivery_waiting_for_a_connection_times_out_on_its_own_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(callback_http, "MAX_CONNECTIONS_PER_TARGET", 1)
    release = asyncio.Event()

    async def scenario() -> None:
        async with serving(held_until(release)) as server:
            client = CallbackHttpClient()
            first = asyncio.ensure_future(post(server, client, timeout=30))
            await until(lambda: len(server.requests) == 1)
            waiting = asyncio.ensure_future(post(server, client, timeout=5))
            await settle()
            advance(5.1)
            with pytest.raises(asyncio.TimeoutError):
                await waiting
            assert not first.done()  # 5.1 of its 30 s
            release.set()
            assert (await first).status == 200
            assert (await post(server, client)).status == 200  # the turn was not lost
            client.close()

    run(scenario())


def test_a_connection_unused_for_15_seconds_is_closed() -> None:
    async def scenario() -> None:
        async with serving(await constant(ok())) as server:
            client = CallbackHttpClient()
            await post(server, client)
            advance(callback_http.IDLE_SECONDS - 1)
            await settle()
            assert server.finished == 0
            await post(server, client)  # reused: its idle time starts again
            assert server.connections == 1
            advance(callback_http.IDLE_SECONDS + 0.1)
            await until(lambda: server.finished == 1)
            await settle()
            assert client.targets() == 0  # nothing is kept for a target no longer called
            await post(server, client)
            client.close()
        assert server.connections == 2

    run(scenario())


def test_a_reused_connection_closed_without_a_reply_byte_is_retried_once_on_a_new_one() -> None:
    """The race of a target closing an idle kept-alive connection as the next POST arrives."""

    async def drop_second(number: int, _request: bytes) -> bytes | None:
        return None if number == 2 else ok()

    async def scenario() -> None:
        async with serving(drop_second) as server:
            client = CallbackHttpClient()
            await post(server, client)
            reply = await post(server, client)
            client.close()
        assert reply.status == 200
        assert server.connections == 2
        assert len(server.requests) == 3  # the dropped one, then the retry on a new connection

    run(scenario())


def test_a_connection_the_target_closed_while_idle_is_not_reused() -> None:
    async def scenario() -> None:
        async with serving(await constant(ok()), close_after_answer=True) as server:
            client = CallbackHttpClient()
            await post(server, client)  # HTTP/1.1 without "close": kept, then closed by the server
            await until(lambda: server.finished == 1)
            await settle()  # the client sees the close (or retries: the same outcome)
            reply = await post(server, client)
            client.close()
        assert reply.status == 200
        assert len(server.requests) == 2
        assert server.connections == 2

    run(scenario())


def test_a_new_connection_closed_without_a_reply_fails_without_a_second_post() -> None:
    async def scenario() -> None:
        async def hang_up(_number: int, _request: bytes) -> bytes | None:
            return None

        async with serving(hang_up) as server:
            client = CallbackHttpClient()
            with pytest.raises(CallbackHttpError, match="connection closed"):
                await post(server, client)
            client.close()
        assert len(server.requests) == 1

    run(scenario())


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP reply"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed reply header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", "malformed Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx", "br"),
    ],
)
def test_a_malformed_reply_is_a_clear_error(answer: bytes, message: str) -> None:
    async def scenario() -> None:
        async with serving(await constant(answer)) as server:
            client = CallbackHttpClient()
            with pytest.raises(CallbackHttpError, match=message):
                await post(server, client)
            client.close()

    run(scenario())


def test_a_refused_connection_says_where_and_gives_its_place_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(callback_http, "MAX_CONNECTIONS_PER_TARGET", 1)

    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        target = plain_http_target(f"http://127.0.0.1:{port}/")
        assert target is not None
        client = CallbackHttpClient()
        for _ in range(3):  # a place kept by a failed connect would make the next one wait
            with pytest.raises(CallbackHttpError, match=f"cannot connect to 127.0.0.1:{port}"):
                await client.post(target, b"", HEADERS, 2)

    run(scenario())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.test/cb", Target("example.test", 80, "/cb", "example.test")),
        ("HTTP://h:8080", Target("h", 8080, "/", "h:8080")),
        ("http://[::1]:9/a?b=c", Target("::1", 9, "/a?b=c", "[::1]:9")),
        ("https://example.test/cb", None),
        ("http://user:pw@example.test/", None),
        ("http://example.test:99999/", None),
        ("http://example.test/a b", None),
        ("ftp://example.test/", None),
    ],
)
def test_only_plain_http_urls_are_sent_by_this_client(url: str, expected: Target | None) -> None:
    assert plain_http_target(url) == expected
