"""The TaskRouter expression language: tokenize -> parse -> AST -> evaluate.

Used by workflow filters, TaskQueue ``target_workers``, target ``expression``, ``skip_if`` and the
Workers list ``TargetWorkersExpression``::

    expr = parse_expression('languages HAS "es" AND level >= 2')
    expr.evaluate({"languages": ["en", "es"], "level": 3})      # True
    expr.keys()             # frozenset({'languages', 'level'})
    str(expr)               # 'languages HAS "es" AND level >= 2'
    expr.trace({"languages": ["en"], "level": 3})
    # [('languages HAS "es"', False), ('level >= 2', True)]

Grammar (keywords are case-insensitive; AND binds tighter than OR)::

    expression := or EOF
    or         := and ( OR and )*
    and        := unary ( AND unary )*
    unary      := NOT unary | '(' or ')' | comparison
    comparison := operand operator operand
    operand    := constant | list | key
    operator   := == | = | != | > | >= | < | <= | CONTAINS | HAS | >- | IN | <- | NOT IN
    list       := '[' ( constant ( ',' constant )* )? ']'
    constant   := 'string' | "string" | number | true | false | null
    key        := name ( '.' name | '[' digits ']' )*

Semantics (the behaviour doc, §5.3; choices where TaskRouter's docs are silent are marked):

* A missing key (or an index past the end, or a step into a non-object) resolves to ``null``.
* ``==``/``=`` and ``!=`` with ``null`` on either side are null tests: ``x == null`` is true when
  ``x`` is missing/null, ``x != null`` when it is present (also for arrays).
* Otherwise every comparison of two different types is false -- including ``!=``. Numbers compare
  numerically (int and float alike); booleans are not numbers. Strings compare case-sensitively
  (UNCONFIRMED in TaskRouter's docs; chosen).
* Scalar operators (``==`` ``!=`` ``>`` ``>=`` ``<`` ``<=`` ``CONTAINS``) on an array are false.
* ``HAS`` needs an array on the left and a scalar on the right; ``IN``/``NOT IN`` need a scalar on
  the left and an array on the right; otherwise false. ``null`` counts as a scalar here.
* ``CONTAINS`` is substring containment of two strings.
* ``>-`` and ``<-`` are always read as ``HAS`` and ``IN`` (longest match), so write ``x > -1``
  with a space to compare against a negative number.
* Unary ``NOT`` is not documented by TaskRouter (UNCONFIRMED). We accept it by default as an
  extension (``NOT (a == 1 OR b == 2)``, binding tighter than AND); pass ``allow_not=False`` to
  reject it like strict TaskRouter probably does.
* A bare value (``true``, ``some_key``) is not an expression: use ``1==1`` for always-true.

Every failure to parse raises :class:`ExpressionError` (a ``ValueError``) with a 0-based
``position`` and a message saying what was expected and what was found.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPRESSION_LENGTH",
    "And",
    "Comparison",
    "Constant",
    "Expression",
    "ExpressionError",
    "Key",
    "Node",
    "Not",
    "Or",
    "parse_expression",
    "parse_key",
    "resolve_key",
]

MAX_DEPTH = 64
"""Deepest nesting of parentheses/NOT accepted (keeps recursion bounded for any input)."""

MAX_EXPRESSION_LENGTH = 16_384
"""Longest expression accepted, in characters. TaskRouter documents no limit; this bound keeps
parsing one expression under ~25 ms (a 1 MB ``IN [...]`` list took over a second) and the
parse cache's memory bounded. Longer ones are refused, the stricter side."""


