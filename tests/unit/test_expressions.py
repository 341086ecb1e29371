"""The TaskRouter expression language: parsing, evaluation, normalisation and errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskrouter_cli.routing.expressions import (
    MAX_DEPTH,
    ExpressionError,
    parse_expression,
    parse_key,
)

ATTRS: dict[str, Any] = {
    "name": "Alice",
    "level": 3,
    "rating": 4.5,
    "vip": True,
    "nothing": None,
    "languages": ["en", "es"],
    "scores": [1, 2.0, 3],
    "customer": {"tier": "Gold", "ids": [10, 20, 30], "address": {"city": "Paris"}},
    "empty": [],
    "note": "needs billing help",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # equality and its alias
        ('name == "Alice"', True),
        ("name = 'Alice'", True),
        ('name == "alice"', False),  # case-sensitive strings
        ('name != "Bob"', True),
        ('name != "Alice"', False),
        ("level == 3", True),
        ("level == 3.0", True),  # int/float compare numerically
        ("rating == 4.5", True),
        ("vip == true", True),
        ("vip == false", False),
        ("vip != false", True),
        ("1==1", True),
        ("1 == 1", True),
        ("1==2", False),
        # ordering
        ("level > 2", True),
        ("level > 3", False),
        ("level >= 3", True),
        ("level < 3", False),
        ("level <= 3", True),
        ("rating > 4.25", True),
        ("level > -1", True),
        ("level < -0.5", False),
        ('name > "Aardvark"', True),
        ('name < "Bob"', True),
        ('name < "alice"', True),  # "A" < "a" in code-point order
        # CONTAINS
        ('note CONTAINS "billing"', True),
        ('note contains "Billing"', False),
        ('languages CONTAINS "en"', False),  # scalar operator on an array
        ("level CONTAINS 3", False),
        # HAS and its alias
        ('languages HAS "es"', True),
        ('languages has "fr"', False),
        ("languages >- 'en'", True),
        ("scores HAS 2", True),  # 2 == 2.0
        ('name HAS "A"', False),  # array operator on a scalar
        ('languages HAS ["en"]', False),
        ("empty HAS null", False),
        # IN / NOT IN and the alias
        ('name IN ["Alice", "Bob"]', True),
        ("name in ['Bob']", False),
        ('name <- ["Alice"]', True),
        ('name NOT IN ["Bob"]', True),
        ('name not in ["Alice"]', False),
        ("level IN [1, 2, 3]", True),
        ("level IN [1.0, 3.0]", True),
        ('level IN ["3"]', False),  # different types never equal
        ('languages IN ["en", "es"]', False),  # array on the left
        ('name IN "Alice"', False),  # scalar on the right
        ('name NOT IN "Bob"', False),
        ("missing NOT IN [1]", True),
        ("missing IN [null]", True),
        ("level IN []", False),
        ("level NOT IN []", True),
        ("customer.ids[1] IN customer.ids", True),
        # type mismatches are false, even for !=
        ('level == "3"', False),
        ('level != "3"', False),
        ("vip == 1", False),  # bool is not a number
        ("vip != 1", False),
        ('level > "2"', False),
        ("vip > false", False),
        ('languages == ["en", "es"]', False),
        ('languages != ["en"]', False),
        ("customer == customer", False),
        # null
        ("nothing == null", True),
        ("nothing != null", False),
        ("missing == null", True),
        ("missing != null", False),
        ("languages != null", True),
        ("customer != null", True),
        ("null == null", True),
        ("null == missing", True),
        ("level == null", False),
        ("missing != 3", True),
        ("missing == 3", False),
        ("missing > 3", False),
        ("missing < 3", False),
        ('missing CONTAINS "x"', False),
        # nesting and indexes
        ('customer.tier == "Gold"', True),
        ('customer.address.city == "Paris"', True),
        ("customer.ids[0] == 10", True),
        ("customer.ids[2] == 30", True),
        ("customer.ids[3] == null", True),  # past the end
        ('languages[1] == "es"', True),
        ("customer.tier.deeper == null", True),  # into a string
        ("name[0] == null", True),  # index into a string
        ("customer[0] == null", True),  # index into an object
        ("customer.ids.first == null", True),  # name on an array
        # key against key
        ("level == customer.ids[0]", False),
        ("level < customer.ids[0]", True),
        # keywords as parts of longer keys
        ('customer.tier != "and"', True),
        ("true == true", True),
        ("false == false", True),
        ("TRUE == True", True),
        ("NULL == Null", True),
    ],
)
def test_evaluate(text: str, expected: bool) -> None:
    assert parse_expression(text).evaluate(ATTRS) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1==1 OR 1==2 AND 1==2", True),  # AND binds tighter: 1==1 OR (1==2 AND 1==2)
        ("(1==1 OR 1==2) AND 1==2", False),
        ("1==2 AND 1==1 OR 1==1", True),
        ("1==2 AND (1==1 OR 1==1)", False),
        ("1==1 and 1==1 and 1==2", False),
        ("1==2 or 1==2 or 1==1", True),
        ("((1==1))", True),
        ("(1==1) AND ((1==2) OR (level == 3))", True),
        ("NOT 1==2", True),
        ("not (1==1 OR 1==2)", False),
        ("NOT NOT 1==1", True),
        ("NOT 1==1 AND 1==1", False),  # NOT binds tighter than AND
        ("NOT 1==1 OR 1==1", True),
        ("(skills HAS 'support') AND (languages HAS 'en')", False),
        ("(languages HAS 'es') AnD (level >= 2)", True),
    ],
)
def test_precedence_and_logic(text: str, expected: bool) -> None:
    assert parse_expression(text).evaluate(ATTRS) is expected


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("a=1", "a == 1"),
        ("a >- 'x'", 'a HAS "x"'),
        ("a <- ['x',\"y\"]", 'a IN ["x", "y"]'),
        ("a not   in []", "a NOT IN []"),
        ("a contains 'it''s'", None),  # two adjacent strings: an error, checked below
        ("x == 'say \"hi\"\\n'", 'x == "say \\"hi\\"\\n"'),
        ("x == 'caf\\u00e9'", 'x == "café"'),
        ("(a==1 or b==2) and c==3", "(a == 1 OR b == 2) AND c == 3"),
        ("a==1 or (b==2 and c==3)", "a == 1 OR b == 2 AND c == 3"),
        ("a==1 and (b==2 and c==3)", "a == 1 AND b == 2 AND c == 3"),
        ("not (a==1 or b==2)", "NOT (a == 1 OR b == 2)"),
        ("not a==1", "NOT a == 1"),
        ("x == -2.50", "x == -2.5"),
        ("x == 1e3", "x == 1000.0"),
        ("task.list[0].name == TRUE", "task.list[0].name == true"),
        ("x != NULL", "x != null"),
    ],
)
def test_normalised_form(text: str, normalised: str | None) -> None:
    if normalised is None:
        with pytest.raises(ExpressionError):
            parse_expression(text)
        return
    expr = parse_expression(text)
    assert str(expr) == normalised
    assert str(parse_expression(str(expr))) == normalised


def test_keys_and_trace() -> None:
    expr = parse_expression('task.lang == worker.lang AND worker.skills[0] HAS "x" OR 1==2')
    assert expr.keys() == frozenset({"task.lang", "worker.lang", "worker.skills[0]"})
    context = {"task": {"lang": "es"}, "worker": {"lang": "es", "skills": [["x"]]}}
    assert expr.trace(context) == [
        ("task.lang == worker.lang", True),
        ('worker.skills[0] HAS "x"', True),
        ("1 == 2", False),
    ]
    assert expr.evaluate(context) is True


def test_parse_is_cached() -> None:
    assert parse_expression("level >= 2") is parse_expression("level >= 2")


def test_unary_not_can_be_refused() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression("NOT a == 1", allow_not=False)
    assert (
        str(info.value)
        == "unary NOT is not supported by TaskRouter (use != or NOT IN) at position 0"
    )
    assert parse_expression("a NOT IN [1]", allow_not=False).evaluate({"a": 2}) is True


def test_parse_key() -> None:
    assert str(parse_key("worker.english_level")) == "worker.english_level"
    assert parse_key("worker.levels[1]").resolve({"worker": {"levels": [5, 7]}}) == 7
    with pytest.raises(ExpressionError, match="expected a single key but found 'ASC'"):
        parse_key("worker.x ASC")
    with pytest.raises(ExpressionError, match="expected a key"):
        parse_key("'x'")


_DASH = "'-' must be followed by a digit (negative number); hyphens are not allowed in keys"


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "empty expression (expected a comparison such as 1==1)", 0),
        ("   ", "empty expression (expected a comparison such as 1==1)", 0),
        ("selected_lang ==", "expected a value after '==' but found end of expression", 16),
        ("a == )", "expected a value after '==' but found ')'", 5),
        ("a NOT IN", "expected a value after 'IN' but found end of expression", 8),
        ("a", "expected an operator after 'a' but found end of expression", 1),
        ("a b", "expected an operator after 'a' but found 'b'", 2),
        ('"x"', "expected an operator after '\"x\"' but found end of expression", 3),
        ("== 1", "expected a comparison but found '=='", 0),
        ("a == 1 AND", "expected a comparison after 'AND' but found end of expression", 10),
        ("a == 1 or", "expected a comparison after 'OR' but found end of expression", 9),
        ("a == 1 AND OR b == 2", "expected a comparison but found 'OR'", 11),
        ("a == 1 b == 2", "expected AND, OR or end of expression but found 'b'", 7),
        (
            "a == 1)",
            "expected AND, OR or end of expression but found ')' without a matching '('",
            6,
        ),
        ("(a == 1", "expected ')' to close '(' at position 0 but found end of expression", 7),
        (
            "((a == 1) OR b == 2",
            "expected ')' to close '(' at position 0 but found end of expression",
            19,
        ),
        ("()", "expected a comparison but found ')'", 1),
        ("(", "expected a comparison after '(' but found end of expression", 1),
        ("a NOT b", "expected IN after NOT but found 'b'", 6),
        ("a NOT", "expected IN after NOT but found end of expression", 5),
        ("NOT", "expected a comparison after 'NOT' but found end of expression", 3),
        ("a == 'abc", "unterminated string (missing closing ')", 5),
        ('a == "abc\\"', 'unterminated string (missing closing ")', 5),
        ("a == 'x\\q'", "unknown escape sequence '\\q' in string", 7),
        (
            "a == [1, 2",
            "expected ',' or ']' in the list opened at position 5 but found end of expression",
            10,
        ),
        ("a IN [1,]", "expected a constant in the list opened at position 5 but found ']'", 8),
        ("a IN [b]", "expected a constant in the list opened at position 5 but found 'b'", 6),
        ("a IN [[1]]", "expected a constant in the list opened at position 5 but found '['", 6),
        ("a IN [1 2]", "expected ',' or ']' in the list opened at position 5 but found '2'", 8),
        ("a && b", "'&&' is not an operator (use AND)", 2),
        ("a == 1 || b == 2", "'||' is not an operator (use OR)", 7),
        ("!a", "'!' is not an operator (use != or NOT)", 0),
        ("a-b == 1", _DASH, 1),
        ("a == b-c", _DASH, 6),
        ("a == -", _DASH, 5),
        ("a == 1.", "malformed number '1.'", 5),
        ("a == 12abc", "malformed number '12a'", 5),
        ("a == 1e999", "number '1e999' is out of range", 5),
        ("a. == 1", "expected a key name after '.' but found ' '", 2),
        ("a.b[x] == 1", "expected an array index like [0] after 'a.b' but found '['", 3),
        ("a[-1] == 1", "expected an array index like [0] after 'a' but found '['", 1),
        ("a == 1 # comment", "unexpected character '#'", 7),
        (
            "a == 1 AND (b == 2",
            "expected ')' to close '(' at position 11 but found end of expression",
            18,
        ),
    ],
)
def test_invalid_expressions(text: str, message: str, position: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert info.value.message == message
    assert info.value.position == position
    assert str(info.value) == f"{message} at position {position}"
    assert isinstance(info.value, ValueError)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    deep = "(" * (MAX_DEPTH + 1) + "1==1" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression(deep)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression("NOT " * 1000 + "1==1")
    ok = "(" * MAX_DEPTH + "1==1" + ")" * MAX_DEPTH
    assert parse_expression(ok).evaluate({}) is True


def test_non_string_input() -> None:
    with pytest.raises(ExpressionError, match="expression must be a string, got int"):
        parse_expression(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Properties

VALID_SAMPLES = [
    'languages HAS "es" AND level >= 2',
    "(skills HAS 'support') AND (languages HAS 'english')",
    "customer_value == 'Gold' AND type == 'ticket'",
    'language IN ["en", "es"]',
    "task.requested_agent==worker.agent_id",
    "worker.activity_name in ['Generally Available', 'High Value Tasks']",
    "skill_rating >= 5.1 OR NOT (a.b[0] != null)",
    "a NOT IN [1, -2.5, true, null] or b CONTAINS 'x' and c <- [1]",
]

_ALPHABET = st.sampled_from(
    list("abcxyz019 _.[],()'\"\\=!<>-#&|") + ["AND", "OR", "NOT", "IN", "HAS", "null", "true"]
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_only_raises_expression_error(text: str) -> None:
    try:
        parse_expression(text)
    except ExpressionError as error:
        assert 0 <= error.position <= len(text)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(VALID_SAMPLES),
    st.integers(min_value=0, max_value=80),
    st.integers(min_value=0, max_value=4),
    st.lists(_ALPHABET, max_size=4).map("".join),
)
def test_mutated_expressions_only_raise_expression_error(
    base: str, at: int, delete: int, insert: str
) -> None:
    at = min(at, len(base))
    text = base[:at] + insert + base[at + delete :]
    try:
        expr = parse_expression(text)
    except ExpressionError as error:
        assert 0 <= error.position <= len(text)
    else:
        expr.evaluate(ATTRS)
        str(expr)


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.sampled_from([0.5, -1.5, 2.0]),
    st.sampled_from(["a", "b", "A", "it's", 'say "hi"', "é\n"]),
)
_KEYS = st.sampled_from(["a", "b", "c.d", "c.e[0]", "f[1]", "missing"])
_OPS = st.sampled_from(
    ["==", "=", "!=", ">", ">=", "<", "<=", "CONTAINS", "HAS", ">-", "IN", "<-", "NOT IN"]
)


def _constant_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_constant_text(v) for v in value) + "]"
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "True" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"
    return repr(value)


_OPERANDS = st.one_of(
    _KEYS, _SCALARS.map(_constant_text), st.lists(_SCALARS, max_size=3).map(_constant_text)
)
_COMPARISONS = st.builds(lambda a, op, b: f"{a} {op} {b}", _OPERANDS, _OPS, _OPERANDS)
_EXPRESSIONS = st.recursive(
    _COMPARISONS,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} AND {b}", inner, inner),
        st.builds(lambda a, b: f"{a} or {b}", inner, inner),
        st.builds(lambda a: f"({a})", inner),
        st.builds(lambda a: f"NOT ({a})", inner),
    ),
    max_leaves=6,
)
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3))
_CONTEXTS = st.fixed_dictionaries(
    {},
    optional={
        "a": _VALUES,
        "b": _VALUES,
        "c": st.fixed_dictionaries(
            {}, optional={"d": _VALUES, "e": st.lists(_SCALARS, max_size=2)}
        ),
        "f": st.lists(_SCALARS, max_size=3),
    },
)


@settings(max_examples=200, deadline=None)
@given(_EXPRESSIONS, st.lists(_CONTEXTS, min_size=1, max_size=4))
def test_normalised_form_round_trips(text: str, contexts: list[dict[str, Any]]) -> None:
    expr = parse_expression(text)
    again = parse_expression(str(expr))
    assert str(again) == str(expr)
    assert again.keys() == expr.keys()
    for context in contexts:
        assert again.evaluate(context) == expr.evaluate(context)
