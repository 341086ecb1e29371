"""``trcli serve --forward-to URL``: hand each verified assignment callback to the user's handler.

Like ``stripe listen --forward-to``: trcli keeps the tunnel, the signature check, the Workflow
pointing and the live log, and the user's own code -- the tutorial's ``assignment.php`` under
``php -S``, a Flask route -- decides the reply. Each assignment callback that passed the
signature check is POSTed to the forward URL with the same form parameters and a fresh
``X-Twilio-Signature`` computed for *that* URL with the same auth token, so a handler that checks
signatures with the SDK's ``RequestValidator`` accepts it. The handler's status, Content-Type and
body go back to TaskRouter unchanged.

A handler that cannot be reached, answers 5xx, answers more than MAX_REPLY_BYTES or takes longer
than FORWARD_TIMEOUT seconds gets TaskRouter a 502: Twilio's docs give the app 5 seconds to answer
an assignment callback before TaskRouter tries the Workflow's FallbackAssignmentCallbackUrl and
then cancels the reservation (docs: taskrouter/handle-assignment-callbacks), so the 502 arrives
before that and the log says why in one line.

Event callbacks (``/events``) are not forwarded: TaskRouter sends them to a separate URL and
ignores the answer; they stay in the live log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from taskrouter_cli.errors import UsageError

if TYPE_CHECKING:
    from taskrouter_cli.callbacks.log import CallbackRecord

FORWARD_TIMEOUT = 4.0
"""Seconds the handler gets: under TaskRouter's 5 s, so our 502 reaches it first."""
MAX_REPLY_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
BAD_GATEWAY = 502
LOGGED_BODY_CHARS = 200


def check_forward_url(url: str) -> str:
    """The forward URL if it is an absolute http(s) URL; a usage error otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--forward-to needs an absolute http(s) URL, got {url!r}",
            "For example --forward-to http://127.0.0.1:8080/assignment.php",
        )
    return url


@dataclass(frozen=True)
class Forwarded:
    """What goes back to TaskRouter: the handler's answer, or a 502 saying why not."""

    status: int
    content_type: str | None
    body: bytes


class HandlerFailed(Exception):
    """The handler gave no usable answer; the message is the log line."""


class Forwarder:
    """Forwards callbacks to one URL (one per server; its HTTP client lives on the server loop).

    ``expired(seconds)`` is what the wait for the handler races against (default
    ``asyncio.sleep``); tests pass an awaitable they complete themselves instead of waiting.
    """

    def __init__(
        self,
        url: str,
        auth_token: str | None,
        *,
        timeout: float = FORWARD_TIMEOUT,
        expired: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.url = check_forward_url(url)
        self.timeout = timeout
        self._expired = expired
        self._checker: Any = None
        if auth_token:
            from taskrouter_cli.callbacks.signature import SignatureChecker

            self._checker = SignatureChecker(auth_token)
        self._session: Any = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self, pairs: list[tuple[str, str]]) -> dict[str, str]:
        headers = {"Content-Type": FORM_TYPE, "User-Agent": "trcli-serve-forward"}
        if self._checker is not None:
            from multidict import MultiDict

            headers["X-Twilio-Signature"] = self._checker.compute(self.url, MultiDict(pairs))
        return headers

    async def forward(self, pairs: list[tuple[str, str]], record: CallbackRecord) -> Forwarded:
        """POST the callback to the handler; fills the record's handler fields and status."""
        started = time.perf_counter()
        record.forwarded_to = self.url
        try:
            status, content_type, body = await self._race(pairs)
        except HandlerFailed as failure:
            record.handler_ms = _elapsed_ms(started)
            record.status = BAD_GATEWAY
            record.error = f"{failure}; answered TaskRouter 502 (it tries the fallback URL next)"
            record.instruction = None
            record.reply = None
            return Forwarded(BAD_GATEWAY, "application/json", _bad_gateway_body(str(failure)))
        record.handler_ms = _elapsed_ms(started)
        record.handler_status = status
        record.handler_content_type = content_type
        describe_reply(record, content_type, body)
        record.status = status
        return Forwarded(status, content_type, body)

    async def _race(self, pairs: list[tuple[str, str]]) -> tuple[int, str | None, bytes]:
        sending = asyncio.ensure_future(self._send(pairs))
        timer = asyncio.ensure_future(self._expired(self.timeout))
        try:
            done, _ = await asyncio.wait({sending, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sending, timer):
                if not task.done():
                    task.cancel()
        if sending not in done:
            raise HandlerFailed(f"Handler {self.url} did not answer within {self.timeout:g} s")
        return sending.result()

    async def _send(self, pairs: list[tuple[str, str]]) -> tuple[int, str | None, bytes]:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None), auto_decompress=True
            )
        try:
            async with self._session.post(
                self.url,
                data=urlencode(pairs).encode("ascii"),
                headers=self._headers(pairs),
                allow_redirects=False,
            ) as response:
                body = await _read_limited(response.content, MAX_REPLY_BYTES)
                status = int(response.status)
                content_type = response.headers.get("Content-Type")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            reason = " ".join(str(exc).split()) or exc.__class__.__name__
            raise HandlerFailed(f"Handler {self.url} is not reachable ({reason})") from None
        if status >= 500:
            raise HandlerFailed(
                f"Handler {self.url} failed with {status}: {_body_text(body) or '(empty body)'}"
            )
        return status, content_type, body


async def _read_limited(stream: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await stream.read(limit + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ValueError(f"its reply is over {limit // 1024} KiB")


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


def _body_text(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    if len(text) > LOGGED_BODY_CHARS:
        return text[: LOGGED_BODY_CHARS - 1] + "…"
    return text


def _bad_gateway_body(reason: str) -> bytes:
    import json

    return json.dumps({"error": reason, "status": BAD_GATEWAY, "hint": None}).encode("utf-8")


def describe_reply(record: CallbackRecord, content_type: str | None, body: bytes) -> None:
    """Put the handler's answer in the record: the JSON document when it is one, else its text."""
    import json

    record.reply = None
    record.instruction = None
    record.handler_body = None
    try:
        document = json.loads(body) if body else None
    except ValueError:
        document = None
    if isinstance(document, dict):
        record.reply = document
        instruction = document.get("instruction")
        record.instruction = instruction if isinstance(instruction, str) else "defer"
    else:
        record.handler_body = _body_text(body)
