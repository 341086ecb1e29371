"""Semantic checks of request parameters (the HTTP layer already checked types and names)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from taskrouter_cli.guards.json_depth import MAX_JSON_DEPTH, too_deep

from .errors import bad_request
from .sids import is_sid

MAX_ATTRIBUTES = 4096
MAX_NAME = 64


def attributes(value: Any, param: str = "Attributes") -> str:
    """A JSON object given as a string, at most 4096 characters; returned unchanged."""
    if not isinstance(value, str):
        raise bad_request(f"{param} must be a JSON object given as a string")
    if len(value) > MAX_ATTRIBUTES:
        raise bad_request(f"{param} is {len(value)} characters long; the limit is {MAX_ATTRIBUTES}")
    if too_deep(value):
        raise bad_request(f"{param} nests objects or arrays deeper than {MAX_JSON_DEPTH} levels")
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise bad_request(f"{param} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise bad_request(f"{param} must be a JSON object, not {type(parsed).__name__}")
    return value


def friendly_name(value: Any, param: str = "FriendlyName", max_len: int = MAX_NAME) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"{param} must be a non-empty string")
    if len(value) > max_len:
        raise bad_request(f"{param} must be at most {max_len} characters")
    return value


def sid(value: Any, prefix: str, param: str) -> str:
    if not is_sid(value, prefix):
        raise bad_request(f"{param} {value!r} is not a valid {prefix} SID")
    return str(value)


def enum(value: Any, allowed: Iterable[str], param: str) -> str:
    options = list(allowed)
    if value not in options:
        raise bad_request(f"{param} must be one of {', '.join(options)}; got {value!r}")
    return str(value)


def integer(value: Any, low: int, high: int, param: str) -> int:
    if isinstance(value, bool):
        raise bad_request(f"{param} must be an integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise bad_request(f"{param} must be an integer; got {value!r}") from None
    if not low <= number <= high:
        raise bad_request(f"{param} must be between {low} and {high}; got {number}")
    return number


def boolean(value: Any, param: str) -> bool:
    """``true``/``1``/``yes`` are true (TaskRouter's reading of string booleans)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    if isinstance(value, int):
        return value != 0
    raise bad_request(f"{param} must be a boolean")


def url(value: Any, param: str) -> str | None:
    """An absolute http(s) URL, or None for an empty value (which clears the setting)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise bad_request(f"{param} must be an absolute http(s) URL; got {value!r}")
    return value
