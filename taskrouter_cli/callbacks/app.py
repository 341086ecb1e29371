"""The assignment-callback server: an aiohttp.web handler, and :class:`CallbackServer` to run it.

Routes::

    POST /assignment   TaskRouter's assignment callback: check the signature, answer the reply
    POST /events       Workspace event callbacks: check the signature, log, answer 204
    GET  /healthz      {"status": "ok", ...}

Every answer is JSON. Client mistakes get 4xx with ``{"error", "status", "hint"}`` and never a
500: bodies over 64 KiB → 413, a body that is not a UTF-8 form → 400 (415 for another content
type), missing callback parameters → 400, a bad or missing signature → 403, another method → 405,
another path → 404. An unexpected fault in our own code answers 500 and is logged; the server
keeps serving.

Signatures are checked against the URL TaskRouter called: ``<public base><path and query>``,
where the public base is the tunnel or ``--public-url`` (requests through a tunnel carry the
public Host header, but the configured URL is what counts), else ``http://<host>:<port>``.

Replays: an identical request (same URL, parameters and signature) seen again within
``replay_window`` seconds (and among the last ``replay_memory`` callbacks, which bounds the memory
it takes) is marked ``replay`` in the log and answered like the first one --
answering twice is harmless, since the reply goes back to whoever sent the request and not to
TaskRouter, and TaskRouter may legitimately retry. With ``reject_replays`` it answers 409
instead. A replay with any parameter changed fails the signature (403).

Usage (tests, the tutorial, ``trcli serve``)::

    server = CallbackServer(ServerConfig(auth_token=token, port=0), recorder=recorder)
    server.start()                      # returns once listening; raises NetworkError otherwise
    server.assignment_url               # 'http://127.0.0.1:54321/assignment'
    server.stop()
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import threading
import time
from _codecs import escape_decode
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from multidict import istr

from taskrouter_cli.callbacks.dealer import ConnectionDealer, listening_sockets, receive_connections
from taskrouter_cli.callbacks.instructions import DEFER, Reply
from taskrouter_cli.callbacks.log import CallbackRecord, CallbackRecorder, now_text
from taskrouter_cli.errors import NetworkError, UsageError
from taskrouter_cli.guards.connections import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    ConnectionGuard,
    connection_cap,
    listen_backlog,
    raise_file_limit,
)
from taskrouter_cli.guards.json_depth import MAX_JSON_DEPTH, too_deep

if TYPE_CHECKING:
    from aiohttp import web

    from taskrouter_cli.callbacks.console import Console
    from taskrouter_cli.callbacks.forward import Forwarded, Forwarder
    from taskrouter_cli.callbacks.rules import RuleSet

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
BACKLOG = 512
MAX_FIELDS = 1000
DEFAULT_REPLAY_WINDOW = 300.0
REPLAY_MEMORY = 20_000
"""Signatures remembered for replay detection at most (~4 MB): past it the oldest go first."""
REQUIRED_ASSIGNMENT_PARAMS = ("TaskSid", "ReservationSid", "WorkerSid")
RECORDED_APART = frozenset(
    (
        "TaskSid",
        "ReservationSid",
        "WorkerSid",
        "WorkerName",
        "WorkflowSid",
        "TaskQueueSid",
        "WorkspaceSid",
        "TaskAttributes",
        "WorkerAttributes",
    )
)
"""Assignment parameters the log record keeps in fields of their own (parsed, for JSON)."""
FORM_TYPE = "application/x-www-form-urlencoded"
CONTENT_TYPE = istr("Content-Type")
SIGNATURE_HEADER = istr("X-Twilio-Signature")
"""Header names as ``istr``: a header lookup does not fold the name's case again."""
CALLBACK_KINDS = {"/assignment": "assignment", "/events": "event"}
JSON_HEADERS = {"Content-Type": "application/json"}
_DECODER = json.JSONDecoder()


