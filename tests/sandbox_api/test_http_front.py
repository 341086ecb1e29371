"""The sandbox's own HTTP/1.1 front (``taskrouter_cli/sandbox/api/front.py``).

Covers what the front serves itself (the twilio SDK's requests, keep-alive and pipelined
requests answered in order, heads and bodies split across sends, ``Connection: close``, 401,
204), what it hands over with the bytes received so far to aiohttp's protocol (controls, HEAD,
malformed and unusual heads, chunked bodies, oversized heads and bodies; a head ending in a
bare CR or LF at once), that the front and aiohttp answer the same request alike, the guards
(the body deadline's 408, the header deadline, the idle-connection cap, reading and answering
paused under a client that pipelines more than the front keeps), :func:`parse_head` as a pure
function (a table and a property), and raw-bytes robustness against a running sandbox
(mutated SDK requests never get a 5xx, and the sandbox goes on serving without leaking
connections).

Everything runs against a real sandbox on a loopback port with real sockets; timeouts are
reached by running the connection guard's sweep at a later time on the server's loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskrouter_cli.guards.connections import HEADER_TIMEOUT, ConnectionGuard
from taskrouter_cli.sandbox.api.app import MAX_BODY_BYTES
from taskrouter_cli.sandbox.api.front import (
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    MAX_WAITING_BYTES,
    HttpFront,
    RequestHead,
    parse_head,
)
from tests.helpers.guard_time import sweep_guard_later

if TYPE_CHECKING:
    from typing_extensions import Self

FRONT_SERVER = "trcli-sandbox"
"""The ``Server`` header of the front's answers (aiohttp names itself instead)."""
READ_CHUNK = 256 * 1024
"""The most asyncio's socket transport reads at once: the front may hold this much beyond
:data:`MAX_WAITING_BYTES` before it pauses reading."""
FORM = "application/x-www-form-urlencoded"


# -- raw HTTP on a socket -------------------------------------------------------------------


@dataclass
class Answer:
    """One HTTP response as read off the socket."""

    version: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        assert len(values) <= 1, f"{name} is repeated: {values}"
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def from_front(self) -> bool:
        return self.header("Server") == FRONT_SERVER

    @property
    def from_aiohttp(self) -> bool:
        return "aiohttp" in (self.header("Server") or "")


