"""Escape control characters in outside data before printing it to a terminal.

Request data (an unsigned callback's ``AccountSid``, task attributes, names) can carry ESC and
other C0/C1 control characters that clear the screen, recolour it or set the window title when
printed raw. :func:`escape_control` replaces each with a visible escape (``\\x1b``, ``\\n``),
leaving ordinary text -- including non-ASCII letters -- untouched. :func:`escape_markup` does
that and makes the text inert inside rich markup.
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


def escape_markup(text: str) -> str:
    """Outside data to put in rich markup, shown exactly as it is wherever it is put.

    Control characters become escapes (:func:`escape_control`); the rest is rich's own
    ``escape``, which makes a tag-like ``[...]`` literal and doubles the backslashes right
    before one -- the only backslashes rich reads as escapes. A run of backslashes at the end
    would escape whatever tag follows the text, but doubling it (as ``escape`` does for one)
    would show it twice anywhere else; so the run is doubled and closed by an empty style
    (``[b][/b]``, which shows nothing): each backslash is shown once, before a tag or not.
    """
    from rich.markup import escape

    text = escape_control(text)
    body = text.rstrip("\\")
    if len(body) == len(text):
        return escape(text)
    return escape(body) + "\\" * (2 * (len(text) - len(body))) + "[b][/b]"
