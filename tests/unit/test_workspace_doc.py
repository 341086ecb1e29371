"""Reading a workspace file never fails with anything but one UsageError naming a place."""

from __future__ import annotations

import json
import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from taskrouter_cli.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib
from taskrouter_cli.operations.workspace_doc import (
    WorkspaceDoc,
    document_to_data,
    dump_document,
    parse_document,
)

KEYS = st.sampled_from(
    [
        "workspace",
        "activities",
        "queues",
        "workers",
        "workflows",
        "task_channels",
        "name",
        "available",
        "attributes",
        "configuration",
        "channels",
        "target_workers",
        "max_reserved_workers",
        "task_order",
        "unique_name",
        "activity",
        "x",
    ]
)
SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "a", "FIFO", "{}"])
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.dictionaries(KEYS, VALUES, max_size=5))
def test_any_document_parses_or_names_its_problem(raw: dict[str, Any]) -> None:
    try:
        doc = parse_document(raw, "ws.json")
    except UsageError as error:
        assert error.one_line().startswith("ws.json: ")
        assert "\n" not in error.one_line()
        return
    assert isinstance(doc, WorkspaceDoc)
    # whatever parses is written back and read again unchanged, in both formats
    assert parse_document(json.loads(dump_document(doc, "json")), "ws.json") == doc
    assert parse_document(tomllib.loads(dump_document(doc, "toml")), "ws.toml") == doc


def test_what_is_written_reads_back_the_same() -> None:
    raw = {
        "workspace": {"name": "W", "multi_task_enabled": True},
        "activities": [{"name": "Offline", "available": False}],
        "workers": [
            {"name": "A", "attributes": {"n": None, "l": [1, "x"]}, "channels": {"chat": 2}}
        ],
        "workflows": [{"name": "F", "configuration": {"task_routing": {"filters": []}}}],
    }
    doc = parse_document(raw)
    assert document_to_data(doc) == raw
    assert parse_document(document_to_data(parse_document(raw))) == doc
