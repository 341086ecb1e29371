"""Request parameters: decode form bodies and query strings, check and coerce them per the spec.

The only place where Twilio's PascalCase parameter names appear: each operation's
:class:`~taskrouter_cli.sandbox.api.spec.ParamSpec` table says which names exist and what type
each has. The result is a dict of snake_case names with Python values, the form the service
takes (``FriendlyName`` → ``friendly_name``; ``"5"`` → ``5``; ``"true"`` → ``True``;
``AssignmentStatus=pending&AssignmentStatus=reserved`` or ``pending,reserved`` →
``["pending", "reserved"]``; ISO-8601 → aware UTC ``datetime``).

Rules (all violations are 400 with code 20001 and a message naming the parameter):

* an unknown name is rejected (real TaskRouter ignores them; the sandbox is strict so typos show);
* a name given twice is rejected unless the parameter is an array;
* ``boolean``: ``true``/``false`` (any case); the four parameters whose docs say so
  (:data:`~taskrouter_cli.sandbox.api.spec.LENIENT_BOOLEANS`) take ``true``/``1``/``yes`` as
  true and anything else as false;
* ``integer``: optional sign and digits, within the spec's minimum/maximum;
* ``date-time``: ISO-8601 (``2024-01-02T03:04:05Z``, offsets allowed; no zone means UTC);
* ``uri``: empty, or an absolute http(s) URL;
* SID parameters must match the spec's pattern; enums must be one of the listed values;
* required parameters of the spec must be present.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from taskrouter_cli.sandbox.api.errors import bad_request
from taskrouter_cli.sandbox.api.spec import PAGING_PARAMS, Operation, ParamSpec

DEFAULT_PAGE_SIZE = 50
_TRUE_WORDS = frozenset({"true", "1", "yes"})
_INTEGER = re.compile(r"^[+-]?\d{1,19}$")


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def decode_form(body: bytes, *, what: str = "request body") -> list[tuple[str, str]]:
    """``a=1&b=2`` → pairs; malformed input (bad UTF-8, a field without ``=``) → 400."""
    if not body:
        return []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(f"The {what} is not valid UTF-8 (byte {exc.start})") from None
    return decode_query(text, what=what)


def decode_query(text: str, *, what: str = "query string") -> list[tuple[str, str]]:
    if not text:
        return []
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise bad_request(
            f"The {what} is not valid application/x-www-form-urlencoded data"
        ) from None


def _type_error(spec: ParamSpec, value: str, expected: str) -> Exception:
    shown = value if len(value) <= 40 else value[:37] + "..."
    return bad_request(f"Invalid value '{shown}' for parameter {spec.name}: expected {expected}")


def parse_datetime(value: str) -> datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _check_string(spec: ParamSpec, value: str) -> str:
    if spec.pattern and not _compiled(spec.pattern).match(value):
        prefix = spec.pattern[1:3] if spec.pattern.startswith("^") else ""
        if prefix.isalpha() and prefix.isupper():
            raise _type_error(spec, value, f"a {prefix} SID ({prefix} followed by 32 hex digits)")
        raise _type_error(spec, value, f"a value matching {spec.pattern}")
    if spec.enum and value not in spec.enum:
        raise _type_error(spec, value, "one of " + ", ".join(spec.enum))
    if spec.format == "uri" and value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _type_error(spec, value, "an absolute http or https URL")
    return value


def coerce_value(spec: ParamSpec, value: str) -> Any:
    """One wire value → the Python value the service takes."""
    if spec.type == "boolean":
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise _type_error(spec, value, "a boolean (true or false)")
        return lowered == "true"
    if spec.type == "lenient-boolean":
        return value.strip().lower() in _TRUE_WORDS
    if spec.type == "integer":
        if not _INTEGER.match(value.strip()):
            raise _type_error(spec, value, "an integer")
        number = int(value)
        if spec.minimum is not None and number < spec.minimum:
            raise _type_error(spec, value, f"an integer >= {spec.minimum}")
        if spec.maximum is not None and number > spec.maximum:
            raise _type_error(spec, value, f"an integer <= {spec.maximum}")
        return number
    if spec.format == "date-time":
        try:
            return parse_datetime(value)
        except ValueError:
            raise _type_error(
                spec, value, "an ISO-8601 date-time such as 2024-01-31T12:00:00Z"
            ) from None
    return _check_string(spec, value)


def _array(spec: ParamSpec, values: list[str]) -> list[str]:
    items: list[str] = []
    for value in values:
        items.extend(part.strip() for part in value.split(",") if part.strip())
    if spec.item_enum:
        for item in items:
            if item not in spec.item_enum:
                raise _type_error(spec, item, "one of " + ", ".join(spec.item_enum))
    return items


def coerce_params(
    operation: Operation,
    pairs: Iterable[tuple[str, str]],
    *,
    skip: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Check every pair against the operation's parameters; snake_case name → Python value."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        if name in skip:
            continue
        if name not in operation.params:
            raise bad_request(f"Unknown parameter {name} for {operation.method} {operation.path}")
        grouped.setdefault(name, []).append(value)
    result: dict[str, Any] = {}
    for name, values in grouped.items():
        spec = operation.params[name]
        if spec.type == "array":
            result[spec.snake] = _array(spec, values)
            continue
        if len(values) > 1:
            raise bad_request(f"Parameter {name} was given {len(values)} times; give it once")
        result[spec.snake] = coerce_value(spec, values[0])
    for name, spec in operation.params.items():
        if spec.required and name not in grouped:
            raise bad_request(f"Missing required parameter {name} in the post body")
    return result


def paging(operation: Operation, pairs: list[tuple[str, str]]) -> tuple[int, int, str | None]:
    """(page size, page number, page token) from a list request's query."""
    values = {name: value for name, value in pairs if name in PAGING_PARAMS}
    size = DEFAULT_PAGE_SIZE
    page = 0
    token = values.get("PageToken") or None
    if "PageSize" in values:
        size = coerce_value(operation.params["PageSize"], values["PageSize"])
    if "Page" in values:
        page = coerce_value(operation.params["Page"], values["Page"])
    if page > 0 and token is None:
        raise bad_request(
            "Page without PageToken (absolute paging) is not supported: follow "
            "meta.next_page_url, which carries a PageToken (Twilio error 40153)"
        )
    return size, page, token
