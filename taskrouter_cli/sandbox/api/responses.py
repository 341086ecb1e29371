"""Shared pieces of the sandbox's aiohttp app: application keys, JSON and error responses, the
request's Basic auth (``auth.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from taskrouter_cli.sandbox.api.auth import authorized
from taskrouter_cli.sandbox.api.errors import body_too_slow
from taskrouter_cli.sandbox.api.exchange import ApiResponse, error_answer, json_answer

Caller = Callable[..., Awaitable[Any]]

SERVICE_KEY: web.AppKey[Any] = web.AppKey("service")
API_KEY: web.AppKey[Any] = web.AppKey("api")
"""The app's :class:`taskrouter_cli.sandbox.api.v1.V1Api`."""
CALL_KEY: web.AppKey[Caller] = web.AppKey("call")
GROUP_COMMIT_KEY: web.AppKey[Any] = web.AppKey("group_commit")
BODY_TIMEOUT_KEY: web.AppKey[float] = web.AppKey("body_timeout")
"""Seconds a request may take to send its body (guards.connections.BODY_TIMEOUT by default)."""
"""The app's :class:`taskrouter_cli.sandbox.group_commit.GroupCommit` (attached by the server)."""


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web_response(json_answer(body, status, headers))


def web_response(answer: ApiResponse) -> web.Response:
    """``answer`` as aiohttp's response."""
    if not answer.body:
        return web.Response(status=answer.status, headers=answer.headers)
    return web.Response(
        body=answer.body,
        status=answer.status,
        content_type="application/json",
        headers=answer.headers,
    )


def error_response(status: int, code: int, message: str, **headers: str) -> web.Response:
    return web_response(error_answer(status, code, message, headers))


def base_url(request: web.Request) -> str:
    """Scheme and host the client used, so ``url``/``links``/paging lead back here."""
    return f"{request.scheme}://{request.host}"


async def read_body(request: web.Request) -> bytes:
    """The request body, or 408 when it does not arrive within the app's body timeout."""
    if request.content.is_eof():  # all there already: the usual case, no timer needed
        return await request.read()
    timeout = request.app[BODY_TIMEOUT_KEY]
    try:
        return await asyncio.wait_for(request.read(), timeout)
    except asyncio.TimeoutError:
        raise body_too_slow(timeout) from None


def authenticated(request: web.Request) -> bool:
    return authorized(request.headers.get("Authorization", ""), request.app[SERVICE_KEY])
