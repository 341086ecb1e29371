"""Errors the HTTP layer answers with, in Twilio's legacy error shape.

Body: ``{"code", "message", "more_info", "status"}`` — the shape the twilio SDK turns into a
``TwilioRestException`` with ``.status`` and ``.code``. Codes used by the HTTP layer:

* 20001 (400): a bad parameter, body or content type; the message names the parameter.
* 20003 (401): authentication failed; message ``Authenticate`` (as Twilio says it).
* 20004 (405): method not allowed on a known path.
* 20404 (404): unknown path, or a path SID that is not well-formed.
* 413 / 415: body too large / wrong content type (code 20001, the status tells which).
* 501 (code 501): a spec operation the sandbox does not implement (statistics). Twilio has no
  code for "not implemented", so the code is the HTTP status, as the SDK itself does for bodies
  without a code.
* 500 (code 500): an unexpected error inside the sandbox; the traceback goes to the log only.
"""

from __future__ import annotations

from typing import Any

MORE_INFO_URL = "https://www.twilio.com/docs/errors/{code}"

BAD_REQUEST = 20001
AUTHENTICATE = 20003
METHOD_NOT_ALLOWED = 20004
NOT_FOUND = 20404


class HttpError(Exception):
    """An error answer produced by the HTTP layer itself (not by the service)."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": MORE_INFO_URL.format(code=code),
        "status": status,
    }


def bad_request(message: str) -> HttpError:
    return HttpError(400, BAD_REQUEST, message)


def body_too_slow(timeout: float) -> HttpError:
    return HttpError(408, 408, f"The request body did not arrive within {timeout:g} seconds")


def not_found(path: str) -> HttpError:
    return HttpError(404, NOT_FOUND, f"The requested resource {path} was not found")
