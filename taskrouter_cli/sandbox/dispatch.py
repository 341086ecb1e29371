"""Outgoing callbacks: assignment callbacks (signed, 5 s, fallback URL, then cancel) and event
callbacks (15 s), sent from one background thread running an asyncio loop, to ``http://`` URLs
with the sandbox's own kept-alive HTTP/1.1 client (:mod:`.callback_http`), to others (https)
with one aiohttp ``ClientSession``. When the sandbox's HTTP server runs, it lends its own
event loop instead (:meth:`CallbackDispatcher.attach_loop`): no second busy Python thread then
competes for the interpreter lock.

:meth:`CallbackDispatcher.submit` is thread-safe and returns at once, so an API request never
waits for a callback. The reply of an assignment callback is handed to the ``apply`` function
(the service applies it under its lock) and the outcome is kept on the delivery record.
:meth:`CallbackDispatcher.flush` waits until every submitted delivery (and any delivery they set
off) has finished. The last ``max_deliveries`` deliveries are kept for the inspector.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from .callback_http import (
    MAX_BODY_BYTES,
    CallbackHttpClient,
    CallbackHttpError,
    Reply,
    body_too_large,
    decode_body,
    plain_http_target,
)
from .clock import Clock
from .replies import ParsedReply, parse_reply
from .signature import compute_signature

if TYPE_CHECKING:
    import aiohttp

_MAX_REPLY_CHARS = 4000


_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
"""The characters ``quote_plus`` leaves as they are."""
_QUOTED_ASCII = {
    code: char if char in _UNRESERVED else "+" if char == " " else f"%{code:02X}"
    for code, char in ((code, chr(code)) for code in range(128))
}
"""``quote_plus`` of each ASCII character, for ``str.translate``."""
_QUOTED_NAMES: dict[str, str] = {}
"""Parameter names as quoted: the same few dozen in every callback."""


def _quoted(text: str) -> str:
    """``quote_plus(text)``: for ASCII text one ``str.translate``."""
    return text.translate(_QUOTED_ASCII) if text.isascii() else quote_plus(text)


def form_encode(params: list[tuple[str, str]]) -> bytes:
    """The body ``urlencode(params)`` makes, at a third of its cost for a callback's ~25
    parameters: names quoted once, values made only of letters and digits (SIDs, numbers)
    taken as they are, the others quoted by one ``str.translate``."""
    names = _QUOTED_NAMES
    pairs = []
    for name, value in params:
        quoted = names.get(name)
        if quoted is None:
            quoted = _quoted(name)
            if len(names) < 256:
                names[name] = quoted
        if not (value.isascii() and value.isalnum()):
            value = _quoted(value)
        pairs.append(f"{quoted}={value}")
    return "&".join(pairs).encode()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@dataclass(frozen=True)
class DeliveryRequest:
    kind: str
    """``assignment`` or ``event``."""
    url: str
    params: list[tuple[str, str]]
    timeout: float
    fallback_url: str | None = None
    reservation_sid: str | None = None
    workspace_sid: str | None = None
    event_type: str | None = None


@dataclass(frozen=True)
class Applied:
    """What the service did with a reply (or a failed delivery)."""

    outcome: str
    debugger_code: int | None = None


ApplyReply = Callable[[DeliveryRequest, "ParsedReply | None"], Applied]
"""``apply(request, parsed)``; ``parsed`` is None when primary and fallback both failed."""


@dataclass
class _Attempt:
    status: int | None
    content_type: str
    body: str
    error: str | None
    latency_ms: float


class CallbackDispatcher:
    def __init__(
        self,
        auth_token: Callable[[], str],
        apply: ApplyReply,
        clock: Clock,
        *,
        max_deliveries: int = 1000,
        earlier: list[dict[str, Any]] | None = None,
        persist: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """``earlier``: delivery records kept from a previous run (the inspector survives a
        restart); ``persist``: called with each new record, outside the dispatcher's locks."""
        self._auth_token = auth_token
        self._apply = apply
        self._clock = clock
        self._records: deque[dict[str, Any]] = deque(earlier or (), maxlen=max_deliveries)
        self._records_lock = threading.Lock()
        last_id = max((int(r.get("id") or 0) for r in self._records), default=0)
        self._ids = itertools.count(last_id + 1)
        self._persist = persist
        self._pending = 0
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: aiohttp.ClientSession | None = None
        self._http = CallbackHttpClient()
        self._start_lock = threading.Lock()
        self._closed = False
        self._tasks: set[asyncio.Future[None]] = set()
        self.when_committed: Callable[[Callable[[BaseException | None], None]], None] | None = None
        """Calls back once what is written so far is committed (the server's group commit's
        ``when_durable``): each delivery starts then, so nothing is told to a callback URL
        before it is committed."""
        self.after_apply: Callable[[], None] | None = None
        """Called once an assignment callback's answer is applied (the server's group commit
        polls its writer then, as it does between two requests)."""

    # public ----------------------------------------------------------------------------------
    def submit(self, request: DeliveryRequest) -> None:
        """Queue ``request`` for delivery; never blocks on the network."""
        loop = self._ensure_loop()
        with self._cond:
            self._pending += 1
        if self._thread is None and _running_loop() is loop:
            loop.call_soon(self._spawn, request)  # no wake-up write through the loop's pipe
        else:
            loop.call_soon_threadsafe(self._spawn, request)

    @property
    def pending(self) -> int:
        """Deliveries submitted and not finished yet."""
        with self._cond:
            return self._pending

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery is queued or running; False if ``timeout`` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    async def idle(self, timeout: float = 10.0) -> bool:
        """:meth:`flush` for a coroutine: from the loop the deliveries run on, wait without
        blocking it; from any other loop, wait on a worker thread."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            return await loop.run_in_executor(None, self.flush, timeout)
        deadline = loop.time() + timeout
        while self._pending:
            await asyncio.sleep(0)  # submissions queued with call_soon_threadsafe start
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            running = list(self._tasks)
            if running:
                await asyncio.wait(running, timeout=remaining)
        return True

    def deliveries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Delivery records, oldest first (the last ``limit`` when given)."""
        with self._records_lock:
            records = [dict(record) for record in self._records]
        return records[-limit:] if limit else records

    def clear(self) -> None:
        with self._records_lock:
            self._records.clear()

    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Send deliveries on ``loop`` (a server's running loop) instead of a thread of their own.

        Threads of one Python process share the interpreter lock: with a second busy thread every
        socket write and SQLite commit of the server waits to get the lock back (measured with
        ``benchmarks/bench_sandbox.py``'s set-up, 50 workers, SQLite file, 3 runs each:
        98-141 -> 172-193 lifecycles/s, create->assigned p50 116-171 -> 56-58 ms). The loop's
        owner must call :meth:`detach_loop` before the loop ends.
        ``apply`` then runs on that loop. Returns False, changing nothing, when deliveries already
        run on their own thread or the dispatcher is closed.
        """
        with self._start_lock:
            if self._closed or self._loop is not None:
                return False
            self._loop, self._thread = loop, None
            return True

    async def detach_loop(self) -> None:
        """Undo :meth:`attach_loop`, from that loop: deliveries still running are dropped (as on
        :meth:`close`; an unanswered reservation keeps its timeout) and the HTTP session closed.
        Later submissions start a thread of their own."""
        with self._start_lock:
            if self._loop is None or self._thread is not None:
                return
            self._loop = None
        running = list(self._tasks)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._http.close()
        self._http = CallbackHttpClient()  # its connections belonged to that loop
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after closing the HTTP session (pending deliveries are dropped)."""
        with self._start_lock:
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            self._http.close()
            if self._session is not None:
                await self._session.close()
            loop.stop()

        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(shutdown()))
        thread.join(timeout)

    # loop thread -----------------------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._closed:
                raise RuntimeError("the callback dispatcher is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()
                    loop.close()

                thread = threading.Thread(target=run, name="sandbox-callbacks", daemon=True)
                thread.start()
                ready.wait(5.0)
                self._loop, self._thread = loop, thread
            return self._loop

    def _spawn(self, request: DeliveryRequest) -> None:
        when_committed = self.when_committed
        if when_committed is None:
            self._start(request, None)
        else:  # the delivery's coroutine starts once committed (it no longer waits for it)
            when_committed(functools.partial(self._start, request))

    def _start(self, request: DeliveryRequest, error: BaseException | None) -> None:
        if error is not None:  # what it tells was not committed: it is not told
            self._record(request, request.url, "error", None, None, f"internal error: {error!r}")
            self._finished()
            return
        task = asyncio.ensure_future(self._run(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _finished(self) -> None:
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()

    async def _run(self, request: DeliveryRequest) -> None:
        try:
            if request.kind == "assignment":
                await self._assignment(request)
            else:
                await self._post(request, request.url, "event")
        except Exception as exc:  # noqa: BLE001 -- one delivery must never kill the loop
            self._record(request, request.url, "error", None, None, f"internal error: {exc!r}")
        finally:
            self._finished()

    async def _assignment(self, request: DeliveryRequest) -> None:
        for attempt, url in (("primary", request.url), ("fallback", request.fallback_url)):
            if not url:
                continue
            result, signature = await self._send(request, url)
            if result.status == 200 and result.error is None:
                parsed = parse_reply(result.content_type, result.body)
                applied = self._apply(request, parsed)
                self._record(
                    request, url, attempt, result, signature, applied.outcome, applied.debugger_code
                )
                if self.after_apply is not None:
                    self.after_apply()
                return
            reason = result.error or f"HTTP {result.status}"
            self._record(request, url, attempt, result, signature, f"failed: {reason}", 11200)
        applied = self._apply(request, None)
        self._record(request, "", "gave-up", None, None, applied.outcome, applied.debugger_code)

    async def _post(self, request: DeliveryRequest, url: str, attempt: str) -> None:
        result, signature = await self._send(request, url)
        if result.error is None and 200 <= (result.status or 0) < 300:
            outcome = "delivered"
            code = None
        else:
            outcome = f"failed: {result.error or f'HTTP {result.status}'}"
            code = 11200
        self._record(request, url, attempt, result, signature, outcome, code)

    async def _send(self, request: DeliveryRequest, url: str) -> tuple[_Attempt, str]:
        signature = compute_signature(self._auth_token(), url, request.params)
        # the body aiohttp would build from the pairs, without its per-field checks
        body = form_encode(request.params)
        headers = [
            ("X-Twilio-Signature", signature),
            ("User-Agent", "TwilioProxy/1.1"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ]
        started = time.perf_counter()
        status: int | None = None
        content_type = text = ""
        error: str | None = None
        try:
            target = plain_http_target(url)
            if target is not None:
                reply = await self._http.post(target, body, headers, request.timeout)
            else:
                reply = await self._post_with_aiohttp(url, body, headers, request.timeout)
            status, content_type, text = reply
        except asyncio.TimeoutError:
            error = f"no answer within {request.timeout:g} s"
        except CallbackHttpError as exc:
            error = str(exc)
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        latency = (time.perf_counter() - started) * 1000
        return _Attempt(status, content_type, text, error, latency), signature

    async def _post_with_aiohttp(
        self, url: str, body: bytes, headers: list[tuple[str, str]], timeout: float
    ) -> Reply:
        """An ``https://`` (or otherwise not plain-HTTP) URL: aiohttp, with the same limits."""
        import aiohttp

        if self._session is None:
            # TaskRouter's callbacks carry no cookies: without a jar, no cookie work per request
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        try:
            async with self._session.post(
                url,
                data=body,
                headers=headers,
                timeout=_timeout(timeout),
                allow_redirects=False,
            ) as response:
                data = bytearray()
                async for chunk in response.content.iter_any():  # a cut body raises here
                    data += chunk
                    if len(data) > MAX_BODY_BYTES:
                        raise body_too_large()
                content_type = response.headers.get("Content-Type", "")
                return Reply(response.status, content_type, decode_body(content_type, data))
        except aiohttp.ClientError as exc:
            raise CallbackHttpError(f"{type(exc).__name__}: {exc}") from None

    def _record(
        self,
        request: DeliveryRequest,
        url: str,
        attempt: str,
        result: _Attempt | None,
        signature: str | None,
        outcome: str,
        code: int | None = None,
    ) -> None:
        record: dict[str, Any] = {
            "id": next(self._ids),
            "kind": request.kind,
            "attempt": attempt,
            "url": url,
            "params": dict(request.params),
            "signature": signature,
            "status": result.status if result else None,
            "content_type": result.content_type if result else None,
            "reply": result.body[:_MAX_REPLY_CHARS] if result else None,
            "error": result.error if result else None,
            "latency_ms": round(result.latency_ms, 2) if result else None,
            "outcome": outcome,
            "debugger_code": code,
            "time": self._clock.now().isoformat(),
            "reservation_sid": request.reservation_sid,
            "workspace_sid": request.workspace_sid,
            "event_type": request.event_type,
        }
        with self._records_lock:
            self._records.append(record)
        if self._persist is not None:
            self._persist(record)


@functools.lru_cache(maxsize=16)
def _timeout(seconds: float) -> aiohttp.ClientTimeout:
    """One ``ClientTimeout`` per timeout value (a sandbox uses two or three)."""
    import aiohttp

    return aiohttp.ClientTimeout(total=seconds)