@dataclass
class ServerConfig:
    """What the server needs; everything has a default suited to tests."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    """Base URL TaskRouter calls (tunnel or --public-url), without a trailing path."""
    auth_token: str | None = None
    """Token signatures are checked with; None turns validation off."""
    validate: bool = True
    reply: Reply = DEFER
    rules: RuleSet | None = None
    reject_replays: bool = False
    replay_window: float = DEFAULT_REPLAY_WINDOW
    replay_memory: int = REPLAY_MEMORY
    """Replays are detected within ``replay_window`` seconds and this many newer callbacks."""
    clock: Callable[[], float] = field(default=time.monotonic)
    """Monotonic seconds, for the replay window (tests pass a fake)."""
    max_body_bytes: int = MAX_BODY_BYTES
    header_timeout: float = HEADER_TIMEOUT
    """Seconds a connection may take to send complete headers, or stay idle between requests."""
    body_timeout: float = BODY_TIMEOUT
    """Seconds a request may take to send its body once its headers are in."""
    forwarder: Forwarder | None = None
    """``--forward-to``: verified assignment callbacks are answered by this handler."""
    deal_connections: bool = False
    """``serve --workers``: accept every connection here and deal them in turn to this process
    and the workers (see callbacks/dealer.py)."""
    console: Console | None = None
    """``--ui``: the agent console answers every path but /assignment and /events."""


class _Problem(Exception):
    """A client error: answered with ``status`` and a JSON body, and logged."""

    def __init__(self, status: int, error: str, hint: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.hint = hint


def _json_attributes(raw: str | None, name: str) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if too_deep(raw):
        raise _Problem(400, f"{name} nests deeper than {MAX_JSON_DEPTH} levels")
    value: Any = None
    try:  # json.loads without its two whitespace scans (attributes rarely have outer spaces)
        value, end = _DECODER.raw_decode(raw)
    except ValueError:
        end = -1
    if end != len(raw):  # outer whitespace, trailing garbage or not JSON: json.loads decides
        try:
            value = json.loads(raw)
        except ValueError:
            raise _Problem(400, f"{name} is not valid JSON") from None
    if not isinstance(value, dict):
        raise _Problem(400, f"{name} must be a JSON object")
    return value


def parse_form(text: str) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` text as (name, value) pairs, strictly.

    Like ``urllib.parse.parse_qsl(strict_parsing=True)`` but about five times faster on a
    callback: most names and values need no unquoting, and those that do are unquoted as bytes
    in one call (``unquote_plus`` on text splits the string with a regular expression first).
    Raises ValueError (or UnicodeDecodeError) on a field without ``=``, bad UTF-8, or more than
    MAX_FIELDS fields.
    """
    pairs: list[tuple[str, str]] = []
    for part in text.split("&"):
        if not part:
            continue
        name, separator, value = part.partition("=")
        if not separator or not name:
            raise ValueError(f"bad form field {part[:40]!r}")
        if "%" in part or "+" in part:
            name = _unquote_plus(name)
            value = _unquote_plus(value)
        pairs.append((name, value))
    if len(pairs) > MAX_FIELDS:
        raise ValueError(f"more than {MAX_FIELDS} form fields")
    return pairs


def _unquote_plus(text: str) -> str:
    """``unquote_plus(text, errors="strict")``, faster: '+' is a space, %XX a UTF-8 byte.

    The %XX escapes are decoded in C, as ``\\xXX`` escapes of ``escape_decode`` (backslashes
    doubled first, so nothing else is an escape); a ``%`` not followed by two hex digits, which
    ``unquote`` keeps as it is, takes the slower ``unquote_to_bytes``. Half the cost of a form.
    """
    if "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    try:
        raw = escape_decode(text.replace("\\", "\\\\").replace("%", "\\x"))[0]
    except ValueError:
        raw = unquote_to_bytes(text)
    return raw.decode("utf-8")


