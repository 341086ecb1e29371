"""Expression constructs the parser accepts but Twilio's TaskRouter docs do not document.

The sandbox and ``trcli workflow lint`` share this list, so what the sandbox warns about and
what lint flags are the same findings::

    for item in undocumented_constructs('NOT (level > 2) and vip == true'):
        item.position, item.construct, item.message
    # 0  'unary NOT'           'unary NOT is not documented by Twilio; may be refused live ...'
    # 16 'lower-case operator' "lower-case 'and' is not documented by Twilio; write AND ..."

Twilio's expression reference ("TaskRouter Expression Syntax" / workflow configuration docs)
writes every operator in capitals (AND, OR, HAS, IN, NOT IN, CONTAINS) and has no unary NOT;
the parser accepts both as extensions (see :mod:`taskrouter_cli.routing.expressions`).
"""

from __future__ import annotations

from dataclasses import dataclass

from taskrouter_cli.routing.expressions import ExpressionError, _tokenize

__all__ = ["UndocumentedConstruct", "undocumented_constructs"]

_OPERATOR_WORDS = frozenset({"AND", "OR", "NOT", "IN", "HAS", "CONTAINS"})
MAY_BE_REFUSED = "not documented by Twilio; may be refused live"


@dataclass(frozen=True)
class UndocumentedConstruct:
    position: int
    """0-based column in the expression."""
    construct: str
    """``unary NOT`` or ``lower-case operator``."""
    message: str


def undocumented_constructs(text: str) -> tuple[UndocumentedConstruct, ...]:
    """Every undocumented construct in ``text``, in source order (nothing for text that does not
    tokenize: the parser reports that)."""
    try:
        tokens = _tokenize(text)
    except ExpressionError:
        return ()
    found: list[UndocumentedConstruct] = []
    for index, token in enumerate(tokens):
        if token.kind != "kw" or token.text not in _OPERATOR_WORDS:
            continue
        source = text[token.position : token.position + len(token.text)]
        if token.text == "NOT":
            following = tokens[index + 1]
            if not (following.kind == "kw" and following.text == "IN"):
                found.append(
                    UndocumentedConstruct(
                        token.position,
                        "unary NOT",
                        f"unary NOT is {MAY_BE_REFUSED} (use != or NOT IN)",
                    )
                )
        if source != token.text:
            found.append(
                UndocumentedConstruct(
                    token.position,
                    "lower-case operator",
                    f"lower-case '{source}' is {MAY_BE_REFUSED} (write {token.text})",
                )
            )
    return tuple(found)
