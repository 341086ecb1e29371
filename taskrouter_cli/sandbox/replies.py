"""Reading an assignment-callback reply the way TaskRouter does (§4.4).

* empty body with status 200, or ``{}`` -> defer (the reservation stays pending);
* a body without ``Content-Type: application/json`` -> debugger 40000, nothing done;
* not JSON / not a JSON object -> 40001; a JSON object without ``instruction`` -> 40005;
* otherwise the instruction (``accept``, ``reject``, voice instructions; unknown -> 55555 when
  applied).

Non-200 answers, time-outs and connection errors are *failures*: the dispatcher then tries the
fallback URL, and cancels the reservation when that fails too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ParsedReply:
    action: str
    """``defer``, ``instruction`` or ``warning``."""
    code: int | None = None
    message: str = ""
    instruction: dict[str, Any] = field(default_factory=dict)


def parse_reply(content_type: str, body: str) -> ParsedReply:
    text = body.strip()
    if not text:
        return ParsedReply("defer", message="empty 200 reply: reservation left pending")
    if "application/json" not in content_type.lower():
        return ParsedReply(
            "warning",
            40000,
            f"reply is not Content-Type application/json (got {content_type or 'none'!r}); "
            "no instruction processed",
        )
    try:
        data = json.loads(text)
    except ValueError:
        return ParsedReply("warning", 40001, "reply body is not valid JSON")
    if not isinstance(data, dict):
        return ParsedReply("warning", 40001, "reply body is not a JSON object")
    if not data:
        return ParsedReply("defer", message="{} reply: reservation left pending")
    if "instruction" not in data:
        return ParsedReply("warning", 40005, "reply JSON has no 'instruction' (send {} to defer)")
    return ParsedReply("instruction", instruction=data)