def _clip(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters (outside data in a log line stays bounded)."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _error_body(status: int, error: str, hint: str | None) -> bytes:
    return json.dumps({"error": error, "status": status, "hint": hint}).encode("utf-8")


class CallbackHandler:
    """Turns one HTTP request into a reply and a :class:`CallbackRecord` (no aiohttp types kept)."""

    def __init__(
        self,
        config: ServerConfig,
        recorder: CallbackRecorder | None,
        local_base: Callable[[], str],
    ) -> None:
        self.config = config
        self.recorder = recorder
        self._local_base = local_base
        self._base: tuple[str | None, str] | None = None
        """(config.public_url, the base it gives), so a request does not rebuild the base."""
        self._checker: Any = None
        if config.validate and config.auth_token:
            from taskrouter_cli.callbacks.signature import SignatureChecker

            self._checker = SignatureChecker(config.auth_token)
        from aiohttp import web
        from multidict import MultiDict

        self._response = web.Response
        self._multidict = MultiDict
        self._seen: dict[str, float] = {}
        """Signature -> when first seen, for the replay check."""
        self._seen_order: deque[tuple[float, str]] = deque()
        """The same signatures, oldest first: what to forget. Not the dict's own order: a dict
        used as a queue finds its oldest key by skipping the slots of every key deleted before
        it (~10 µs a callback once 20,000 are remembered); an OrderedDict finds it at once but
        costs ~1 µs a callback, this ~0.3 µs."""
        self._seen_lock = threading.Lock()
        self.answered = 0

    @property
    def validating(self) -> bool:
        return self._checker is not None

    def public_base(self) -> str:
        public_url = self.config.public_url
        cached = self._base
        if cached is not None and cached[0] is public_url:
            return cached[1]
        base = (public_url or self._local_base()).rstrip("/")
        self._base = (public_url, base)
        return base

    def forget_base(self) -> None:
        """The listening port changed: compute the public base again (see :meth:`public_base`)."""
        self._base = None

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        started = time.perf_counter()
        raw_path = request.raw_path
        kind = CALLBACK_KINDS.get(raw_path)
        # A target of exactly /assignment is its own decoded path: not decoded again (yarl).
        path = raw_path if kind is not None else request.path
        if kind is None:
            kind = CALLBACK_KINDS.get(path)
        body = b""
        pairs: list[tuple[str, str]] = []
        forwarded: Forwarded | None = None
        console = self.config.console
        if console is not None and kind is None:
            answer = await console.handle(request)
            if answer is not None:
                return answer
        try:
            if path == "/healthz":
                if request.method not in ("GET", "HEAD"):
                    raise _Problem(405, f"{request.method} is not allowed on /healthz", "Use GET")
                return self._health()
            if not raw_path.startswith("/"):
                raise _Problem(
                    400,
                    "The request target must be a path (origin form), not an absolute URL",
                    "TaskRouter sends POST /assignment; this looks like a proxy request",
                )
            if kind is None:
                raise _Problem(
                    404,
                    f"No route {path}",
                    "trcli serve answers POST /assignment, POST /events and GET /healthz",
                )
            if request.method != "POST":
                raise _Problem(
                    405,
                    f"{request.method} is not allowed on {path}",
                    "TaskRouter sends callbacks with POST",
                )
            pairs = await self._read_form(request)
            # path_qs would build the raw target again from the parsed URL
            target = raw_path if raw_path == path else request.path_qs
            record, body = self._process(kind, request, pairs, target)
            if kind == "assignment" and self.config.forwarder is not None:
                forwarded = await self.config.forwarder.forward(pairs, record)
        except _Problem as problem:
            if kind is None and problem.status in (404, 405):
                # Not a callback: answer, but keep stray scans out of the callback log.
                return self._problem_response(problem)
            record = self._failure_record(kind or "unknown", request, problem, pairs)
        except Exception as exc:  # never let a bug take the server down
            logger.exception("trcli serve: unexpected error answering %s", request.path)
            fault = _Problem(500, f"internal error ({exc.__class__.__name__}: {exc})")
            record = self._failure_record(kind or "unknown", request, fault, pairs)
            record.hint = "This is a bug in trcli; please report it with the callback log line"
        record.latency_ms = round((time.perf_counter() - started) * 1000.0, 3)
        self.answered += 1
        if self.recorder is not None:
            self.recorder.record(record)
        if console is not None:
            console.observe(record)
        # Let the loop go round once before answering: under load, every request read in this
        # loop turn is then handled before any answer is written, and the answers go out
        # together. The client finds several answers per wake-up and this server several
        # requests per read of its sockets, instead of one each, and the two stop taking the
        # CPU from each other at every answer (2 cores, 16 connections: 10-25% less CPU a
        # callback; docs/benchmarks.md). An idle server's answer waits one pass of the loop.
        await asyncio.sleep(0)
        if forwarded is not None:
            headers = {"Content-Type": forwarded.content_type} if forwarded.content_type else None
            return self._response(status=forwarded.status, body=forwarded.body, headers=headers)
        if record.status >= 400:
            # A 500's details stay in the log: the caller learns nothing of our internals.
            error = "internal error" if record.status >= 500 else record.error or ""
            return self._response(
                status=record.status,
                body=_error_body(record.status, error, record.hint),
                headers=JSON_HEADERS,
            )
        if kind == "event":
            return self._response(status=204, headers=JSON_HEADERS)
        return self._response(body=body, headers=JSON_HEADERS)

    # -- steps --------------------------------------------------------------------------------

    def _health(self) -> web.Response:
        body = {
            "status": "ok",
            "assignment_url": self.public_base() + "/assignment",
            "events_url": self.public_base() + "/events",
            "validation": self.validating,
            "instruction": self.config.reply.instruction if self.config.rules is None else "rules",
            "answered": self.answered,
        }
        return self._response(body=json.dumps(body).encode(), headers=JSON_HEADERS)

    def _problem_response(self, problem: _Problem) -> web.Response:
        return self._response(
            status=problem.status,
            body=_error_body(problem.status, problem.error, problem.hint),
            headers=JSON_HEADERS,
        )

    async def _read_form(self, request: web.BaseRequest) -> list[tuple[str, str]]:
        limit = self.config.max_body_bytes
        length = request.content_length
        if length is not None and length > limit:
            raise _Problem(
                413,
                f"Body of {length} bytes is over the {limit // 1024} KiB limit",
                "TaskRouter callbacks are small; check what is sending this",
            )
        # The header as sent is enough for the usual case (parsing it costs ~2 µs a request).
        content_type = request.headers.get(CONTENT_TYPE)
        if content_type != FORM_TYPE:
            content_type = request.content_type
        if content_type not in (FORM_TYPE, "application/octet-stream") and request.body_exists:
            raise _Problem(
                415,
                f"Content-Type {content_type} is not supported",
                f"TaskRouter sends callbacks as {FORM_TYPE}",
            )
        content = request.content
        if content.is_eof():  # the usual case: all there already (a callback fits one packet)
            body = content.read_nowait()
            if length is not None and len(body) != length:
                raise _Problem(400, "Body shorter than its Content-Length")
            if len(body) > limit:
                raise _Problem(413, f"Body is over the {limit // 1024} KiB limit")
        else:  # still arriving: a slow client may not hold the connection forever
            if length is not None:
                reading = content.readexactly(length)
            else:
                reading = self._read_chunked(request, limit)
            try:
                body = await asyncio.wait_for(reading, self.config.body_timeout)
            except asyncio.IncompleteReadError:
                raise _Problem(400, "Body shorter than its Content-Length") from None
            except asyncio.TimeoutError:
                raise _Problem(
                    408, f"Body not received within {self.config.body_timeout:g} s"
                ) from None
        if not body:
            raise _Problem(400, "Empty body", "A callback carries its parameters as a form body")
        try:
            text = body.decode("utf-8")
            return parse_form(text)
        except (UnicodeDecodeError, ValueError) as exc:
            raise _Problem(400, f"Malformed form body ({exc.__class__.__name__})") from None

    @staticmethod
    async def _read_chunked(request: web.BaseRequest, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:  # read() returns what has arrived so far: loop until the end of the body
            chunk = await request.content.read(limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise _Problem(413, f"Body is over the {limit // 1024} KiB limit")
        return b"".join(chunks)

    def _process(
        self, kind: str, request: web.BaseRequest, pairs: list[tuple[str, str]], target: str
    ) -> tuple[CallbackRecord, bytes]:
        """The record of a well-formed callback and the reply body (raises _Problem)."""
        # The SDK asks the parameters for each name's values with getall, which a MultiDict
        # answers in C (a dict subclass answering it in Python costs more in a server).
        params: Mapping[str, str] = self._multidict(pairs)
        flat: dict[str, Any] = dict(pairs)
        if len(flat) != len(pairs):  # a repeated name: keep every value, as a list
            flat = {}
            for key, value in pairs:
                if key in flat:
                    previous = flat[key]
                    flat[key] = (
                        [*previous, value] if isinstance(previous, list) else [previous, value]
                    )
                else:
                    flat[key] = value
        signature_state, replay = self._check_signature(request, params)
        record = CallbackRecord(
            time=now_text(),
            kind=kind,
            path=target,
            status=200,
            signature=signature_state,
            task_sid=params.get("TaskSid"),
            reservation_sid=params.get("ReservationSid"),
            worker_sid=params.get("WorkerSid"),
            worker_name=params.get("WorkerName"),
            workflow_sid=params.get("WorkflowSid"),
            task_queue_sid=params.get("TaskQueueSid"),
            workspace_sid=params.get("WorkspaceSid"),
            event_type=params.get("EventType"),
            replay=replay,
            remote=request.remote,
        )
        if kind == "event":
            record.params = flat
            record.status = 204
            if "TaskAttributes" in params:
                raw_attributes = params["TaskAttributes"]
                record.task_attributes = _json_attributes(raw_attributes, "TaskAttributes")
            return record, b""
        missing = [name for name in REQUIRED_ASSIGNMENT_PARAMS if not params.get(name)]
        if missing:
            raise _Problem(
                400,
                f"Missing callback parameter(s): {', '.join(missing)}",
                "This is not a TaskRouter assignment callback",
            )
        task_attributes = _json_attributes(params.get("TaskAttributes"), "TaskAttributes")
        worker_attributes = _json_attributes(params.get("WorkerAttributes"), "WorkerAttributes")
        record.task_attributes = task_attributes
        record.worker_attributes = worker_attributes
        # The parameters kept in fields of their own are not repeated in params.
        record.params = {key: value for key, value in flat.items() if key not in RECORDED_APART}
        reply, rule = self._choose(task_attributes, worker_attributes, params)
        record.instruction = reply.instruction
        record.reply = reply.document
        record.rule = rule
        if replay:  # the first one is logged in full; a replay flood must not fill the disk
            record.params, record.task_attributes, record.worker_attributes = {}, None, None
        return record, reply.body

    def _choose(
        self,
        task_attributes: dict[str, Any],
        worker_attributes: dict[str, Any],
        params: Mapping[str, str],
    ) -> tuple[Reply, str | None]:
        rules = self.config.rules
        if rules is None:
            return self.config.reply, None
        from taskrouter_cli.callbacks.rules import evaluation_context

        context = evaluation_context(task_attributes, worker_attributes, params)
        return rules.choose(context)

    def _check_signature(self, request: web.BaseRequest, params: Any) -> tuple[str, bool]:
        if self._checker is None:
            return "off", False
        signature = request.headers.get(SIGNATURE_HEADER)
        expected_url = self.public_base() + request.raw_path
        if not signature:
            raise _Problem(
                403,
                "Missing X-Twilio-Signature header",
                "Only TaskRouter's signed callbacks are answered; if a proxy strips headers, "
                "fix it, or start with --no-validate for local experiments",
            )
        if not signature.isascii():  # a real signature is base64
            raise _Problem(403, "Invalid X-Twilio-Signature", "The signature is not base64 text")
        if not self._checker.check(expected_url, params, signature):
            raise _Problem(403, "Invalid X-Twilio-Signature", self._mismatch_hint(request, params))
        return "valid", self._is_replay(signature)

    def _mismatch_hint(self, request: web.BaseRequest, params: Any) -> str:
        from taskrouter_cli.callbacks.signature import candidate_urls

        signature = request.headers.get("X-Twilio-Signature", "")
        expected_url = self.public_base() + request.raw_path
        local = self._local_base()
        bases = [local, local.replace("127.0.0.1", "localhost")]
        if self.config.public_url:
            bases.append(self.config.public_url)
        others = candidate_urls(
            request.raw_path,
            host_header=request.headers.get("Host"),
            forwarded_proto=request.headers.get("X-Forwarded-Proto"),
            local_bases=bases,
        )
        matched = self._checker.explain(expected_url, params, signature, others)
        if matched is not None:
            base = matched[: len(matched) - len(request.raw_path)] or matched
            return (
                f"The signature matches {matched}, but this server expects {expected_url}. "
                f"Point the Workflow at {expected_url} (trcli serve --point WORKFLOW does it), "
                f"or restart with --public-url {base} if that is the URL TaskRouter calls"
            )
        account = _clip(params.get("AccountSid"), 64)
        whose = f" of account {account}" if account else ""
        return (
            f"The signature matches no URL this server is reachable at (expected {expected_url}): "
            f"it was made with another auth token or the parameters were changed. Check that "
            f"TWILIO_AUTH_TOKEN is the auth token{whose}"
        )

    def _is_replay(self, signature: str) -> bool:
        now = self.config.clock()
        window = self.config.replay_window
        seen, order = self._seen, self._seen_order
        with self._seen_lock:
            while order:
                seen_at, oldest = order[0]
                if now - seen_at <= window and len(order) < self.config.replay_memory:
                    break
                order.popleft()
                del seen[oldest]
            if signature in seen:
                if self.config.reject_replays:
                    raise _Problem(
                        409,
                        "Replayed callback: the same signed request was answered "
                        f"{now - seen[signature]:.0f} s ago",
                        "Replays are refused because trcli serve runs with --reject-replays",
                    )
                return True
            seen[signature] = now
            order.append((now, signature))
            return False

    def _failure_record(
        self,
        kind: str,
        request: web.BaseRequest,
        problem: _Problem,
        pairs: list[tuple[str, str]],
    ) -> CallbackRecord:
        """The log record of a refused request: one compact line, never its body (SIDs as
        claimed by the request, if any, and every text clipped: it is the sender's)."""
        claimed = dict(pairs)
        signature = "-"
        if problem.status == 403:
            signature = "missing" if problem.error.startswith("Missing") else "invalid"
        return CallbackRecord(
            time=now_text(),
            kind=kind,
            path=request.path_qs[:200],
            status=problem.status,
            signature=signature,
            error=_clip(problem.error, 300),
            hint=_clip(problem.hint, 600),
            remote=request.remote,
            task_sid=_clip(claimed.get("TaskSid"), 64),
            reservation_sid=_clip(claimed.get("ReservationSid"), 64),
            worker_sid=_clip(claimed.get("WorkerSid"), 64),
            event_type=_clip(claimed.get("EventType"), 64),
        )


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop, where it is installed (a dependency, but for Windows), else asyncio's.

    The same aiohttp server on uvloop's loop and transports (C, over libuv) costs ~5 µs less CPU
    a callback (measured side by side, docs/benchmarks.md).
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class CallbackServer:
    """Runs the app on its own event loop in a background thread.

    ``start()`` returns once the socket listens (``port=0`` picks a free port; see ``.port``)
    and raises :class:`NetworkError` when it cannot bind. ``stop()`` closes it and joins.
    """

    def __init__(
        self,
        config: ServerConfig,
        recorder: CallbackRecorder | None = None,
        accepted_from: socket.socket | None = None,
    ) -> None:
        """``accepted_from``: a ``serve --workers`` worker listens on nothing and serves the
        connections the serve process deals it down this socket (see callbacks/dealer.py)."""
        self.config = config
        self.recorder = recorder
        self.handler = CallbackHandler(config, recorder, self.local_base)
        self._accepted_from = accepted_from
        self._dealer: ConnectionDealer | None = None
        self._adopting: set[asyncio.Future[Any]] = set()
        self.port: int = config.port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.guard: ConnectionGuard | None = None
        """Slow-client timeouts and the connection cap (see guards/connections.py)."""

    # -- URLs ---------------------------------------------------------------------------------

    def local_base(self) -> str:
        host = self.config.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def public_base(self) -> str:
        return self.handler.public_base()

    @property
    def assignment_url(self) -> str:
        return self.public_base + "/assignment"

    @property
    def events_url(self) -> str:
        return self.public_base + "/events"

    def set_public_url(self, url: str | None) -> None:
        """Change the URL signatures are checked against (e.g. once a tunnel is open)."""
        self.config.public_url = url.rstrip("/") if url else None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        if self.recorder is not None:
            self.recorder.start()
        self._thread = threading.Thread(target=self._run, name="trcli-serve", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise NetworkError(f"The callback server did not start within {timeout:.0f} s")
        if self._error is not None:
            self._thread.join(timeout)
            raise self._describe_bind_error(self._error)
        # What is loaded by now (twilio, rich, aiohttp...) lives as long as the process: keep it
        # out of the collector's full passes, which otherwise stall every request 10-40 ms.
        gc.freeze()

    def _describe_bind_error(self, error: BaseException) -> NetworkError | UsageError:
        where = f"{self.config.host}:{self.config.port}"
        if isinstance(error, OSError) and error.errno in (98, 48, 10048):
            return UsageError(
                f"Port {self.config.port} on {self.config.host} is already in use",
                "Stop the other server or pick another port with --port",
            )
        if isinstance(error, OSError) and error.errno in (99, 49, -2, -3, -5, 11001):
            return UsageError(
                f"Cannot listen on {where}: no such local address",
                "Use --host 127.0.0.1 (or 0.0.0.0 for every interface)",
            )
        return NetworkError(f"Cannot listen on {where}: {error}")

    def _run(self) -> None:
        loop = _new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open())
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc
            if self.guard is not None:  # else "Task was destroyed but it is pending!" on stderr
                loop.run_until_complete(self.guard.close())
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._close())
            loop.close()

    async def _open(self) -> None:
        from aiohttp import web

        # aiohttp's low-level server: the handler sees every request itself (one route table
        # would only add work), which saves ~10 µs a request over web.Application.
        low_level = web.Server(self.handler.handle)
        self._runner = web.ServerRunner(low_level, access_log=None, handle_signals=False)
        await self._runner.setup()
        file_limit = raise_file_limit()
        backlog = listen_backlog(file_limit, BACKLOG)
        self.guard = ConnectionGuard(
            max_connections=connection_cap(file_limit, backlog),
            header_timeout=self.config.header_timeout,
            body_timeout=self.config.body_timeout,
        )
        self.guard.install(low_level)
        loop = asyncio.get_running_loop()

        def serve_here(connection: socket.socket) -> None:
            adopting = asyncio.ensure_future(loop.connect_accepted_socket(low_level, connection))
            self._adopting.add(adopting)
            adopting.add_done_callback(self._adopted)

        if self._accepted_from is not None:
            receive_connections(self._accepted_from, serve_here)
        elif self.config.deal_connections:
            self._dealer = ConnectionDealer(serve_here)
            self._dealer.listen(listening_sockets(self.config.host, self.config.port, backlog))
            self.port = self._dealer.port
        else:
            site = web.TCPSite(self._runner, self.config.host, self.config.port, backlog=backlog)
            await site.start()
            server = getattr(site, "_server", None)
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
        if self.recorder is not None:
            self.recorder.attach(loop)
        self.handler.forget_base()

    def _adopted(self, adopting: asyncio.Future[Any]) -> None:
        self._adopting.discard(adopting)
        if not adopting.cancelled() and adopting.exception() is not None:
            logger.debug("trcli serve: a dealt connection failed", exc_info=adopting.exception())

    def deal_to(self, channel: socket.socket) -> None:
        """``serve --workers``: deal connections to the worker at the other end of ``channel``
        too (any thread; the server must deal connections, see ServerConfig)."""
        loop, dealer = self._loop, self._dealer
        if loop is None or dealer is None:
            raise RuntimeError("this server does not deal its connections")
        loop.call_soon_threadsafe(dealer.add_worker, channel)

    async def _close(self) -> None:
        if self._dealer is not None:
            self._dealer.close()
            self._dealer = None
        if self.recorder is not None:
            self.recorder.attach(None)
        if self.config.forwarder is not None:
            await self.config.forwarder.close()
        if self.config.console is not None:
            await self.config.console.close()
        if self.guard is not None:
            await self.guard.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stop(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        self._thread = None
        if self.recorder is not None:
            self.recorder.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> CallbackServer:  # noqa: PYI034 - typing.Self needs 3.11
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
