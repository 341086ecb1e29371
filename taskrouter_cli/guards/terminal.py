"""Escape control characters in outside data before printing it to a terminal.

Request data (an unsigned callback's ``AccountSid``, task attributes, names) can carry ESC and
other C0/C1 control characters that clear the screen, recolour it or set the window title when
printed raw. :func:`escape_control` replaces each with a visible escape (``\\x1b``, ``\\n``),
leaving ordinary text -- including non-ASCII letters -- untouched.
(``output.escape_markup`` also makes it inert inside rich markup.)
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_control(text: str) -> str:
    """``text`` with every control character shown as an escape sequence."""
    if text.isprintable():
        return text
    return _CONTROL.sub(_visible, text)
