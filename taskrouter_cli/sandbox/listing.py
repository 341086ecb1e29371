"""List filters, ordering and paging of the sandbox's list operations.

Page tokens are opaque strings (``PA`` + an encoded position in the filtered, stably ordered
list: creation order unless ``Ordering`` says otherwise).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from taskrouter_cli.routing.expressions import ExpressionError, parse_expression

from .errors import bad_request
from .state import Record

MAX_PAGE_SIZE = 1000


@dataclass
class ListPage:
    records: list[dict[str, Any]]
    page: int = 0
    next_page_token: str | None = None
    previous_page_token: str | None = None
    page_size: int = 50
    meta: dict[str, Any] = field(default_factory=dict)


def encode_token(offset: int, prefix: str = "PA") -> str:
    return prefix + base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        if not token.startswith(("PA", "PB")):
            raise ValueError
        data = json.loads(base64.urlsafe_b64decode(token[2:].encode()))
        offset = int(data["o"])
        if offset < 0:
            raise ValueError
        return offset
    except (ValueError, KeyError, TypeError):
        raise bad_request(f"Invalid PageToken {token!r}") from None


def page_size(value: Any) -> int:
    if value is None:
        return 50
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise bad_request(f"Invalid PageSize {value!r}: must be between 1 and {MAX_PAGE_SIZE}")
    return value


def paginate(
    items: list[Record],
    size: int,
    token: str | None,
    view: Callable[[Record], Any],
) -> ListPage:
    offset = decode_token(token)
    chunk = items[offset : offset + size]
    next_token = encode_token(offset + size) if offset + size < len(items) else None
    previous_token = encode_token(max(0, offset - size), "PB") if offset > 0 else None
    return ListPage(
        records=[view(item) for item in chunk],
        page=offset // size,
        next_page_token=next_token,
        previous_page_token=previous_token,
        page_size=size,
    )


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "1", "yes"}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def order(items: list[Record], ordering: str | None, allowed: Iterable[str]) -> list[Record]:
    """Sort by ``Attribute:asc|desc`` pairs (comma-separated); creation order breaks ties."""
    items = sorted(items, key=lambda r: r.get("_seq", 0))
    if not ordering:
        return items
    allowed_set = set(allowed)
    clauses: list[tuple[str, bool]] = []
    for part in str(ordering).split(","):
        name, _, direction = part.strip().partition(":")
        direction = direction.strip().lower() or "asc"
        if name not in allowed_set or direction not in ("asc", "desc"):
            raise bad_request(
                f"Invalid Ordering {ordering!r}: use Attribute:asc|desc with Attribute one of "
                f"{', '.join(sorted(allowed_set))}"
            )
        clauses.append((_snake(name), direction == "desc"))
    names = {name for name, _ in clauses}
    if {"date_created", "virtual_start_time"} <= names:
        raise bad_request("Invalid Ordering: DateCreated and VirtualStartTime cannot be combined")
    for name, descending in reversed(clauses):
        present = [r for r in items if r.get(name) is not None]
        missing = [r for r in items if r.get(name) is None]
        present.sort(key=lambda r, n=name: r[n], reverse=descending)  # type: ignore[misc]
        items = present + missing
    return items


def expression_filter(text: Any, param: str) -> Callable[[dict[str, Any]], bool]:
    try:
        expression = parse_expression(str(text))
    except ExpressionError as exc:
        raise bad_request(f"{param} is not a valid expression: {exc}") from None
    return expression.evaluate


def json_object(text: Any, param: str) -> dict[str, Any]:
    try:
        value = json.loads(str(text))
    except ValueError:
        raise bad_request(f"{param} is not valid JSON") from None
    if not isinstance(value, dict):
        raise bad_request(f"{param} must be a JSON object")
    return value


def statuses(value: Any, allowed: Iterable[str], param: str) -> set[str]:
    """A list of statuses (repeated keys or comma-separated)."""
    raw = value if isinstance(value, (list, tuple)) else [value]
    found = {part.strip() for item in raw for part in str(item).split(",") if part.strip()}
    unknown = found - set(allowed)
    if unknown:
        raise bad_request(f"{param} has unknown value(s): {', '.join(sorted(unknown))}")
    return found