class AnswerReader:
    """Reads the answers that come back on one client connection, one at a time."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self._buffer = bytearray()
        self.closed = False
        """The server closed the connection (end of stream or reset)."""

    def _fill(self) -> bool:
        try:
            chunk = self.connection.recv(1 << 20)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self._buffer += chunk
        return True

    def _line(self) -> bytes | None:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if not self._fill():
                return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def _exactly(self, size: int) -> bytes | None:
        while len(self._buffer) < size:
            if not self._fill():
                return None
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def next(self, *, head_request: bool = False) -> Answer | None:
        """The next final answer (``100 Continue`` is skipped); None if the connection closed
        first. An answer cut short by the close raises AssertionError."""
        while True:
            status_line = self._line()
            if status_line is None:
                assert not self._buffer, f"a partial status line: {bytes(self._buffer)!r}"
                return None
            version, status, _reason = status_line.decode("latin-1").split(" ", 2)
            headers = []
            while (line := self._line()) != b"":
                assert line is not None, f"the answer to {status_line!r} was cut short"
                name, _, value = line.decode("latin-1").partition(":")
                headers.append((name, value.strip()))
            answer = Answer(version, int(status), headers, b"")
            if answer.status >= 200:
                break
        length = answer.header("Content-Length")
        if head_request or answer.status in (204, 304):
            return answer
        if answer.header("Transfer-Encoding") == "chunked":
            body = bytearray()
            while (size_line := self._line()) not in (None, b"0"):
                assert size_line is not None
                chunk = self._exactly(int(size_line, 16) + 2)
                assert chunk is not None, "a chunked answer was cut short"
                body += chunk[:-2]
            assert self._line() == b"", "a chunked answer was cut short"
            answer.body = bytes(body)
            return answer
        assert length is not None, f"an answer without Content-Length: {answer}"
        body_bytes = self._exactly(int(length))
        assert body_bytes is not None, f"the body of {answer} was cut short"
        answer.body = body_bytes
        return answer

    def answer(self, *, head_request: bool = False) -> Answer:
        answer = self.next(head_request=head_request)
        assert answer is not None, "the server closed the connection without an answer"
        return answer

    def nothing_yet(self) -> bool:
        """True when no byte has arrived (nor the end of the stream) by now."""
        if self._buffer:
            return False
        timeout = self.connection.gettimeout()
        self.connection.setblocking(False)
        try:
            return not self._fill() and not self.closed
        except BlockingIOError:
            return True
        finally:
            self.connection.settimeout(timeout)

    def is_closed(self) -> bool:
        """Waits (up to the socket's timeout) for the end of the stream; True if it came, and
        no more bytes before it."""
        before = len(self._buffer)
        try:
            while self._fill():
                pass
        except TimeoutError:
            return False
        return len(self._buffer) == before


def request_bytes(
    method: str,
    target: str,
    *,
    host: str = "127.0.0.1",
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes | None = None,
) -> bytes:
    """A request's bytes; ``Content-Length`` is added when there is a body."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


@dataclass
class FrontSandbox:
    """A running sandbox, seen from a raw-socket client and from its front."""

    handle: Any
    """The ``sandbox`` fixture's SandboxHandle (typed loosely: its module's lazy imports would
    bring untyped libraries into this file's type check)."""

    @property
    def server(self) -> Any:
        return self.handle.server

    @property
    def port(self) -> int:
        return int(self.server.port)

    @property
    def front(self) -> HttpFront:
        front = self.server._serving.front
        assert isinstance(front, HttpFront)
        return front

    @property
    def guard(self) -> ConnectionGuard:
        guard = self.server.guard
        assert isinstance(guard, ConnectionGuard)
        return guard

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self.server._serving.loop
        assert loop is not None
        return loop

    @property
    def workspace(self) -> str:
        assert self.handle.workspace_sid is not None
        return f"/v1/Workspaces/{self.handle.workspace_sid}"

    @property
    def authorization(self) -> tuple[str, str]:
        credentials = f"{self.handle.account_sid}:{self.handle.auth_token}".encode()
        return ("Authorization", "Basic " + base64.b64encode(credentials).decode())

    def request(
        self,
        method: str,
        target: str,
        *,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes | None = None,
    ) -> bytes:
        """An authenticated request's bytes."""
        return request_bytes(
            method,
            target,
            host=f"127.0.0.1:{self.port}",
            headers=(self.authorization, *headers),
            body=body,
        )

    def create_task(self, attributes: dict[str, Any], *more: tuple[str, str]) -> bytes:
        body = urlencode({"Attributes": json.dumps(attributes), "WorkflowSid": self.workflow_sid})
        return self.request(
            "POST",
            self.workspace + "/Tasks",
            headers=(("Content-Type", FORM), *more),
            body=body.encode(),
        )

    @property
    def workflow_sid(self) -> str:
        service = self.handle.service
        scope = {"workspace_sid": self.handle.workspace_sid}
        return str(service.list("workflow", scope, {}, 50, None).records[0]["sid"])

    def sids(self, kind: str) -> list[str]:
        scope = {"workspace_sid": self.handle.workspace_sid}
        return [r["sid"] for r in self.handle.service.list(kind, scope, {}, 50, None).records]

    def connect(self) -> tuple[socket.socket, AnswerReader]:
        connection = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        return connection, AnswerReader(connection)

    def exchange(self, raw: bytes, *, head_request: bool = False) -> Answer:
        """``raw`` on a fresh connection, and its answer."""
        connection, reader = self.connect()
        with connection:
            connection.sendall(raw)
            return reader.answer(head_request=head_request)

    def on_loop(self, call: Callable[[], Any]) -> Any:
        """``call()`` on the server's loop (its state is the loop's), and what it returned."""

        async def run() -> Any:
            return call()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def sweep_later(self, seconds: float) -> int:
        """The guard's sweep on the server's loop as if ``seconds`` had passed."""
        return sweep_guard_later(self.guard, self.loop, seconds)

    def prove_progress(self) -> None:
        """Returns once the server's loop has read what was sent before: a request on another
        connection (opened after) is answered, so the loop has had its pass at every socket
        that was readable then, and a callback on the loop completes that pass."""
        answer = self.exchange(request_bytes("GET", "/v1/Workspaces"))
        assert answer.status == 401 and answer.from_front
        self.on_loop(lambda: None)


@pytest.fixture
def front_sandbox(sandbox: Any) -> FrontSandbox:
    return FrontSandbox(sandbox)


def pipelined_fetches(sandbox: FrontSandbox, count: int) -> tuple[bytes, list[str]]:
    """``count`` GET requests of distinct resources in turn, and the SID each answer must
    carry, in order."""
    resources = [(sandbox.workspace, sandbox.handle.workspace_sid)]
    for kind, path in (
        ("activity", "Activities"),
        ("worker", "Workers"),
        ("task_queue", "TaskQueues"),
        ("workflow", "Workflows"),
    ):
        resources += [(f"{sandbox.workspace}/{path}/{sid}", sid) for sid in sandbox.sids(kind)]
    chosen = [resources[number % len(resources)] for number in range(count)]
    raw = b"".join(sandbox.request("GET", target) for target, _ in chosen)
    return raw, [str(sid) for _, sid in chosen]


# -- the SDK and ordinary requests are the front's ----------------------------------------


def record_answers(client: Any) -> list[Any]:
    """Every response the SDK client receives from now on (the twilio ``Response``, headers
    included)."""
    answers: list[Any] = []
    http = client.http_client
    send = http.request

    def request(*args: Any, **kwargs: Any) -> Any:
        response = send(*args, **kwargs)
        answers.append(response)
        return response

    http.request = request
    return answers


def test_the_sdks_task_create_fetch_and_update_are_served_by_the_front(
    front_sandbox: FrontSandbox, sdk_client: Any
) -> None:
    workspace = sdk_client.taskrouter.v1.workspaces(front_sandbox.handle.workspace_sid)
    answers = record_answers(sdk_client)
    attributes = json.dumps({"selected_language": "es"})
    task = workspace.tasks.create(attributes=attributes, workflow_sid=front_sandbox.workflow_sid)
    fetched = workspace.tasks(task.sid).fetch()
    updated = workspace.tasks(task.sid).update(attributes=json.dumps({"selected_language": "en"}))

    assert fetched.sid == updated.sid == task.sid
    assert json.loads(updated.attributes) == {"selected_language": "en"}
    assert [answer.status_code for answer in answers] == [201, 200, 200]
    for answer in answers:
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.headers["Server"] == FRONT_SERVER
        assert answer.headers["ETag"]
    created_tag, fetched_tag, updated_tag = (int(answer.headers["ETag"]) for answer in answers)
    assert created_tag <= fetched_tag < updated_tag  # routing may have moved it meanwhile
    assert front_sandbox.front.handed_over == 0


def test_a_request_without_credentials_gets_401_from_the_front(
    front_sandbox: FrontSandbox,
) -> None:
    answer = front_sandbox.exchange(request_bytes("GET", "/v1/Workspaces"))
    assert answer.status == 401
    assert answer.header("WWW-Authenticate") == 'Basic realm="Twilio API"'
    assert answer.header("Content-Type") == "application/json"
    assert answer.json()["code"] == 20003
    assert answer.from_front
    assert front_sandbox.front.handed_over == 0


def test_connection_close_is_answered_with_connection_close_and_the_server_closes(
    front_sandbox: FrontSandbox,
) -> None:
    sandbox = front_sandbox
    connection, reader = sandbox.connect()
    with connection:
        connection.sendall(
            sandbox.request("GET", sandbox.workspace, headers=(("Connection", "close"),))
        )
        answer = reader.answer()
        assert answer.status == 200 and answer.from_front
        assert answer.header("Connection") == "close"
        assert reader.is_closed()
    assert sandbox.front.handed_over == 0


def test_a_keep_alive_connection_serves_one_request_after_another(
    front_sandbox: FrontSandbox,
) -> None:
    sandbox = front_sandbox
    connection, reader = sandbox.connect()
    with connection:
        for sid in sandbox.sids("activity"):
            connection.sendall(sandbox.request("GET", f"{sandbox.workspace}/Activities/{sid}"))
            answer = reader.answer()
            assert answer.status == 200 and answer.from_front
            assert answer.header("Connection") is None
            assert answer.json()["sid"] == sid
    assert sandbox.front.handed_over == 0


def test_a_delete_is_answered_204_without_a_body(front_sandbox: FrontSandbox) -> None:
    sandbox = front_sandbox
    connection, reader = sandbox.connect()
    with connection:
        connection.sendall(sandbox.create_task({"n": 1}))
        created = reader.answer()
        assert created.status == 201
        task = f"{sandbox.workspace}/Tasks/{created.json()['sid']}"
        connection.sendall(sandbox.request("DELETE", task) + sandbox.request("GET", task))
        deleted, gone = reader.answer(), reader.answer()
    assert deleted.status == 204 and deleted.body == b"" and deleted.from_front
    assert deleted.header("Content-Type") is None
    assert gone.status == 404 and gone.json()["code"] == 20404


# -- pipelining and split requests -----------------------------------------------------------


@pytest.mark.parametrize("count", [2, 50])
def test_pipelined_requests_are_answered_in_order(front_sandbox: FrontSandbox, count: int) -> None:
    raw, expected = pipelined_fetches(front_sandbox, count)
    connection, reader = front_sandbox.connect()
    with connection:
        connection.sendall(raw)
        answers = [reader.answer() for _ in expected]
        assert reader.nothing_yet()
    assert [answer.status for answer in answers] == [200] * count
    assert [answer.json()["sid"] for answer in answers] == expected
    assert all(answer.from_front for answer in answers)
    assert front_sandbox.front.handed_over == 0


def test_pipelined_task_creates_are_answered_in_order(
    front_sandbox: FrontSandbox,
) -> None:
    sandbox = front_sandbox
    raw = b"".join(sandbox.create_task({"number": number}) for number in range(20))
    connection, reader = sandbox.connect()
    with connection:
        connection.sendall(raw)
        answers = [reader.answer() for _ in range(20)]
    assert [answer.status for answer in answers] == [201] * 20
    numbers = [json.loads(answer.json()["attributes"])["number"] for answer in answers]
    assert numbers == list(range(20))
    assert len({answer.json()["sid"] for answer in answers}) == 20
    assert sandbox.front.handed_over == 0


def test_a_pipelined_control_request_is_answered_in_its_place_and_aiohttp_keeps_the_rest(
    front_sandbox: FrontSandbox,
) -> None:
    sandbox = front_sandbox
    activities = sandbox.sids("activity")
    raw = (
        sandbox.request("GET", f"{sandbox.workspace}/Activities/{activities[0]}")
        + request_bytes("GET", "/sandbox/health")
        + sandbox.request("GET", f"{sandbox.workspace}/Activities/{activities[1]}")
    )
    connection, reader = sandbox.connect()
    with connection:
        connection.sendall(raw)
        first, health, last = reader.answer(), reader.answer(), reader.answer()
    assert first.from_front and first.json()["sid"] == activities[0]
    assert health.from_aiohttp and health.json()["status"] == "ok"
    assert last.from_aiohttp and last.json()["sid"] == activities[1]
    assert sandbox.front.handed_over == 1


def test_a_request_split_between_head_and_body_is_answered(front_sandbox: FrontSandbox) -> None:
    sandbox = front_sandbox
    raw = sandbox.create_task({"split": True})
    head_end = raw.index(b"\r\n\r\n") + 4
    connection, reader = sandbox.connect()
    with connection:
        connection.sendall(raw[:head_end])
        sandbox.prove_progress()
        assert reader.nothing_yet()
        connection.sendall(raw[head_end:])
        answer = reader.answer()
    assert answer.status == 201 and answer.from_front
    assert json.loads(answer.json()["attributes"]) == {"split": True}
    assert answer.header("ETag")
    assert sandbox.front.handed_over == 0


def test_a_request_sent_a_few_bytes_at_a_time_is_answered(front_sandbox: FrontSandbox) -> None:
    sandbox = front_sandbox
    raw = sandbox.create_task({"trickled": True})
    connection, reader = sandbox.connect()
    with connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(raw), 7):
            connection.sendall(raw[start : start + 7])
        answer = reader.answer()
    assert answer.status == 201 and answer.from_front
    assert json.loads(answer.json()["attributes"]) == {"trickled": True}
    assert sandbox.front.handed_over == 0


