"""``trcli serve --ui``: the agent console, served by the callback server on its own port.

Routes (only for a browser on this machine, see below)::

    GET  /                      the page (HTML; its CSS and JavaScript below)
    GET  /console/console.css   GET /console/console.js
    GET  /console/stream        Server-Sent Events: "state" with a JSON snapshot on every change
    POST /console/api/accept    {"reservation_sid"}              accept (Reservations REST API)
    POST /console/api/reject    {"reservation_sid", "activity_sid"?}
    POST /console/api/complete  {"task_sid", "reason"}
    POST /console/api/activity  {"worker_sid", "activity_sid"}

Security:

* The console answers only requests from a loopback address carrying a loopback ``Host``
  (``localhost``, ``127.0.0.1``, ``[::1]``, with any port) and no proxy headers
  (``X-Forwarded-For`` and the like, which tunnels add even when they rewrite ``Host``).
  Requests through a tunnel carry the public host name and a forwarding header, so through the
  tunnel only ``/assignment`` and ``/events`` are reachable and everything else -- the page,
  the stream, ``/healthz`` -- is 404. A DNS-rebinding page also sends its own host name and
  gets 404.
* Every POST needs the per-run token embedded in the page (header ``X-Trcli-Console-Token``), an
  ``Origin`` equal to the page's own origin and a JSON body: a cross-site form or fetch cannot
  change anything.
* The page, its files and the stream never contain the auth token: snapshots are built from
  typed records (:mod:`console_state`) that have no credentials in them.

TaskRouter is read and written through :mod:`taskrouter_cli.operations.agents` on one worker
thread (the twilio SDK blocks); the page's errors are the CLI's one-line messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import TYPE_CHECKING, Any

from taskrouter_cli.callbacks.console_state import ConsoleState
from taskrouter_cli.errors import NotFoundError, TrcliError, UsageError
from taskrouter_cli.guards.origin import is_loopback_address, is_loopback_host, same_origin

if TYPE_CHECKING:
    from aiohttp import web

    from taskrouter_cli.callbacks.log import CallbackRecord

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Trcli-Console-Token"
TOKEN_PLACEHOLDER = "__TRCLI_CONSOLE_TOKEN__"
POLL_SECONDS = 2.0
"""How often TaskRouter is read while a page is open (callbacks and actions refresh at once)."""
KEEPALIVE_SECONDS = 15.0
ACTIVITIES_EVERY = 30
"""Activities change rarely: read them on every 30th refresh (and at the start)."""
MAX_STREAMS = 8
MAX_ACTION_BYTES = 4096
STATIC = {
    "/": ("console.html", "text/html; charset=utf-8"),
    "/console/console.css": ("console.css", "text/css; charset=utf-8"),
    "/console/console.js": ("console.js", "text/javascript; charset=utf-8"),
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP")
"""Headers a proxy or tunnel adds (ngrok adds X-Forwarded-For) and a browser never sends."""


def is_from_this_machine(request: web.BaseRequest) -> bool:
    """A loopback peer, a loopback Host, and no sign of having come through a proxy: a tunnel
    that rewrites Host to localhost still adds X-Forwarded-For."""
    return (
        is_loopback_address(request.remote)
        and is_loopback_host(request.host)
        and not any(name in request.headers for name in PROXY_HEADERS)
    )


def _static(name: str) -> bytes:
    return (resources.files("taskrouter_cli.callbacks") / "static" / name).read_bytes()


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Console:
    """The console's routes and its live state; one per ``trcli serve --ui`` run."""

    def __init__(
        self,
        workspace: Any,
        *,
        describe_error: Callable[[BaseException], str | None],
        reply_description: str = "",
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.workspace = workspace
        self.state = ConsoleState()
        self.state.reply_description = reply_description
        self.token = secrets.token_urlsafe(32)
        self.poll_seconds = poll_seconds
        self._describe_error = describe_error
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trcli-console")
        self._files = {path: _static(name) for path, (name, _) in STATIC.items()}
        self._files["/"] = self._files["/"].replace(TOKEN_PLACEHOLDER.encode(), self.token.encode())
        self._streams = 0
        self._changed: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._refreshes = 0
        self._timeouts: dict[str, int | None] = {}
        self._closing = False

    # -- entry points from the callback server -------------------------------------------------

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse | None:
        """Answer a non-callback request; None leaves it to the callback server (``/healthz``
        and unknown paths from this machine)."""
        from aiohttp import web

        try:
            return await self._route(request)
        except Exception:  # never let a bug take the server down
            logger.exception("trcli serve --ui: unexpected error answering %s", request.path)
            return web.json_response(
                {"error": "internal error; see the terminal"}, status=500, headers=SECURITY_HEADERS
            )

    async def _route(self, request: web.BaseRequest) -> web.StreamResponse | None:
        from aiohttp import web

        if not is_from_this_machine(request):
            return web.Response(
                status=404,
                body=json.dumps({"error": f"No route {request.path}", "status": 404}).encode(),
                content_type="application/json",
            )
        path = request.path
        if path in STATIC and request.method in ("GET", "HEAD"):
            return web.Response(
                body=self._files[path],
                headers={**SECURITY_HEADERS, "Content-Type": STATIC[path][1]},
            )
        if path == "/console/stream" and request.method == "GET":
            return await self._stream(request)
        if path.startswith("/console/api/"):
            return await self._action(request, path.removeprefix("/console/api/"))
        return None

    def observe(self, record: CallbackRecord) -> None:
        """A callback was answered (called on the server loop)."""
        if self.state.observe(record):
            self._notify()
            if self._wake is not None:
                self._wake.set()

    async def close(self) -> None:
        self._closing = True
        self._notify()
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refresher
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- live updates --------------------------------------------------------------------------

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    def _snapshot_event(self) -> bytes:
        snapshot = self.state.snapshot()
        return b"event: state\ndata: " + json.dumps(snapshot).encode() + b"\n\n"

    async def _stream(self, request: web.BaseRequest) -> web.StreamResponse:
        from aiohttp import web

        if self._streams >= MAX_STREAMS:
            return web.json_response(
                {"error": f"More than {MAX_STREAMS} console pages are open; close some"},
                status=429,
                headers=SECURITY_HEADERS,
            )
        if self._changed is None:
            self._changed = asyncio.Event()
        self._start_refresher()
        response = web.StreamResponse(
            headers={**SECURITY_HEADERS, "Content-Type": "text/event-stream"}
        )
        self._streams += 1
        try:
            await response.prepare(request)
            await response.write(b"retry: 1000\n\n")
            sent = -1
            while not self._closing:
                changed = self._changed
                if self.state.version != sent or sent < 0:
                    sent = self.state.version
                    await response.write(self._snapshot_event())
                try:
                    await asyncio.wait_for(changed.wait(), KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    await response.write(b": keep-alive\n\n")
        except ConnectionError:
            pass  # the page was closed or reloaded
        finally:
            self._streams -= 1
        return response

    def _start_refresher(self) -> None:
        if self._refresher is None or self._refresher.done():
            self._wake = asyncio.Event()
            self._refresher = asyncio.ensure_future(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while not self._closing and self._streams > 0:
            self._wake.clear()
            before = self.state.version
            await loop.run_in_executor(self._executor, self._refresh_all)
            if self.state.version != before:
                self._notify()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except asyncio.TimeoutError:
                pass

    def _refresh_all(self) -> None:
        """Read workers, activities and every tracked reservation (worker thread)."""
        from taskrouter_cli.operations import agents

        try:
            activities = None
            if self._refreshes % ACTIVITIES_EVERY == 0:
                activities = agents.list_activities(self.workspace)
            self._refreshes += 1
            self.state.set_people(agents.list_workers(self.workspace), activities)
            keys = dict.fromkeys(agents.pending_reservation_keys(self.workspace))
            keys.update(dict.fromkeys(self.state.tracked()))
            for task_sid, reservation_sid in keys:
                self._refresh_one(task_sid, reservation_sid)
            self.state.set_problem(None)
        except Exception as exc:  # noqa: BLE001 - shown on the page; the next poll retries
            self.state.set_problem("Could not read TaskRouter: " + self._words(exc))

    def _refresh_one(self, task_sid: str, reservation_sid: str) -> None:
        from taskrouter_cli.operations import agents
        from taskrouter_cli.operations.reservations import reservation_timeout

        try:
            current = agents.reservation_state(self.workspace, task_sid, reservation_sid)
        except Exception as exc:
            if getattr(exc, "status", None) == 404:  # finished tasks are deleted later
                self.state.forget(reservation_sid)
                return
            raise
        workflow = current.workflow_sid
        if workflow and workflow not in self._timeouts:
            self._timeouts[workflow] = reservation_timeout(self.workspace, workflow)
        self.state.apply(current, self._timeouts.get(workflow) if workflow else None)

    def _words(self, exc: BaseException) -> str:
        if isinstance(exc, TrcliError):
            return exc.one_line()
        described = self._describe_error(exc)
        if described is not None:
            return described
        logger.exception("trcli serve --ui: unexpected error")
        return f"unexpected error ({exc.__class__.__name__}); see the terminal"

    # -- actions -------------------------------------------------------------------------------

    async def _action(self, request: web.BaseRequest, name: str) -> web.Response:
        from aiohttp import web

        try:
            if request.method != "POST":
                raise _Refused(405, f"{request.method} is not allowed here; the page uses POST")
            self._check_same_origin(request)
            body = await self._read_json(request)
            work = self._work(name, body)
            loop = asyncio.get_running_loop()
            message = await loop.run_in_executor(self._executor, work)
        except _Refused as refused:
            return web.json_response(
                {"error": refused.message}, status=refused.status, headers=SECURITY_HEADERS
            )
        self._notify()
        if self._wake is not None:
            self._wake.set()
        return web.json_response({"ok": True, "message": message}, headers=SECURITY_HEADERS)

    def _check_same_origin(self, request: web.BaseRequest) -> None:
        origin = request.headers.get("Origin")
        if not origin or not same_origin(origin, request.host):
            raise _Refused(403, "Refused: this request does not come from the console's page")
        token = request.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self.token.encode()):
            raise _Refused(403, "Refused: the console token is missing or from an earlier run")

    @staticmethod
    async def _read_json(request: web.BaseRequest) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise _Refused(415, "The console sends JSON")
        if (request.content_length or 0) > MAX_ACTION_BYTES:
            raise _Refused(413, "Request too large")
        raw = await request.content.read(MAX_ACTION_BYTES + 1)
        if len(raw) > MAX_ACTION_BYTES:
            raise _Refused(413, "Request too large")
        try:
            body = json.loads(raw)
        except ValueError:
            raise _Refused(400, "The request is not JSON") from None
        if not isinstance(body, dict) or not all(
            isinstance(value, str) or value is None for value in body.values()
        ):
            raise _Refused(400, "The request must be a JSON object of strings")
        return body

    def _work(self, name: str, body: dict[str, Any]) -> Callable[[], str]:
        """The blocking call an action makes (validated here, run on the worker thread)."""
        from taskrouter_cli.operations import agents

        workspace = self.workspace
        if name in ("accept", "reject"):
            reservation_sid = str(body.get("reservation_sid") or "")
            found = self.state.task_of(reservation_sid)
            if found is None:
                raise _Refused(404, f"This console shows no reservation {reservation_sid!r}")
            task_sid: str = found
            if name == "accept":
                return self._guarded(
                    lambda: agents.accept_reservation(workspace, task_sid, reservation_sid),
                    f"Accepted {reservation_sid}",
                    (task_sid, reservation_sid),
                )
            activity = body.get("activity_sid") or None
            return self._guarded(
                lambda: agents.reject_reservation(workspace, task_sid, reservation_sid, activity),
                f"Rejected {reservation_sid}",
                (task_sid, reservation_sid),
            )
        if name == "complete":
            task_sid = str(body.get("task_sid") or "")
            if not self.state.knows_task(task_sid):
                raise _Refused(404, f"This console shows no task {task_sid!r}")
            reason = str(body.get("reason") or "")
            return self._guarded(
                lambda: agents.complete_task(workspace, task_sid, reason),
                f"Completed {task_sid}",
                None,
            )
        if name == "activity":
            worker_sid = str(body.get("worker_sid") or "")
            if not self.state.knows_worker(worker_sid):
                raise _Refused(404, f"This console shows no worker {worker_sid!r}")
            activity_sid = str(body.get("activity_sid") or "")
            return self._guarded(
                lambda: agents.set_worker_activity(workspace, worker_sid, activity_sid),
                "Activity changed",
                None,
            )
        raise _Refused(404, f"No console action {name!r}")

    def _guarded(
        self, call: Callable[[], object], done: str, card: tuple[str, str] | None
    ) -> Callable[[], str]:
        def run() -> str:
            try:
                call()
            except (UsageError, NotFoundError) as exc:
                raise _Refused(409, exc.one_line()) from None
            except Exception as exc:  # noqa: BLE001 - TaskRouter's refusal, in words
                raise _Refused(409, self._words(exc)) from None
            finally:
                self._refresh_after_action(card)
            return done

        return run

    def _refresh_after_action(self, card: tuple[str, str] | None) -> None:
        from taskrouter_cli.operations import agents

        try:
            if card is not None:
                self._refresh_one(*card)
            else:
                self._refresh_all()
                return
            self.state.set_people(agents.list_workers(self.workspace), None)
        except Exception as exc:  # noqa: BLE001 - the next poll retries
            self.state.set_problem("Could not read TaskRouter: " + self._words(exc))
