"""Run the sandbox's aiohttp app: in a background thread (tests, tutorial) or in the foreground.

``SandboxServer(service).start()`` runs the app on its own event loop in a daemon thread, returns
once the socket listens (``port=0`` lets the OS pick; read ``.port`` / ``.base_url``), and
``stop()`` shuts down gracefully: the listener closes, in-flight requests finish (up to
``shutdown_timeout``), the timer loop stops, then the service is closed (its callback
dispatcher stopped, its store closed). ``run_foreground()`` does the same in the calling thread
until SIGINT or SIGTERM (``trcli sandbox``).

Callbacks: while the server runs, the service's callback dispatcher sends on the server's event
loop (``CallbackDispatcher.attach_loop``) rather than on a thread of its own.

Timers: with a real clock a background task calls ``service.tick()`` whenever the service's next
deadline (``service.next_deadline()``) is due, and at least every ``TICK_INTERVAL`` seconds so new
deadlines are noticed. With a FakeClock (anything with ``advance``) nothing ticks by itself: tests
move time with ``FakeClock.advance`` + ``service.tick()`` or ``POST /sandbox/clock/advance``.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, Any

from taskrouter_cli.garbage_collection import refreeze_if_tuned, tune_for_serving
from taskrouter_cli.guards.connections import (
    BODY_TIMEOUT,
    ConnectionGuard,
    connection_cap,
    listen_backlog,
    raise_file_limit,
)

if TYPE_CHECKING:
    from typing_extensions import Self

    from taskrouter_cli.sandbox.api.front import HttpFront


log = logging.getLogger("taskrouter_cli.sandbox.server")

FOREGROUND_EXECUTOR_THREADS = 0
"""Threads for the service calls of ``trcli sandbox``; 0 = call directly on the event loop.