# -- handed over to aiohttp -------------------------------------------------------------------


def test_a_control_request_is_handed_over_and_the_connection_stays_with_aiohttp(
    front_sandbox: FrontSandbox,
) -> None:
    sandbox = front_sandbox
    connection, reader = sandbox.connect()
    with connection:
        connection.sendall(request_bytes("GET", "/sandbox/health"))
        health = reader.answer()
        assert health.status == 200 and health.json()["status"] == "ok"
        assert health.from_aiohttp
        assert sandbox.front.handed_over == 1
        connection.sendall(sandbox.request("GET", sandbox.workspace))
        workspace = reader.answer()
    assert workspace.status == 200 and workspace.from_aiohttp
    assert workspace.json()["sid"] == sandbox.handle.workspace_sid
    assert sandbox.front.handed_over == 1


@dataclass(frozen=True)
class Unusual:
    name: str
    build: Callable[[FrontSandbox], bytes]
    status: int
    head_request: bool = False


def _chunked_workspace(sandbox: FrontSandbox) -> bytes:
    body = b"FriendlyName=Chunky"
    head = sandbox.request(
        "POST",
        "/v1/Workspaces",
        headers=(("Content-Type", FORM), ("Transfer-Encoding", "chunked")),
    )
    return head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def _with_line(line: bytes) -> Callable[[FrontSandbox], bytes]:
    def build(sandbox: FrontSandbox) -> bytes:
        raw = sandbox.request("GET", sandbox.workspace)
        return raw[:-2] + line + b"\r\n\r\n"

    return build


