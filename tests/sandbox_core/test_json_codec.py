"""The sandbox's JSON encoder (orjson on the hot paths) gives the standard library's JSON value
for everything a record, an Event or an answer holds, including what orjson refuses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from taskrouter_cli.sandbox.json_codec import to_json


@pytest.mark.parametrize(
    "value",
    [
        {"date": datetime(2024, 1, 1, 12, tzinfo=timezone.utc), "n": 1.0, "none": None},
        {"date": datetime(2024, 1, 1, 12, 0, 0, 123, tzinfo=timezone(timedelta(hours=5)))},
        {"text": "caf\u00e9 \u2603", "nested": [{"a": [1, 2]}, True]},
        {"big": 10**30, "date": datetime(2024, 1, 1, tzinfo=timezone.utc)},
        {"odd": "bad byte \udcc3 from a header"},
    ],
    ids=["utc date", "other offset", "non-ascii", "beyond 64 bits", "lone surrogate"],
)
def test_encodes_the_same_json_value_as_the_standard_library(value: dict[str, object]) -> None:
    encoded = to_json(value)
    assert isinstance(encoded, bytes)
    encoded.decode("utf-8")  # always valid UTF-8, whatever the input held
    expected = json.loads(json.dumps(value, default=lambda d: d.isoformat()))
    assert json.loads(encoded) == expected


def test_default_handles_what_json_has_no_type_for() -> None:
    assert json.loads(to_json({"s": frozenset({"x"})}, lambda v: sorted(v))) == {"s": ["x"]}
    with pytest.raises(TypeError):
        to_json({"s": object()})