class ExpressionError(ValueError):
    """An expression could not be parsed; ``position`` is the 0-based column of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.message = message
        self.position = position


# --------------------------------------------------------------------------------------------
# Tokens

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INDEX = re.compile(r"\[(\d+)\]")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "HAS", "CONTAINS", "TRUE", "FALSE", "NULL"})
# Longest first so that ">=" wins over ">" and ">-" over ">".
_SYMBOLS = ("==", "!=", ">=", "<=", ">-", "<-", "=", ">", "<", "(", ")", "[", "]", ",")
_SIMPLE_ESCAPES = {
    "\\": "\\",
    "'": "'",
    '"': '"',
    "/": "/",
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
}
_HINTS = {
    "&&": "'&&' is not an operator (use AND)",
    "||": "'||' is not an operator (use OR)",
    "!": "'!' is not an operator (use != or NOT)",
    "-": "'-' must be followed by a digit (negative number); hyphens are not allowed in keys",
}

KeyPart = str | int


@dataclass(frozen=True)
class _Token:
    kind: str  # "str", "num", "key", "kw", "sym", "end"
    text: str  # source text (keywords upper-cased)
    position: int
    value: Any = None

    def describe(self) -> str:
        if self.kind == "end":
            return "end of expression"
        return f"'{self.text}'"


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return "".join(out), i + 1
        if char == "\\":
            if i + 1 >= len(text):
                break
            code = text[i + 1]
            if code in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[code])
                i += 2
                continue
            if code == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            raise ExpressionError(f"unknown escape sequence '\\{code}' in string", i)
        out.append(char)
        i += 1
    raise ExpressionError(f"unterminated string (missing closing {quote})", start)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in "'\"":
            value, end = _read_string(text, i)
            tokens.append(_Token("str", text[i:end], i, value))
            i = end
            continue
        number = _NUMBER.match(text, i)
        if number:
            raw = number.group()
            end = number.end()
            if end < len(text) and (text[end].isalnum() or text[end] in "_."):
                raise ExpressionError(f"malformed number '{raw}{text[end]}'", i)
            try:
                number_value = float(raw) if any(c in raw for c in ".eE") else int(raw)
            except ValueError:  # more digits than int() accepts
                number_value = math.inf
            if not math.isfinite(number_value):
                raise ExpressionError(f"number '{raw[:20]}' is out of range", i)
            tokens.append(_Token("num", raw, i, number_value))
            i = end
            continue
        name = _NAME.match(text, i)
        if name:
            end = name.end()
            word = name.group()
            if word.upper() in _KEYWORDS and not (end < len(text) and text[end] in ".["):
                tokens.append(_Token("kw", word.upper(), i))
                i = end
                continue
            parts: list[KeyPart] = [word]
            while end < len(text):
                if text[end] == ".":
                    segment = _NAME.match(text, end + 1)
                    if segment is None:
                        found = _describe_at(text, end + 1)
                        raise ExpressionError(
                            f"expected a key name after '.' but found {found}", end + 1
                        )
                    parts.append(segment.group())
                    end = segment.end()
                elif text[end] == "[":
                    index = _INDEX.match(text, end)
                    if index is None:
                        raise ExpressionError(
                            f"expected an array index like [0] after '{text[i:end]}'"
                            f" but found {_describe_at(text, end)}",
                            end,
                        )
                    parts.append(int(index.group(1)))
                    end = index.end()
                else:
                    break
            tokens.append(_Token("key", text[i:end], i, tuple(parts)))
            i = end
            continue
        for symbol in _SYMBOLS:
            if text.startswith(symbol, i):
                tokens.append(_Token("sym", symbol, i))
                i += len(symbol)
                break
        else:
            for bad, hint in _HINTS.items():
                if text.startswith(bad, i):
                    raise ExpressionError(hint, i)
            raise ExpressionError(f"unexpected character {char!r}", i)
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _describe_at(text: str, position: int) -> str:
    if position >= len(text):
        return "end of expression"
    return repr(text[position])


# --------------------------------------------------------------------------------------------
# AST


def _format_constant(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_format_constant(item) for item in value) + "]"
    out = ['"']
    for char in str(value):
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or 0xD800 <= ord(char) <= 0xDFFF or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _format_key(parts: Sequence[KeyPart]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class Constant:
    """A literal: str, int, float, bool, None, or a tuple of those (a list literal)."""

    value: Any

    def __str__(self) -> str:
        return _format_constant(self.value)

    def resolve(self, context: Mapping[str, Any]) -> Any:
        return list(self.value) if isinstance(self.value, tuple) else self.value


@dataclass(frozen=True)
class Key:
    """A key path such as ``task.skills[0]``; resolves to ``None`` when anything is missing."""

    parts: tuple[KeyPart, ...]

    def __str__(self) -> str:
        return _format_key(self.parts)

    def resolve(self, context: Mapping[str, Any]) -> Any:
        return resolve_key(context, self.parts)


Operand = Constant | Key


def resolve_key(context: Any, parts: Sequence[KeyPart]) -> Any:
    """Follow ``parts`` (names and list indexes) into ``context``; ``None`` when missing."""
    current = context
    for part in parts:
        if isinstance(part, int):
            if isinstance(current, (list, tuple)) and part < len(current):
                current = current[part]
            else:
                return None
        elif isinstance(current, Mapping):
            current = current.get(part)
        else:
            return None
    return current


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


def _equal(left: Any, right: Any) -> bool:
    kind = _kind(left)
    if kind != _kind(right) or kind in ("array", "object"):
        return False
    return bool(left == right)


def _compare(op: str, left: Any, right: Any) -> bool:
    left_kind, right_kind = _kind(left), _kind(right)
    if op in ("==", "!="):
        if left_kind == "null" or right_kind == "null":
            both = left_kind == right_kind
            return both if op == "==" else not both
        if left_kind != right_kind or left_kind in ("array", "object"):
            return False
        return bool(left == right) if op == "==" else bool(left != right)
    if op in (">", ">=", "<", "<="):
        if left_kind != right_kind or left_kind not in ("number", "string"):
            return False
        if op == ">":
            return bool(left > right)
        if op == ">=":
            return bool(left >= right)
        if op == "<":
            return bool(left < right)
        return bool(left <= right)
    if op == "CONTAINS":
        return left_kind == "string" and right_kind == "string" and right in left
    if op == "HAS":
        if left_kind != "array" or right_kind in ("array", "object"):
            return False
        return any(_equal(item, right) for item in left)
    # IN / NOT IN
    if right_kind != "array" or left_kind in ("array", "object"):
        return False
    found = any(_equal(left, item) for item in right)
    return found if op == "IN" else not found


@dataclass(frozen=True)
class Comparison:
    left: Operand
    op: str  # canonical: == != > >= < <= CONTAINS HAS IN "NOT IN"
    right: Operand

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        return _compare(self.op, self.left.resolve(context), self.right.resolve(context))


@dataclass(frozen=True)
class Not:
    operand: Node

    def __str__(self) -> str:
        if isinstance(self.operand, (Comparison, Not)):
            return f"NOT {self.operand}"
        return f"NOT ({self.operand})"

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        return not self.operand.evaluate(context)


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return " AND ".join(f"({op})" if isinstance(op, Or) else str(op) for op in self.operands)

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        return all(op.evaluate(context) for op in self.operands)


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return " OR ".join(str(op) for op in self.operands)

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        return any(op.evaluate(context) for op in self.operands)


Node = Comparison | Not | And | Or


def _walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Not):
        yield from _walk(node.operand)
    elif isinstance(node, (And, Or)):
        for operand in node.operands:
            yield from _walk(operand)


@dataclass(frozen=True)
class Expression:
    """A parsed expression. ``text`` is the source; ``root`` the AST."""

    text: str
    root: Node

    def __str__(self) -> str:
        """The normalised form: canonical operators, double-quoted strings, minimal parentheses."""
        return str(self.root)

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        """True when the expression holds for ``context`` (bare keys resolve in it)."""
        return self.root.evaluate(context)

    def comparisons(self) -> tuple[Comparison, ...]:
        return tuple(node for node in _walk(self.root) if isinstance(node, Comparison))

    def keys(self) -> frozenset[str]:
        """Every key path the expression reads, normalised (``a.b[2]``)."""
        found: set[str] = set()
        for comparison in self.comparisons():
            for operand in (comparison.left, comparison.right):
                if isinstance(operand, Key):
                    found.add(str(operand))
        return frozenset(found)

    def trace(self, context: Mapping[str, Any]) -> list[tuple[str, bool]]:
        """Each comparison's normalised text and its result (all evaluated, in source order)."""
        return [(str(c), c.evaluate(context)) for c in self.comparisons()]