UNUSUAL_HEADS = [
    Unusual("a header line without a colon", _with_line(b"X-No-Colon"), 400),
    Unusual("a space before the colon", _with_line(b"X-Space : 1"), 400),
    Unusual("Content-Length twice", _with_line(b"Content-Length: 0\r\nContent-Length: 0"), 400),
    Unusual("an obsolete folded line", _with_line(b"X-Folded: a\r\n b"), 400),
    Unusual("no Host", lambda s: s.request("GET", s.workspace).replace(b"Host:", b"X-Host:"), 400),
    Unusual(
        "HTTP/1.0",
        lambda s: s.request("GET", s.workspace).replace(b"HTTP/1.1", b"HTTP/1.0"),
        200,
    ),
    Unusual(
        "lines ending in a lone LF",
        lambda s: s.request("GET", s.workspace).replace(b"\r\n", b"\n"),
        400,
    ),
    Unusual(
        "a percent-encoded query",
        lambda s: s.request("GET", "/v1/Workspaces?FriendlyName=a%20b"),
        200,
    ),
    Unusual(
        "a percent-encoded path",
        lambda s: s.request("GET", s.workspace.replace("/Workspaces/", "/Workspace%73/")),
        200,
    ),
    Unusual("a dot segment", lambda s: s.request("GET", "/v1/Nowhere/../Workspaces"), 404),
    Unusual(
        "an unauthenticated empty segment", lambda s: request_bytes("GET", "/v1//Workspaces"), 401
    ),
    Unusual("HEAD", lambda s: s.request("HEAD", s.workspace), 200, head_request=True),
    Unusual("PUT", lambda s: s.request("PUT", s.workspace, body=b""), 405),
    Unusual("a chunked body", _chunked_workspace, 201),
    Unusual(
        "Expect: 100-continue",
        lambda s: s.request(
            "POST",
            "/v1/Workspaces",
            headers=(("Content-Type", FORM), ("Expect", "100-continue")),
            body=b"FriendlyName=Expecting",
        ),
        201,
    ),
    Unusual("a head over 8 KB", _with_line(b"X-Long: " + b"a" * (MAX_HEAD_BYTES + 10)), 400),
    Unusual(
        "more headers than the front reads",
        _with_line(b"\r\n".join(b"X-%d: %d" % (n, n) for n in range(MAX_HEADERS + 1))),
        200,
    ),
]


@pytest.mark.parametrize("case", UNUSUAL_HEADS, ids=[case.name for case in UNUSUAL_HEADS])
def test_an_unusual_head_is_handed_over_and_answered_as_aiohttp_does(
    front_sandbox: FrontSandbox, case: Unusual
) -> None:
    answer = front_sandbox.exchange(case.build(front_sandbox), head_request=case.head_request)
    assert answer.status == case.status, answer
    assert answer.from_aiohttp
    assert front_sandbox.front.handed_over == 1


def test_a_body_over_the_size_limit_is_handed_over_and_gets_413(
    front_sandbox: FrontSandbox,
) -> None:
    sandbox = front_sandbox
    body = b"FriendlyName=" + b"a" * MAX_BODY_BYTES
    raw = sandbox.request("POST", "/v1/Workspaces", headers=(("Content-Type", FORM),), body=body)
    connection, reader = sandbox.connect()
    with connection:
        sender = threading.Thread(target=_send_ignoring_reset, args=(connection, raw))
        sender.start()
        answer = reader.answer()
        sender.join(10)
    assert answer.status == 413 and answer.from_aiohttp
    assert answer.json()["code"] == 20001
    assert sandbox.front.handed_over == 1


def _send_ignoring_reset(connection: socket.socket, raw: bytes) -> None:
    try:
        connection.sendall(raw)
    except OSError:  # the server answered and closed before reading it all
        pass


TWIN_HEADERS = (("X-Twin", "1"), ("X-Twin", "2"))
"""A header name twice: the front hands the request over, aiohttp serves it as any other."""


def _answer_parts(answer: Answer) -> tuple[Any, ...]:
    names = ("Content-Type", "ETag", "Allow", "WWW-Authenticate")
    return (answer.status, answer.json(), [answer.header(name) for name in names])


@pytest.mark.parametrize(
    "method, target, headers, body, authenticated",
    [
        ("GET", "{ws}", (), None, True),
        ("GET", "/v1/Workspaces?FriendlyName=TaskRouter+Quickstart", (), None, True),
        ("GET", "{ws}/Activities?PageSize=2", (), None, True),
        ("GET", "{ws}/Tasks/{task}", (), None, True),
        ("GET", "/v1/Workspaces/WSnotthere", (), None, True),
        ("GET", "/v1/Nowhere", (), None, True),
        ("GET", "/v1/Workspaces", (), None, False),
        ("DELETE", "/v1/Workspaces", (), None, True),
        ("POST", "/v1/Workspaces?FriendlyName=x", (), b"", True),
        ("POST", "/v1/Workspaces", (("Content-Type", "text/plain"),), b"FriendlyName=x", True),
        ("GET", "{ws}", (("Host", "example.test:8080"),), None, True),
    ],
)
def test_the_front_answers_as_aiohttp_answers_the_same_request(
    front_sandbox: FrontSandbox,
    method: str,
    target: str,
    headers: tuple[tuple[str, str], ...],
    body: bytes | None,
    authenticated: bool,
) -> None:
    sandbox = front_sandbox
    created = sandbox.exchange(sandbox.create_task({"twin": True}))
    target = target.format(ws=sandbox.workspace, task=created.json()["sid"])
    host = dict(headers).pop("Host", f"127.0.0.1:{sandbox.port}")
    extra = tuple((name, value) for name, value in headers if name != "Host")
    if authenticated:
        extra = (sandbox.authorization, *extra)

    def send(twin: tuple[tuple[str, str], ...]) -> Answer:
        return sandbox.exchange(
            request_bytes(method, target, host=host, headers=(*extra, *twin), body=body)
        )

    front, aiohttp = send(()), send(TWIN_HEADERS)
    assert front.from_front and aiohttp.from_aiohttp
    assert _answer_parts(front) == _answer_parts(aiohttp)
    assert sandbox.front.handed_over == 1


