"""A bound on JSON nesting, checked before parsing.

``json.loads`` recurses once per level, so a 4,096-character attributes string nested ~2,000
deep raises RecursionError (a 5xx in a server), and every consumer that walks the result
recurses again. :data:`MAX_JSON_DEPTH` is far beyond any real attributes document (TaskRouter
documents a size limit for attributes, not a depth limit; refusing the deeper ones is the
stricter choice).
"""

from __future__ import annotations

import re

MAX_JSON_DEPTH = 100
"""Deepest nesting of objects and arrays accepted in attributes and similar JSON."""

_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in ``text``, brackets inside strings ignored."""
    depth = deepest = 0
    for match in _STRUCTURE.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``text`` nests objects/arrays more than ``limit`` deep (cheap when it cannot)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    return json_depth(text) > limit
