"""Shared pieces of the sandbox app: application keys, JSON and error responses, Basic auth."""

from __future__ import annotations

import asyncio
import binascii
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import BasicAuth, encode_basic_auth, web

from taskrouter_cli.sandbox.api.errors import AUTHENTICATE, HttpError
from taskrouter_cli.sandbox.api.exchange import ApiResponse, error_answer
from taskrouter_cli.sandbox.json_codec import to_json

Caller = Callable[..., Awaitable[Any]]

SERVICE_KEY: web.AppKey[Any] = web.AppKey("service")
API_KEY: web.AppKey[Any] = web.AppKey("api")
"""The app's :class:`taskrouter_cli.sandbox.api.app.V1Api`."""
CALL_KEY: web.AppKey[Caller] = web.AppKey("call")
GROUP_COMMIT_KEY: web.AppKey[Any] = web.AppKey("group_commit")
BODY_TIMEOUT_KEY: web.AppKey[float] = web.AppKey("body_timeout")
"""Seconds a request may take to send its body (guards.connections.BODY_TIMEOUT by default)."""
"""The app's :class:`taskrouter_cli.sandbox.group_commit.GroupCommit` (attached by the server)."""


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=to_json(body),
        status=status,
        content_type="application/json",
        headers=headers,
    )


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
        raise HttpError(
            408, 408, f"The request body did not arrive within {timeout:g} seconds"
        ) from None


_ACCEPTED_HEADERS: dict[tuple[str, ...], tuple[str, ...]] = {}
"""Credentials -> the exact ``Authorization`` values that carry them (what the SDK sends)."""


def _accepted_headers(service: Any) -> tuple[str, ...]:
    names = ("account_sid", "auth_token", "api_key_sid", "api_key_secret")
    key = tuple(str(getattr(service, name, "") or "") for name in names)
    found = _ACCEPTED_HEADERS.get(key)
    if found is None:
        found = tuple(
            encode_basic_auth(login, password)
            for login, password in ((key[0], key[1]), (key[2], key[3]))
            if login and password and (login + password).isascii()
        )
        _ACCEPTED_HEADERS.clear()  # one sandbox per process: keep only the current credentials
        _ACCEPTED_HEADERS[key] = found
    return found


def authenticated(request: web.Request) -> bool:
    return authorized(request.headers.get("Authorization", ""), request.app[SERVICE_KEY])


def authorized(header: str, service: Any) -> bool:
    """True when the ``Authorization`` header carries the sandbox's credentials."""
    if not header:
        return False
    # The usual case in one step: the header is exactly what a client with the right
    # credentials sends (compared in constant time), with no base64 decoding per request.
    if header.isascii():
        accepted = [hmac.compare_digest(header, value) for value in _accepted_headers(service)]
        if any(accepted):
            return True
    try:
        auth = BasicAuth.decode(header, encoding="utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    if not (auth.login.isascii() and auth.password.isascii()):  # no credential has other bytes
        return False
    return bool(service.authenticate(auth.login, auth.password))


def unauthorized() -> HttpError:
    return HttpError(
        401, AUTHENTICATE, "Authenticate", headers={"WWW-Authenticate": 'Basic realm="Twilio API"'}
    )