@pytest.mark.parametrize(
    "end",
    [b"\n\r\n", b"\r\r\n", b"\r\n\r\r\n", b"\n\n", b"\r\n\n"],
    ids=["LF CRLF", "CR CRLF", "CRLF CR CRLF", "LF LF", "CRLF LF"],
)
def test_a_head_ending_in_a_bare_cr_or_lf_is_handed_over_at_once(
    front_sandbox: FrontSandbox, end: bytes
) -> None:
    """aiohttp answers such a head 400 as soon as it reads it; the front must not wait for a
    CRLF CRLF that the client will never send (it would hold the client until the header
    deadline, and close without an answer)."""
    sandbox = front_sandbox
    raw = sandbox.request("GET", sandbox.workspace)[:-4] + end
    answer = sandbox.exchange(raw)
    assert answer.status == 400 and answer.from_aiohttp
    assert sandbox.front.handed_over == 1


# -- guards -----------------------------------------------------------------------------------


def test_a_body_that_never_finishes_gets_408_once_the_body_deadline_passes(
    front_sandbox: FrontSandbox,
) -> None:
    sandbox = front_sandbox
    raw = sandbox.create_task({"slow": True})
    body_timeout = sandbox.guard.body_timeout
    connection, reader = sandbox.connect()
    with connection:
        connection.sendall(raw[:-5])
        sandbox.prove_progress()
        assert sandbox.sweep_later(body_timeout / 2) == 0
        assert reader.nothing_yet()
        assert sandbox.sweep_later(body_timeout + 1) >= 1
        answer = reader.answer()
        assert answer.status == 408 and answer.from_front
        assert answer.json()["code"] == 408
        assert answer.header("Connection") == "close"
        assert reader.is_closed()
    assert sandbox.front.handed_over == 0


def test_an_idle_keep_alive_connection_is_closed_after_the_header_timeout(
    front_sandbox: FrontSandbox,
) -> None:
    sandbox = front_sandbox
    connection, reader = sandbox.connect()
    with connection:
        connection.sendall(sandbox.request("GET", sandbox.workspace))
        assert reader.answer().status == 200
        assert sandbox.sweep_later(HEADER_TIMEOUT / 2) == 0
        assert reader.nothing_yet()
        assert sandbox.sweep_later(HEADER_TIMEOUT + 1) >= 1
        assert reader.is_closed()
    assert sandbox.front.handed_over == 0


def test_the_fronts_connections_count_toward_the_idle_connection_cap(
    front_sandbox: FrontSandbox,
) -> None:
    sandbox = front_sandbox
    sandbox.guard.max_connections = 3
    half_a_head = sandbox.request("GET", sandbox.workspace)[:30]
    idle = [sandbox.connect() for _ in range(3)]
    try:
        for connection, _ in idle:
            connection.sendall(half_a_head)
        answer = sandbox.exchange(sandbox.request("GET", sandbox.workspace))
        assert answer.status == 200 and answer.from_front
        (_, oldest), *others = idle
        assert oldest.is_closed()
        assert all(reader.nothing_yet() for _, reader in others)
        assert sandbox.guard.closed_over_cap == 1
    finally:
        for connection, _ in idle:
            connection.close()
    assert sandbox.front.handed_over == 0


class BufferWatch:
    """Samples, on the server's loop, what the front holds for its connections."""

    def __init__(self, sandbox: FrontSandbox) -> None:
        self.sandbox = sandbox
        self.most_waiting = 0
        """The most received bytes the front held for a connection at once."""
        self.stalled = threading.Event()
        """A connection was seen with both reading and answering paused."""
        self._task: Future[None] | None = None

    async def _watch(self) -> None:
        while True:
            for connection in list(self.sandbox.front.connections):
                self.most_waiting = max(self.most_waiting, len(connection._buffer))
                if connection._reading_paused and connection._writing_paused:
                    self.stalled.set()
            await asyncio.sleep(0.001)

    def __enter__(self) -> Self:
        self._task = asyncio.run_coroutine_threadsafe(self._watch(), self.sandbox.loop)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def test_a_client_that_pipelines_past_the_waiting_limit_before_reading_gets_every_answer(
    front_sandbox: FrontSandbox,
) -> None:
    """The client sends ~4 MB of requests and reads nothing until the front has stopped both
    answering (its answers fill the socket) and reading (more than MAX_WAITING_BYTES wait);
    then it reads, both resume, and every answer comes, in order."""
    sandbox = front_sandbox
    tasks = []
    for number in range(4):  # answers of ~5 KB: the kernel's buffers fill before the requests end
        created = sandbox.exchange(sandbox.create_task({"number": number, "pad": "p" * 4000}))
        tasks.append(created.json()["sid"])
    padding = (("X-Padding", "p" * 700),)  # requests of ~1 KB: fewer of them to send 4 MB
    requests = [
        sandbox.request("GET", f"{sandbox.workspace}/Tasks/{sid}", headers=padding) for sid in tasks
    ]
    count = (4 * 1024 * 1024) // len(requests[0])
    raw = b"".join(requests[number % len(requests)] for number in range(count))
    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    connection.connect(("127.0.0.1", sandbox.port))
    connection.settimeout(10)
    reader = AnswerReader(connection)
    with connection, BufferWatch(sandbox) as watch:
        sender = threading.Thread(target=connection.sendall, args=(raw,), daemon=True)
        sender.start()
        assert watch.stalled.wait(10), "the front never paused both reading and answering"
        sids = [reader.answer().json()["sid"] for _ in range(count)]
        sender.join(10)
        assert not sender.is_alive()
        assert reader.nothing_yet()
    assert sids == [tasks[number % len(tasks)] for number in range(count)]
    assert watch.most_waiting <= MAX_WAITING_BYTES + READ_CHUNK
    assert sandbox.front.handed_over == 0


