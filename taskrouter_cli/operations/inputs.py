"""Turning option values into checked data: JSON documents (inline or ``@file``) and times."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from taskrouter_cli.errors import UsageError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def read_json_argument(value: str, option: str) -> str:
    """The JSON text given inline or, for ``@path``, read from that file."""
    if not value.startswith("@"):
        return value
    path = Path(value[1:]).expanduser()
    if not value[1:]:
        raise UsageError(f"{option}: '@' must be followed by a file name, e.g. @task.json")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{option}: file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{option}: {path} is a directory, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{option}: cannot read {path}: {exc}") from None


def parse_json_object(value: str, option: str) -> tuple[str, dict[str, Any]]:
    """``(text, object)`` for an option that takes a JSON object or ``@file.json``.

    Bad JSON is a UsageError naming the line, column and character position of the problem.
    """
    text = read_json_argument(value, option)
    source = f" (in {value[1:]})" if value.startswith("@") else ""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{option} is not valid JSON{source}: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno} (position {exc.pos})",
            """Example: '{"selected_language": "es"}'""",
        ) from None
    if not isinstance(document, dict):
        raise UsageError(
            f"{option} must be a JSON object ({{...}}){source}, got {type(document).__name__}"
        )
    return text, document


@dataclass(frozen=True)
class Since:
    """A lower time bound for event queries: either relative (minutes) or absolute."""

    minutes: int | None = None
    start: datetime | None = None


def parse_since(value: str) -> Since:
    """``10m``, ``2h``, ``30s``, ``1d`` (relative, as whole minutes) or an ISO-8601 time.

    Relative bounds are sent as the API's ``Minutes`` parameter so the server's clock decides
    (the sandbox may run on a fake clock); ISO times without a zone are taken as UTC.
    """
    match = _DURATION.match(value)
    if match:
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        if seconds <= 0:
            raise UsageError(f"--since {value}: the duration must be positive")
        return Since(minutes=max(1, math.ceil(seconds / 60)))
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since '{value}' is neither a duration nor an ISO-8601 time",
            "Use e.g. 10m, 2h, 1d or 2024-05-01T10:00:00Z",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return Since(start=moment)


def parse_positive_seconds(value: float, option: str) -> float:
    if value <= 0:
        raise UsageError(f"{option} must be a positive number of seconds")
    return value


def stored_object(text: str | None) -> dict[str, Any]:
    """A JSON object stored as text by TaskRouter (a worker's or task's ``attributes``), or
    ``{}`` when the text is empty or not a JSON object (shown data never fails on it)."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