Measured on the 2-core machine with ``benchmarks/bench_sandbox.py`` (sandbox in its own
process, 50 workers, SQLite file, callbacks sent on the server's loop): direct calls did
214-325 lifecycles/s (mean ~285, ~2.9 ms of sandbox CPU per lifecycle) against 215-256/s
(mean ~235, ~3.8 ms) with 4 threads, which spend the difference handing the interpreter lock
back and forth. (Before callbacks moved onto the server's loop, 4 threads had measured better:
299-338/s vs 226-293/s with clients in the same process, because the loop kept serving while
the dispatcher thread held the service lock.)"""

BACKLOG = 256
"""Connections the kernel queues before the server accepts them."""

TICK_INTERVAL = 0.25
"""Longest pause of the timer loop (seconds) when the clock is real."""


class ServerStartError(Exception):
    """The server could not listen (port in use, permission, bad host); the message says which."""


def has_fake_clock(service: Any) -> bool:
    """True when time stands still unless advanced (then nothing ticks by itself)."""
    clock = getattr(service, "clock", None)
    return callable(getattr(clock, "advance", None)) and not getattr(clock, "runs_by_itself", False)


def format_base_url(host: str, port: int) -> str:
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def close_service(service: Any) -> None:
    """Stop the service's dispatcher and close its store, with whatever the service offers."""
    close = getattr(service, "close", None)
    if callable(close):
        close()
        return
    dispatcher = getattr(service, "dispatcher", None)
    for name in ("stop", "close"):
        method = getattr(dispatcher, name, None)
        if callable(method):
            method()
            break
    store_close = getattr(getattr(service, "store", None), "close", None)
    if callable(store_close):
        store_close()


def _seconds_until_deadline(service: Any) -> float:
    next_deadline = getattr(service, "next_deadline", None)
    if not callable(next_deadline):
        return TICK_INTERVAL
    deadline = next_deadline()
    if deadline is None:
        return TICK_INTERVAL
    remaining = (deadline - service.clock.now()).total_seconds()
    return max(0.0, min(TICK_INTERVAL, remaining))


async def tick_loop(service: Any, call: Callable[..., Any]) -> None:
    """Run due timers for as long as the server runs (real clock only)."""
    while True:
        delay = _seconds_until_deadline(service)
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            await call(service.tick)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("service.tick() failed; the timer loop goes on")
            await asyncio.sleep(TICK_INTERVAL)


REQUEST_LOG = logging.getLogger("taskrouter_cli.sandbox.requests")
"""One INFO line per request when the foreground server is asked for them."""


def _request_lines_class() -> Any:
    from aiohttp.abc import AbstractAccessLogger

    from taskrouter_cli.sandbox.api.exchange import REQUEST_LINE_FORMAT

    class _RequestLines(AbstractAccessLogger):
        """``POST /v1/Workspaces/WS…/Tasks  201  3.2 ms``."""

        def log(self, request: Any, response: Any, time: float) -> None:
            self.logger.info(
                REQUEST_LINE_FORMAT, request.method, request.path_qs, response.status, time * 1e3
            )

        @property
        def enabled(self) -> bool:
            return self.logger.isEnabledFor(logging.INFO)

    return _RequestLines


class _Serving:
    """The async half shared by the thread runner and the foreground runner."""

    def __init__(
        self,
        service: Any,
        host: str,
        port: int,
        *,
        auto_tick: bool,
        executor_threads: int,
        shutdown_timeout: float,
        body_timeout: float = BODY_TIMEOUT,
        request_lines: bool = False,
    ) -> None:
        self.request_lines = request_lines
        self.service = service
        self.body_timeout = body_timeout
        self.host = host
        self.requested_port = port
        self.auto_tick = auto_tick
        self.executor = (
            ThreadPoolExecutor(executor_threads, thread_name_prefix="sandbox-api")
            if executor_threads > 0
            else None
        )
        self.shutdown_timeout = shutdown_timeout
        self.port: int | None = None
        self.stop_event: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.guard: ConnectionGuard | None = None
        self.front: HttpFront | None = None

    async def run(self, ready: Callable[[int], None]) -> None:
        from taskrouter_cli.sandbox.api.front import HttpFront
        from taskrouter_cli.sandbox.api.v1 import V1Api, make_caller
        from taskrouter_cli.sandbox.group_commit import GroupCommit

        self.loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        request_log = REQUEST_LOG if self.request_lines else None
        api, group = V1Api(self.service), GroupCommit(self.service)
        call = make_caller(self.executor, group)
        file_limit = raise_file_limit()
        backlog = listen_backlog(file_limit, BACKLOG)
        guard = self.guard = ConnectionGuard(
            max_connections=connection_cap(file_limit, backlog), body_timeout=self.body_timeout
        )
        guard.start()
        runner: Any = None
        # /v1 goes through the front (``api/front.py``), which listens before aiohttp is even
        # imported (~0.15 s of a start); the controls, and whatever the front hands over, go to
        # aiohttp's app once it is set up. With an executor for the service calls, aiohttp
        # serves it all from the start.
        if self.executor is None:
            front = self.front = HttpFront(api, group, guard, None, request_log=request_log)
        else:
            front = None
            runner = await self._aiohttp(api, group, guard, request_log)
        try:
            listener = await self.loop.create_server(
                front or runner.server, self.host, self.requested_port, backlog=backlog
            )
        except OSError as exc:
            await guard.close()
            if runner is not None:
                await runner.cleanup()
            raise ServerStartError(
                describe_bind_error(exc, self.host, self.requested_port)
            ) from exc
        self.port = int(listener.sockets[0].getsockname()[1])
        dispatcher = getattr(self.service, "dispatcher", None)
        attach = getattr(dispatcher, "attach_loop", None)
        attached = bool(attach(self.loop)) if callable(attach) else False
        attach_routing = getattr(self.service, "attach_loop", None)
        if callable(attach_routing):
            attach_routing(self.loop)
        group.attach(self.loop)
        if attached and dispatcher is not None:
            dispatcher.when_committed = group.when_durable
            dispatcher.after_apply = group.poll
        ticker = asyncio.create_task(tick_loop(self.service, call)) if self.auto_tick else None
        ready(self.port)
        try:
            if front is not None:
                runner = await self._aiohttp(api, group, guard, request_log)
                front.fallback_ready(runner.server)
                refreeze_if_tuned()  # what aiohttp's set-up built joins what start-up built
            await self.stop_event.wait()
        finally:
            if ticker is not None:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
            listener.close()
            if front is not None:
                await front.shutdown(self.shutdown_timeout)
            await guard.close()
            if runner is not None:
                await runner.cleanup()
            if attached and dispatcher is not None:
                dispatcher.when_committed = None
                dispatcher.after_apply = None
            group.detach()
            detach_routing = getattr(self.service, "detach_loop", None)
            if callable(detach_routing):
                detach_routing()
            if attached and dispatcher is not None:
                await dispatcher.detach_loop()
            if self.executor is not None:
                self.executor.shutdown(wait=True)

    async def _aiohttp(
        self, api: Any, group: Any, guard: ConnectionGuard, request_log: logging.Logger | None
    ) -> Any:
        """aiohttp's app and its runner, set up and guarded (not listening: the front hands it
        connections, or the caller listens with ``runner.server``). The imports run on a
        thread: the front is answering meanwhile."""
        assert self.loop is not None
        await self.loop.run_in_executor(None, _import_app)
        from aiohttp import web

        from taskrouter_cli.sandbox.api.app import create_app

        app = create_app(
            self.service,
            executor=self.executor,
            body_timeout=self.body_timeout,
            api=api,
            group=group,
        )
        runner = web.AppRunner(
            app,
            access_log=request_log,
            access_log_class=_request_lines_class(),
            shutdown_timeout=self.shutdown_timeout,
            handle_signals=False,
        )
        await runner.setup()
        assert runner.server is not None
        guard.install(runner.server)
        return runner

    def request_stop(self) -> None:
        if self.loop is not None and self.stop_event is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self.stop_event.set)
            except RuntimeError:
                pass


