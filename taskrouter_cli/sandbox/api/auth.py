"""HTTP Basic authentication of the sandbox's API, without aiohttp (the front answers before
aiohttp is imported)."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from taskrouter_cli.sandbox.api.errors import AUTHENTICATE, HttpError

_ACCEPTED_HEADERS: dict[tuple[str, ...], tuple[str, ...]] = {}
"""Credentials -> the exact ``Authorization`` values that carry them (what the SDK sends)."""


def basic_header(login: str, password: str) -> str:
    """The ``Authorization`` value of HTTP Basic credentials (ASCII ones: no others exist)."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode("latin-1")).decode("ascii")


def decode_basic(header: str) -> tuple[str, str] | None:
    """(login, password) of a Basic ``Authorization`` value, or None when it is not one."""
    parts = header.strip().split(" ")
    if len(parts) != 2 or parts[0].strip().lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(parts[1].encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    login, colon, password = decoded.partition(":")
    return (login, password) if colon else None


def _accepted_headers(service: Any) -> tuple[str, ...]:
    names = ("account_sid", "auth_token", "api_key_sid", "api_key_secret")
    key = tuple(str(getattr(service, name, "") or "") for name in names)
    found = _ACCEPTED_HEADERS.get(key)
    if found is None:
        found = tuple(
            basic_header(login, password)
            for login, password in ((key[0], key[1]), (key[2], key[3]))
            if login and password and (login + password).isascii()
        )
        _ACCEPTED_HEADERS.clear()  # one sandbox per process: keep only the current credentials
        _ACCEPTED_HEADERS[key] = found
    return found


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
    credentials = decode_basic(header)
    if credentials is None:
        return False
    login, password = credentials
    if not (login.isascii() and password.isascii()):  # no credential has other bytes
        return False
    return bool(service.authenticate(login, password))


def unauthorized() -> HttpError:
    return HttpError(
        401, AUTHENTICATE, "Authenticate", headers={"WWW-Authenticate": 'Basic realm="Twilio API"'}
    )