# --------------------------------------------------------------------------------------------
# Parser

_OPERATORS = {
    "==": "==",
    "=": "==",
    "!=": "!=",
    ">": ">",
    ">=": ">=",
    "<": "<",
    "<=": "<=",
    ">-": "HAS",
    "<-": "IN",
    "CONTAINS": "CONTAINS",
    "HAS": "HAS",
    "IN": "IN",
}
_CONSTANT_KEYWORDS = {"TRUE": True, "FALSE": False, "NULL": None}


class _Parser:
    def __init__(self, text: str, allow_not: bool) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.allow_not = allow_not
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def is_keyword(self, word: str) -> bool:
        return self.current.kind == "kw" and self.current.text == word

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise ExpressionError("empty expression (expected a comparison such as 1==1)", 0)
        node = self.parse_or()
        token = self.current
        if token.kind != "end":
            what = "')' without a matching '('" if token.text == ")" else token.describe()
            raise ExpressionError(
                f"expected AND, OR or end of expression but found {what}", token.position
            )
        return node

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.is_keyword("OR"):
            self.advance()
            self.expect_more("OR")
            operands.append(self.parse_and())
        return _combine(Or, operands)

    def parse_and(self) -> Node:
        operands = [self.parse_unary()]
        while self.is_keyword("AND"):
            self.advance()
            self.expect_more("AND")
            operands.append(self.parse_unary())
        return _combine(And, operands)

    def expect_more(self, after: str) -> None:
        if self.current.kind == "end":
            raise ExpressionError(
                f"expected a comparison after '{after}' but found end of expression",
                self.current.position,
            )

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                f"expression nested too deeply (more than {MAX_DEPTH} levels)", token.position
            )

    def parse_unary(self) -> Node:
        token = self.current
        if self.is_keyword("NOT"):
            if not self.allow_not:
                raise ExpressionError(
                    "unary NOT is not supported by TaskRouter (use != or NOT IN)", token.position
                )
            self.enter(token)
            self.advance()
            self.expect_more("NOT")
            node: Node = Not(self.parse_unary())
            self.depth -= 1
            return node
        if token.text == "(" and token.kind == "sym":
            self.enter(token)
            self.advance()
            self.expect_more("(")
            node = self.parse_or()
            closing = self.current
            if not (closing.kind == "sym" and closing.text == ")"):
                raise ExpressionError(
                    f"expected ')' to close '(' at position {token.position} but found "
                    f"{closing.describe()}",
                    closing.position,
                )
            self.advance()
            self.depth -= 1
            return node
        return self.parse_comparison()

    def parse_comparison(self) -> Comparison:
        left = self.parse_operand(None)
        op_token = self.current
        op = self.read_operator()
        if op is None:
            raise ExpressionError(
                f"expected an operator after {self.tokens[self.index - 1].describe()}"
                f" but found {op_token.describe()}",
                op_token.position,
            )
        right = self.parse_operand(op_token if op != "NOT IN" else self.tokens[self.index - 1])
        return Comparison(left, op, right)

    def read_operator(self) -> str | None:
        token = self.current
        if token.kind == "kw" and token.text == "NOT":
            following = self.tokens[self.index + 1]
            if following.kind == "kw" and following.text == "IN":
                self.advance()
                self.advance()
                return "NOT IN"
            raise ExpressionError(
                f"expected IN after NOT but found {following.describe()}", following.position
            )
        if token.kind in ("sym", "kw") and token.text in _OPERATORS:
            self.advance()
            return _OPERATORS[token.text]
        return None

    def parse_operand(self, after: _Token | None) -> Operand:
        token = self.current
        if token.kind == "key":
            self.advance()
            return Key(token.value)
        if token.kind == "sym" and token.text == "[":
            return Constant(self.parse_list())
        if token.kind in ("str", "num") or (
            token.kind == "kw" and token.text in _CONSTANT_KEYWORDS
        ):
            return Constant(self.parse_constant())
        where = f" after '{after.text}'" if after is not None else ""
        what = "a value" if after is not None else "a comparison"
        raise ExpressionError(
            f"expected {what}{where} but found {token.describe()}", token.position
        )

    def parse_constant(self) -> Any:
        token = self.advance()
        if token.kind == "kw":
            return _CONSTANT_KEYWORDS[token.text]
        return token.value

    def parse_list(self) -> tuple[Any, ...]:
        opening = self.advance()
        items: list[Any] = []
        if self.current.kind == "sym" and self.current.text == "]":
            self.advance()
            return ()
        while True:
            token = self.current
            is_constant = token.kind in ("str", "num") or (
                token.kind == "kw" and token.text in _CONSTANT_KEYWORDS
            )
            if not is_constant:
                raise ExpressionError(
                    f"expected a constant in the list opened at position {opening.position}"
                    f" but found {token.describe()}",
                    token.position,
                )
            items.append(self.parse_constant())
            token = self.current
            if token.kind == "sym" and token.text == ",":
                self.advance()
                continue
            if token.kind == "sym" and token.text == "]":
                self.advance()
                return tuple(items)
            raise ExpressionError(
                f"expected ',' or ']' in the list opened at position {opening.position}"
                f" but found {token.describe()}",
                token.position,
            )