def _import_app() -> None:
    import taskrouter_cli.sandbox.api.app  # noqa: F401 -- aiohttp.web with it


def describe_bind_error(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Port {port} on {host} is already in use. Stop the other process, or pick another "
            f"port with --port (--port 0 lets the system choose)"
        )
    if exc.errno == errno.EACCES:
        return f"Not allowed to listen on {host}:{port}. Use a port above 1023 with --port"
    return f"Cannot listen on {host}:{port}: {exc.strerror or exc}"


class SandboxServer:
    """The sandbox app on ``host:port`` in a background thread (context manager)."""

    def __init__(
        self,
        service: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        auto_tick: bool | None = None,
        executor_threads: int = 0,
        shutdown_timeout: float = 5.0,
        close_service_on_stop: bool = True,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        self.service = service
        self.host = host
        self._serving = _Serving(
            service,
            host,
            port,
            auto_tick=(not has_fake_clock(service)) if auto_tick is None else auto_tick,
            executor_threads=executor_threads,
            shutdown_timeout=shutdown_timeout,
            body_timeout=body_timeout,
        )
        self._close_service = close_service_on_stop
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopped = False

    @property
    def port(self) -> int:
        if self._serving.port is None:
            raise RuntimeError("the sandbox server is not started")
        return self._serving.port

    @property
    def base_url(self) -> str:
        return format_base_url(self.host, self.port)

    @property
    def guard(self) -> ConnectionGuard | None:
        """Slow-client timeouts and the connection cap, once started."""
        return self._serving.guard

    def start(self, timeout: float = 10.0) -> SandboxServer:
        if self._thread is not None:
            raise RuntimeError("the sandbox server was already started")
        self._thread = threading.Thread(target=self._run, name="sandbox-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise ServerStartError(f"The sandbox did not start listening within {timeout} s")
        if self._error is not None:
            self._thread.join(timeout)
            error = self._error
            if isinstance(error, ServerStartError):
                raise ServerStartError(str(error)) from error
            raise ServerStartError(f"The sandbox failed to start: {error}") from error
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._serving.run(lambda _port: self._ready.set()))
        except BaseException as exc:  # reported to start(); the thread ends quietly
            self._error = exc
            if self._ready.is_set():
                log.exception("the sandbox server stopped with an error")
        finally:
            self._ready.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Graceful stop: close the listener, finish in-flight requests, close the service."""
        if self._stopped:
            return
        self._stopped = True
        self._serving.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._close_service:
            close_service(self.service)

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_foreground(
    service: Any,
    host: str = "127.0.0.1",
    port: int = 4010,
    *,
    on_ready: Callable[[str], None] | None = None,
    auto_tick: bool | None = None,
    executor_threads: int = FOREGROUND_EXECUTOR_THREADS,
    shutdown_timeout: float = 5.0,
    request_lines: bool = False,
) -> int | None:
    """Serve until SIGINT/SIGTERM, then stop gracefully and close the service; returns the
    signal that stopped it (the CLI exits 130 after Ctrl-C). With ``request_lines``, each
    request is logged as one line on :data:`REQUEST_LOG` (INFO).

    ``on_ready(base_url)`` runs once the socket listens. Raises :class:`ServerStartError` when the
    server cannot listen.
    """
    serving = _Serving(
        service,
        host,
        port,
        auto_tick=(not has_fake_clock(service)) if auto_tick is None else auto_tick,
        executor_threads=executor_threads,
        shutdown_timeout=shutdown_timeout,
        request_lines=request_lines,
    )

    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        serving.request_stop()

    def ready(actual_port: int) -> None:
        tune_for_serving()  # this process only serves: see garbage_collection.py
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop, int(sig))
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
                signal.signal(sig, lambda signum, _frame: stop(signum))
        if on_ready is not None:
            on_ready(format_base_url(host, actual_port))

    try:
        asyncio.run(serving.run(ready))
    finally:
        close_service(service)
    return received[0] if received else None