def test_a_client_that_reads_while_it_pipelines_cannot_make_the_front_hold_more_than_the_limit(
    front_sandbox: FrontSandbox,
) -> None:
    """Answered at once (401) and read at once, requests still arrive faster than the front
    answers them: it must stop reading rather than keep them all."""
    sandbox = front_sandbox
    request = request_bytes("GET", "/v1/Workspaces", headers=(("X-Padding", "p" * 4000),))
    count = (6 * 1024 * 1024) // len(request)
    connection, reader = sandbox.connect()
    statuses: list[int] = []

    def read() -> None:
        statuses.extend(reader.answer().status for _ in range(count))

    with connection, BufferWatch(sandbox) as watch:
        reading = threading.Thread(target=read, daemon=True)
        reading.start()
        connection.sendall(request * count)
        reading.join(30)
        assert not reading.is_alive()
    assert statuses == [401] * count
    assert watch.most_waiting <= MAX_WAITING_BYTES + READ_CHUNK


# -- parse_head ------------------------------------------------------------------------------

SDK_HEAD = (
    b"POST /v1/Workspaces/WS0123456789abcdef0123456789abcdef/Tasks HTTP/1.1\r\n"
    b"Host: 127.0.0.1:4010\r\n"
    b"User-Agent: twilio-python/9.13.0 (Linux x86_64) Python/3.11.7\r\n"
    b"Accept-Encoding: gzip, deflate\r\n"
    b"Accept: application/json\r\n"
    b"Connection: keep-alive\r\n"
    b"X-Twilio-Client: python-9.13.0\r\n"
    b"Accept-Charset: utf-8\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 83\r\n"
    b"Authorization: Basic QUMxMjM6c2VjcmV0"
)


def test_parse_head_reads_an_sdk_post() -> None:
    head = parse_head(SDK_HEAD)
    assert isinstance(head, RequestHead)
    assert head.method == "POST"
    assert head.target == head.path == "/v1/Workspaces/WS0123456789abcdef0123456789abcdef/Tasks"
    assert head.query_string == ""
    assert head.host == "127.0.0.1:4010"
    assert head.content_length == 83
    assert head.close is False
    assert head.headers["content-type"] == FORM
    assert head.headers["AUTHORIZATION"] == "Basic QUMxMjM6c2VjcmV0"
    assert len(head.headers) == 10


@pytest.mark.parametrize(
    "head, expected",
    [
        (
            b"GET /v1/Workspaces?PageSize=2&Page=0 HTTP/1.1\r\nHost: h",
            ("/v1/Workspaces", "PageSize=2&Page=0"),
        ),
        (b"GET /v1 HTTP/1.1\r\nHost: h", ("/v1", "")),
        (b"GET /v1?x=1 HTTP/1.1\r\nHost: h", ("/v1", "x=1")),
        (b"DELETE /v1/Workspaces/WS1 HTTP/1.1\r\nHost: [::1]:4010", ("/v1/Workspaces/WS1", "")),
    ],
)
def test_parse_head_splits_the_target(head: bytes, expected: tuple[str, str]) -> None:
    parsed = parse_head(head)
    assert parsed is not None
    assert (parsed.path, parsed.query_string) == expected
    assert parsed.content_length == 0


@pytest.mark.parametrize(
    "connection, close",
    [("close", True), ("keep-alive", False), ("Keep-Alive, Close", True), (" close ", True)],
)
def test_parse_head_reads_connection(connection: str, close: bool) -> None:
    parsed = parse_head(b"GET /v1 HTTP/1.1\r\nHost: h\r\nConnection: " + connection.encode())
    assert parsed is not None and parsed.close is close


def test_parse_head_takes_a_body_up_to_the_limit() -> None:
    at_limit = parse_head(b"POST /v1 HTTP/1.1\r\nHost: h\r\nContent-Length: 100", 100)
    assert at_limit is not None and at_limit.content_length == 100
    assert parse_head(b"POST /v1 HTTP/1.1\r\nHost: h\r\nContent-Length: 101", 100) is None


GET = b"GET /v1/Workspaces HTTP/1.1\r\nHost: h"

