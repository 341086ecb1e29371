"""A TaskRouter API request and its answer, independent of the HTTP server that carries them.

The ``/v1`` API (:class:`~taskrouter_cli.sandbox.api.v1.V1Api`) takes an :class:`ApiRequest` whose
body has been read already and returns an :class:`ApiResponse`, without awaiting anything. Two
servers carry them: the sandbox's own HTTP/1.1 front (``front.py``, the usual case) and aiohttp's
application (``app.py``: requests the front hands over, and tests that run the app alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from taskrouter_cli.sandbox.api.errors import HttpError, error_body
from taskrouter_cli.sandbox.json_codec import to_json

INTERNAL_ERROR = "Internal error in the sandbox (see its log)"
"""The message of a 500: what went wrong is in the sandbox's log, never in the answer."""
REQUEST_LINE_FORMAT = "%s %s  %s  %.1f ms"
"""One logged request (method, target, status, milliseconds), whichever server answered it."""

DEFAULT_CONTENT_TYPE = "application/octet-stream"
"""What a request without a Content-Type header is taken to send (as aiohttp says, RFC 9110)."""


@dataclass(slots=True)
class ApiRequest:
    method: str
    """``GET``, ``POST`` or ``DELETE`` (``HEAD`` is served as ``GET``)."""
    path: str
    """The percent-decoded path, ``/v1/Workspaces/WS…``."""
    query_string: str
    headers: Mapping[str, str]
    """Looked up in any case (aiohttp's ``CIMultiDictProxy``, or the front's ``Headers``)."""
    body: bytes
    base_url: str
    """Scheme and host the client used (``http://127.0.0.1:4010``): ``url``/``links`` and paging
    lead back there."""

    @property
    def content_type(self) -> str:
        """The media type of the body, lowercase, without parameters."""
        value = self.headers.get("Content-Type")
        if not value:
            return DEFAULT_CONTENT_TYPE
        return value.partition(";")[0].strip().lower()

    def first_query_name(self) -> str:
        """The first parameter name of the query string (for an error message naming it)."""
        pairs = parse_qsl(self.query_string, keep_blank_values=True)
        return pairs[0][0] if pairs else self.query_string


@dataclass(slots=True)
class ApiResponse:
    status: int
    body: bytes = b""
    """JSON, or empty (204)."""
    headers: dict[str, str] | None = None
    """Beyond Content-Type and Content-Length: ``ETag``, ``Allow``, ``WWW-Authenticate``."""


def json_answer(
    value: object, status: int = 200, headers: dict[str, str] | None = None
) -> ApiResponse:
    return ApiResponse(status, to_json(value), headers)


def error_answer(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> ApiResponse:
    body = error_body(status, code, message)
    if status == 401:
        body["detail"] = ""
    return json_answer(body, status, headers or None)


def http_error_answer(error: HttpError) -> ApiResponse:
    return error_answer(error.status, error.code, error.message, error.headers)


def internal_error_answer() -> ApiResponse:
    return error_answer(500, 500, INTERNAL_ERROR)
