"""Build the twilio SDK client for live Twilio or for an API URL override (the sandbox).

The twilio SDK hard-codes ``https://taskrouter.twilio.com``. With an override, every request
goes through :class:`ApiUrlHttpClient`, which swaps that origin (or a regional/edge variant) for
the override's, so paging links and resource URLs keep working. Region and edge are cleared for
overrides: the SDK would otherwise turn ``http://127.0.0.1:4010`` into a nonsense host name.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from taskrouter_cli.config import Settings
from taskrouter_cli.errors import ApiError, ConfigError, CredentialsError, NetworkError, TrcliError

if TYPE_CHECKING:
    from twilio.rest import Client

DOCS_ERROR_URL = "https://www.twilio.com/docs/errors/{code}"
REQUEST_TIMEOUT_SECONDS = 30.0


def _rewrite_url(url: str, base: str) -> str:
    """Point a TaskRouter URL built by the SDK at ``base`` (scheme, host, port, path prefix)."""
    target = urlsplit(base)
    parts = urlsplit(url)
    if not parts.netloc.startswith("taskrouter."):
        return url
    path = target.path.rstrip("/") + parts.path
    return urlunsplit((target.scheme, target.netloc, path, parts.query, parts.fragment))


def api_url_http_client(base_url: str, timeout: float = REQUEST_TIMEOUT_SECONDS) -> Any:
    """A TwilioHttpClient that sends TaskRouter requests to ``base_url`` instead of Twilio."""
    from twilio.http.http_client import TwilioHttpClient

    class ApiUrlHttpClient(TwilioHttpClient):
        def __init__(self) -> None:
            super().__init__(timeout=timeout)
            self.base_url = base_url.rstrip("/")

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            return super().request(method, _rewrite_url(url, self.base_url), *args, **kwargs)

    return ApiUrlHttpClient()


def make_client(settings: Settings) -> Client:
    """A ready twilio ``Client`` for these settings; raises CredentialsError when incomplete."""
    settings.require_credentials()
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    username: str | None
    password: str | None
    if settings.auth_token:
        username, password = settings.account_sid, settings.auth_token
    else:
        username, password = settings.api_key, settings.api_secret
    http_client: Any
    if settings.api_url is not None and settings.uses_api_url_override:
        http_client = api_url_http_client(settings.api_url)
    else:
        http_client = TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS)
    client = Client(
        username=username,
        password=password,
        account_sid=settings.account_sid,
        http_client=http_client,
    )
    if settings.uses_api_url_override:
        client.region = None
        client.edge = None
    return client


def describe_twilio_error(exc: Any, settings: Settings | None = None) -> TrcliError:
    """Turn a TwilioRestException into a one-line TrcliError with the code and docs link."""
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    message = str(getattr(exc, "msg", "") or exc)
    # The SDK prefixes messages with "Unable to fetch record: " and the like; keep the substance.
    for prefix in (
        "Unable to fetch record: ",
        "Unable to create record: ",
        "Unable to update record: ",
        "Unable to delete record: ",
    ):
        message = message.removeprefix(prefix)
    method = getattr(exc, "method", None)
    uri = getattr(exc, "uri", None)
    where = f" ({method} {uri})" if method and uri else ""
    if code == status:  # the SDK's stand-in when the body is not a Twilio error
        code = None
        if settings is not None and settings.uses_api_url_override:
            return not_taskrouter(settings, f"HTTP {status}{where}")
    link = DOCS_ERROR_URL.format(code=code) if code else None
    text = f"Twilio {code}: {message}{where}" if code else f"HTTP {status}: {message}{where}"
    if status in (401, 403) and settings is not None and settings.uses_api_url_override:
        return CredentialsError(
            text,
            f"The API at {settings.api_url} does not know these credentials: a sandbox there may "
            "be using another database. Use the export lines it printed when it started, or "
            "'trcli sandbox env --db FILE' for its database file"
            + (f"; see {link}" if link else ""),
        )
    if status in (401, 403):
        return CredentialsError(
            text,
            "Check TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN (or the profile: 'trcli config show')"
            + (f"; see {link}" if link else ""),
        )
    return ApiError(text, f"See {link}" if link else None, status=status, code=code)


def not_taskrouter(settings: Settings, answer: str) -> ConfigError:
    """The error for an API URL override whose server does not answer as TaskRouter does."""
    return ConfigError(
        f"The server at {settings.api_url} is not a TaskRouter API: it answered {answer}",
        "Check --api-url / TRCLI_API_URL: it must be a sandbox's base URL (the one "
        "'trcli sandbox' prints, e.g. http://127.0.0.1:4010), or unset it for live Twilio",
    )


def describe_network_error(exc: BaseException, settings: Settings | None = None) -> NetworkError:
    target = settings.api_url if settings and settings.api_url else "https://taskrouter.twilio.com"
    reason = exc.__class__.__name__
    hint = (
        "Is the sandbox running? Start it with 'trcli sandbox'"
        if settings is not None and settings.uses_api_url_override
        else "Check your network connection"
    )
    return NetworkError(f"Cannot reach the TaskRouter API at {target} ({reason})", hint)


def is_network_error(exc: BaseException) -> bool:
    """True for connection failures raised by the SDK's HTTP stack (requests/urllib3)."""
    try:
        import requests
    except ImportError:  # pragma: no cover - requests is a twilio dependency
        return False
    return isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout))


def is_twilio_error(exc: BaseException) -> bool:
    try:
        from twilio.base.exceptions import TwilioRestException
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, TwilioRestException)


class _PageError:
    """The fields of a TwilioRestException, read from a failed list page's response."""

    def __init__(self, response: Any) -> None:
        self.status = getattr(response, "status_code", None)
        self.method = "GET"
        self.uri = None
        body: Any = {}
        try:
            body = json.loads(getattr(response, "text", "") or "{}")
        except ValueError:
            pass
        if not isinstance(body, dict):
            body = {}
        self.code = body.get("code") or self.status
        self.msg = body.get("message") or f"Unable to fetch page (HTTP {self.status})"


def _failed_page_response(exc: BaseException) -> Any:
    """The HTTP response of the SDK's 'Unable to fetch page' error (raised for list calls)."""
    try:
        from twilio.base.exceptions import TwilioException
    except ImportError:  # pragma: no cover
        return None
    if type(exc) is TwilioException and len(exc.args) == 2 and hasattr(exc.args[1], "status_code"):
        return exc.args[1]
    return None


def translate_exception(exc: BaseException, settings: Settings | None = None) -> TrcliError | None:
    """The user-facing error for an SDK or network exception, or None if it is neither."""
    if isinstance(exc, TrcliError):
        return exc
    if is_twilio_error(exc):
        return describe_twilio_error(exc, settings)
    page_response = _failed_page_response(exc)
    if page_response is not None:
        return describe_twilio_error(_PageError(page_response), settings)
    if is_network_error(exc):
        return describe_network_error(exc, settings)
    if (
        isinstance(exc, json.JSONDecodeError)
        and settings is not None
        and settings.uses_api_url_override
    ):
        return not_taskrouter(settings, "with a body that is not JSON")
    return None