NOT_SERVED = {
    "empty": b"",
    "HTTP/1.0": GET.replace(b"HTTP/1.1", b"HTTP/1.0"),
    "lowercase version": GET.replace(b"HTTP/1.1", b"http/1.1"),
    "HEAD": GET.replace(b"GET", b"HEAD"),
    "PUT": GET.replace(b"GET", b"PUT"),
    "lowercase method": GET.replace(b"GET", b"get"),
    "two spaces in the request line": GET.replace(b"GET ", b"GET  "),
    "a request line with four parts": GET.replace(b" HTTP", b" x HTTP"),
    "a control path": GET.replace(b"/v1/Workspaces", b"/sandbox/health"),
    "a path only starting like /v1": GET.replace(b"/v1/Workspaces", b"/v1x"),
    "an absolute-form target": GET.replace(b"/v1", b"http://h/v1"),
    "an asterisk target": GET.replace(b"/v1/Workspaces", b"*"),
    "percent-encoding": GET.replace(b"Workspaces", b"Work%73paces"),
    "a fragment": GET.replace(b"Workspaces", b"Workspaces#top"),
    "a dot segment": GET.replace(b"Workspaces", b"x/../Workspaces"),
    "a single dot segment": GET.replace(b"Workspaces", b"./Workspaces"),
    "an empty segment": GET.replace(b"Workspaces", b"/Workspaces"),
    "a space in the target": GET.replace(b"Workspaces", b"Work spaces"),
    "a non-ASCII target": GET.replace(b"Workspaces", b"Workspac\xc3\xa9s"),
    "no Host": b"GET /v1/Workspaces HTTP/1.1\r\nX: y",
    "an empty Host": b"GET /v1/Workspaces HTTP/1.1\r\nHost: ",
    "a Host with a user": b"GET /v1/Workspaces HTTP/1.1\r\nHost: u@h",
    "a Host with a space": b"GET /v1/Workspaces HTTP/1.1\r\nHost: h h",
    "a header without a colon": GET + b"\r\nX-No-Colon",
    "a space before the colon": GET + b"\r\nX-Space : 1",
    "an empty header name": GET + b"\r\n: value",
    "a folded line": GET + b"\r\nX-A: a\r\n b",
    "a header named twice": GET + b"\r\nX-A: 1\r\nX-A: 2",
    "Host twice in other cases": GET + b"\r\nhost: h",
    "a control byte in a value": GET + b"\r\nX-A: a\x00b",
    "a bare LF in a value": GET + b"\r\nX-A: a\nb",
    "a bare CR in a value": GET + b"\r\nX-A: a\rb",
    "a non-ASCII value": GET + b"\r\nX-A: caf\xc3\xa9",
    "lines ending in a bare LF": GET.replace(b"\r\n", b"\n"),
    "an empty line": GET + b"\r\n\r\nX-A: 1",
    "Transfer-Encoding": GET + b"\r\nTransfer-Encoding: chunked",
    "Transfer-Encoding in lowercase": GET + b"\r\ntransfer-encoding: identity",
    "Expect": GET + b"\r\nExpect: 100-continue",
    "Upgrade": GET + b"\r\nUpgrade: websocket",
    "a negative Content-Length": GET + b"\r\nContent-Length: -1",
    "a signed Content-Length": GET + b"\r\nContent-Length: +1",
    "a Content-Length list": GET + b"\r\nContent-Length: 1, 1",
    "an empty Content-Length": GET + b"\r\nContent-Length: ",
    "a hexadecimal Content-Length": GET + b"\r\nContent-Length: 0x10",
    "a ten-digit Content-Length": GET + b"\r\nContent-Length: 0000000001",
    "a Content-Length over the limit": GET + b"\r\nContent-Length: %d" % (MAX_BODY_BYTES + 1),
    "Connection: upgrade": GET + b"\r\nConnection: upgrade",
    "an empty Connection": GET + b"\r\nConnection: ",
    "too many headers": GET + b"".join(b"\r\nX-%d: 1" % n for n in range(MAX_HEADERS)),
}


@pytest.mark.parametrize("head", NOT_SERVED.values(), ids=NOT_SERVED.keys())
def test_parse_head_refuses_what_the_front_does_not_serve(head: bytes) -> None:
    assert parse_head(head) is None


def test_parse_head_takes_as_many_headers_as_it_reads() -> None:
    head = GET + b"".join(b"\r\nX-%d: 1" % n for n in range(MAX_HEADERS - 1))
    parsed = parse_head(head)
    assert parsed is not None and len(parsed.headers) == MAX_HEADERS


HEAD_PIECES = st.sampled_from(
    b"GET POST DELETE HEAD / /v1 ? # % . .. HTTP/1.1 HTTP/1.0 : Host Content-Length Connection"
    b" close Transfer-Encoding 0 9 99999999 a Z".split()
    + [b" ", b"\r\n", b"\n", b"\r", b"\t", b"\x00", b"\xff"]
)


