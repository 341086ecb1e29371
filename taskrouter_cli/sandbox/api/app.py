"""The sandbox's aiohttp application: the ``/sandbox`` controls, and TaskRouter v1
(:class:`~taskrouter_cli.sandbox.api.v1.V1Api`) for the requests the sandbox's HTTP front hands
over (``front.py``) and for servers that run the app alone (tests, an executor for the service
calls).

Errors never escape as tracebacks: :class:`HttpError` and the service's ``TaskRouterError`` become
Twilio's error body; anything unexpected becomes a generic 500 and the traceback is logged.

Service calls run on the event loop thread by default (each is a short, lock-guarded in-memory
operation plus one SQLite commit); pass ``executor`` to run them on a thread pool instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any

from aiohttp import web

from taskrouter_cli.guards.connections import BODY_TIMEOUT
from taskrouter_cli.sandbox.api import control
from taskrouter_cli.sandbox.api.errors import HttpError, not_found
from taskrouter_cli.sandbox.api.exchange import (
    ApiRequest,
    http_error_answer,
    internal_error_answer,
)
from taskrouter_cli.sandbox.api.responses import (
    API_KEY,
    BODY_TIMEOUT_KEY,
    CALL_KEY,
    GROUP_COMMIT_KEY,
    SERVICE_KEY,
    base_url,
    error_response,
    read_body,
    web_response,
)
from taskrouter_cli.sandbox.api.v1 import MAX_BODY_BYTES, V1Api, make_caller
from taskrouter_cli.sandbox.errors import TaskRouterError
from taskrouter_cli.sandbox.group_commit import GroupCommit

__all__ = ["MAX_BODY_BYTES", "V1Api", "create_app", "make_caller"]

log = logging.getLogger("taskrouter_cli.sandbox.api")


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpError as exc:
        return web_response(http_error_answer(exc))
    except TaskRouterError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, 20001, f"The request body is larger than {MAX_BODY_BYTES} bytes")
    except web.HTTPException as exc:
        return error_response(exc.status, exc.status, exc.reason)
    except (asyncio.CancelledError, ConnectionResetError):
        raise  # cancelled, or the client left mid-request: there is no one to answer
    except Exception:
        log.exception("unexpected error handling %s %s", request.method, request.path)
        return web_response(internal_error_answer())


async def handle_v1(request: web.Request) -> web.StreamResponse:
    """``/v1`` through aiohttp: the body is read (within the body timeout), then the API answers
    once what it wrote or read is committed."""
    body = await read_body(request) if request.body_exists else b""
    exchange = ApiRequest(
        request.method, request.path, request.query_string, request.headers, body, base_url(request)
    )
    answer = await request.app[CALL_KEY](request.app[API_KEY].respond, exchange)
    return web_response(answer)


async def handle_not_found(request: web.Request) -> web.StreamResponse:
    raise not_found(request.path)


def create_app(
    service: Any,
    *,
    executor: Executor | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT,
    api: V1Api | None = None,
    group: GroupCommit | None = None,
) -> web.Application:
    """The sandbox application for ``service`` (a ``SandboxService``); ``api`` and ``group``:
    the ones a server already answers with (else new ones)."""
    app = web.Application(middlewares=[error_middleware], client_max_size=max_body_bytes)
    app[SERVICE_KEY] = service
    app[API_KEY] = api or V1Api(service)
    app[BODY_TIMEOUT_KEY] = body_timeout
    group = group or GroupCommit(service)
    app[GROUP_COMMIT_KEY] = group
    app[CALL_KEY] = make_caller(executor, group)
    control.add_routes(app)
    app.router.add_route("*", "/v1", handle_v1)
    app.router.add_route("*", "/v1/{tail:.*}", handle_v1)
    app.router.add_route("*", "/{tail:.*}", handle_not_found)
    return app