def _combine(kind: type[And | Or], operands: list[Node]) -> Node:
    if len(operands) == 1:
        return operands[0]
    flat: list[Node] = []
    for operand in operands:
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    return kind(tuple(flat))


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str, allow_not: bool) -> Expression:
    return Expression(text, _Parser(text, allow_not).parse())


def parse_expression(text: str, *, allow_not: bool = True) -> Expression:
    """Parse ``text`` (cached); raises :class:`ExpressionError` and nothing else."""
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be a string, got {type(text).__name__}", 0)
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is {len(text)} characters long; the limit is {MAX_EXPRESSION_LENGTH}",
            MAX_EXPRESSION_LENGTH,
        )
    return _parse_cached(text, allow_not)


def parse_key(text: str) -> Key:
    """Parse a lone key path such as ``worker.english_level`` (used by ``order_by``)."""
    tokens = _tokenize(text) if isinstance(text, str) else []
    if len(tokens) != 2 or tokens[0].kind != "key":
        found = tokens[0].describe() if tokens else "nothing"
        if len(tokens) > 2 and tokens[0].kind == "key":
            raise ExpressionError(
                f"expected a single key but found {tokens[1].describe()}", tokens[1].position
            )
        raise ExpressionError(f"expected a key such as worker.level but found {found}", 0)
    return Key(tokens[0].value)