@st.composite
def heads(draw: st.DrawFn) -> bytes:
    """Arbitrary bytes, and heads put together from the pieces the parser looks at."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    target = b"/v1" + b"".join(draw(st.lists(HEAD_PIECES, max_size=6)))
    lines = [
        draw(st.sampled_from([b"GET", b"POST", b"DELETE", b"PUT"])) + b" " + target + b" HTTP/1.1"
    ]
    for _ in range(draw(st.integers(0, 5))):
        lines.append(b"".join(draw(st.lists(HEAD_PIECES | st.binary(max_size=4), max_size=6))))
    if draw(st.booleans()):
        lines.append(b"Host: " + draw(st.sampled_from([b"h", b"127.0.0.1:1", b"", b"a b"])))
    if draw(st.booleans()):
        lines.append(b"Content-Length: " + draw(st.sampled_from([b"0", b"5", b"2097153", b"x"])))
    return b"\r\n".join(draw(st.permutations(lines)) if draw(st.booleans()) else lines)


@settings(max_examples=500, deadline=None)
@given(head=heads(), max_body_bytes=st.integers(0, MAX_BODY_BYTES))
def test_parse_head_never_raises_and_serves_only_what_it_may(
    head: bytes, max_body_bytes: int
) -> None:
    parsed = parse_head(head, max_body_bytes)
    if parsed is None:
        return
    assert isinstance(parsed, RequestHead)
    assert parsed.method in ("GET", "POST", "DELETE")
    assert parsed.path.startswith("/v1") and parsed.path == parsed.target.partition("?")[0]
    assert not any(bad in parsed.target for bad in ("%", "#", "//", "/.", " "))
    assert 0 <= parsed.content_length <= max_body_bytes
    assert parsed.host and parsed.headers["Host"] == parsed.host
    names = [name.lower() for name in parsed.headers]
    assert len(names) == len(set(names)) <= MAX_HEADERS
    assert not {"transfer-encoding", "expect", "upgrade"} & set(names)
    assert head.split(b"\r\n", 1)[0].endswith(b" HTTP/1.1")


# -- raw-bytes robustness -------------------------------------------------------------------

INSERTIONS = [b"\r", b"\n", b"\r\n", b" ", b"%", b"\x00", b":", b"\t", b"\xff", b"\r\n\r\n"]


@st.composite
def mutated(draw: st.DrawFn, bases: list[bytes]) -> bytes:
    """A valid request with one to three of: a byte changed, a cut, an insertion, a byte
    removed, a line repeated."""
    raw = bytearray(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        kind = draw(st.sampled_from(["change", "cut", "insert", "remove", "repeat"]))
        if kind == "change" and raw:
            raw[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del raw[at:]
        elif kind == "insert":
            raw[at:at] = draw(st.sampled_from(INSERTIONS))
        elif kind == "remove" and raw:
            del raw[at]
        elif kind == "repeat":
            start = raw.rfind(b"\n", 0, at) + 1
            end = raw.find(b"\n", at)
            if end >= 0:
                raw[end + 1 : end + 1] = raw[start : end + 1]
    return bytes(raw)


def sdk_like_requests(sandbox: FrontSandbox) -> list[bytes]:
    """What the twilio SDK sends, as bytes: a fetch and a Task create."""
    sdk_headers = (
        ("User-Agent", "twilio-python/9.13.0 (Linux x86_64) Python/3.11.7"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Accept", "application/json"),
        ("Connection", "keep-alive"),
        ("X-Twilio-Client", "python-9.13.0"),
        ("Accept-Charset", "utf-8"),
    )
    return [
        sandbox.request("GET", sandbox.workspace, headers=sdk_headers),
        sandbox.create_task({"fuzz": True}, *sdk_headers),
    ]


def test_mutated_sdk_requests_never_get_a_server_error_and_the_sandbox_goes_on(
    front_sandbox: FrontSandbox, sdk_client: Any
) -> None:
    sandbox = front_sandbox
    bases = sdk_like_requests(sandbox)
    seen: list[int] = []

    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(raw=mutated(bases))
    def answered_below_500(raw: bytes) -> None:
        connection, reader = sandbox.connect()
        with connection:
            connection.settimeout(5)
            try:
                connection.sendall(raw)
                connection.shutdown(socket.SHUT_WR)  # no more: the server sees the end
            except OSError:  # it answered and closed before reading everything
                pass
            head_request = raw.startswith(b"HEAD ")
            while (answer := reader.next(head_request=head_request)) is not None:
                assert answer.status < 500, (raw, answer)
                seen.append(answer.status)

    answered_below_500()
    assert seen, "no mutated request got an answer"
    workspace = sdk_client.taskrouter.v1.workspaces(sandbox.handle.workspace_sid).fetch()
    assert workspace.friendly_name == "TaskRouter Quickstart"

    def left_open() -> tuple[int, int]:
        return len(sandbox.front.connections), sandbox.guard.open_connections

    deadline = time.monotonic() + 5
    while sandbox.on_loop(left_open) != (1, 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.on_loop(left_open) == (1, 1)  # the SDK's connection, and none leaked


def test_a_client_that_leaves_mid_body_on_a_handed_over_request_logs_no_error(
    front_sandbox: FrontSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="taskrouter_cli.sandbox.api")
    chunked = front_sandbox.request(
        "POST",
        "/v1/Workspaces",
        headers=(("Content-Type", FORM), ("Transfer-Encoding", "chunked")),
    )
    connection, _reader = front_sandbox.connect()
    connection.sendall(chunked + b"10\r\nFriendlyName=ab")  # handed over; the body unfinished
    front_sandbox.prove_progress()
    connection.close()
    deadline = time.monotonic() + 5
    while front_sandbox.guard.open_connections and time.monotonic() < deadline:
        front_sandbox.prove_progress()  # until the server has seen the connection go
    front_sandbox.prove_progress()
    assert front_sandbox.front.handed_over == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_request_handed_over_before_aiohttp_is_set_up_is_answered_once_it_is(
    fake_clock: Any,
) -> None:
    """While the sandbox starts, the front listens before aiohttp's app exists: it answers /v1
    at once, and a request for aiohttp waits, bytes kept, until the app is ready."""
    from aiohttp import web

    from taskrouter_cli.sandbox.api.app import create_app
    from taskrouter_cli.sandbox.api.v1 import V1Api
    from taskrouter_cli.sandbox.group_commit import GroupCommit
    from tests.fixtures.sandbox import make_service

    service = make_service(fake_clock)

    async def scenario() -> tuple[bytes, bytes, bytes]:
        loop = asyncio.get_running_loop()
        api, group = V1Api(service), GroupCommit(service)
        guard = ConnectionGuard(max_connections=16)
        guard.start()
        front = HttpFront(api, group, guard, None)
        listener = await loop.create_server(front, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        control = b"GET /sandbox/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        api_request = b"GET /v1/Workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        runner = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(control)
            other_reader, other_writer = await asyncio.open_connection("127.0.0.1", port)
            other_writer.write(api_request)
            answered_at_once = await asyncio.wait_for(other_reader.readuntil(b"\r\n"), 5)
            assert front.awaiting_fallback, "the control request was not waiting"
            waited = b""
            with contextlib.suppress(asyncio.TimeoutError):  # nothing is there to answer yet
                waited = await asyncio.wait_for(reader.read(1), 0.05)
            app = create_app(service, api=api, group=group)
            runner = web.AppRunner(app, handle_signals=False)
            await runner.setup()
            assert runner.server is not None
            guard.install(runner.server)
            front.fallback_ready(runner.server)
            answered_later = await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
            writer.close()
            other_writer.close()
            return answered_at_once, waited, answered_later
        finally:
            listener.close()
            await front.shutdown(1)
            await guard.close()
            if runner is not None:
                await runner.cleanup()

    at_once, waited, later = asyncio.run(scenario())
    service.close()
    assert at_once.startswith(b"HTTP/1.1 401")  # /v1 from the front, before aiohttp
    assert waited == b""
    assert later.startswith(b"HTTP/1.1 200")  # the control, once aiohttp was there
