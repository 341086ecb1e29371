"""``routing.lint``: the judgements behind ``trcli workflow lint``, without a workspace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from taskrouter_cli.routing.dry_run import QueueState, WorkerState
from taskrouter_cli.routing.lint import lint_configuration

QUEUE = "WQ" + "1" * 32
QUEUES = {QUEUE: QueueState(QUEUE, "Support", "1==1")}


def worker(name: str, **attributes: Any) -> WorkerState:
    return WorkerState(
        sid="WK" + name[0] * 32,
        name=name,
        attributes=attributes,
        activity_sid="WA" + "0" * 32,
        activity="Idle",
        available=True,
        used=0,
        capacity=1,
    )


WORKERS = (worker("Ann", level=3, team="a"), worker("Ben", level=1, team="b"))


def codes(*filters: dict[str, Any], **routing: Any) -> list[tuple[str, str]]:
    """(code, path) of every error (warnings such as unary NOT left out)."""
    text = json.dumps({"task_routing": {"filters": list(filters), **routing}})
    findings = lint_configuration(text, QUEUES, WORKERS)
    return [(f.code, f.path) for f in findings if f.severity == "error"]


def target(**fields: Any) -> dict[str, Any]:
    return {"queue": QUEUE, **fields}


@pytest.mark.parametrize(
    "expression",
    [
        "worker.level > 1",
        "task.vip == true",  # unknown at lint time: could hold
        "worker.level > 5 OR task.vip == true",
        'NOT (worker.team == "c")',
        'worker.team IN ["b", "c"] AND task.x == 1',
    ],
)
def test_a_target_some_worker_could_match_is_fine(expression: str) -> None:
    assert codes({"expression": "1==1", "targets": [target(expression=expression)]}) == []


@pytest.mark.parametrize(
    "expression",
    [
        "worker.level > 5",
        "worker.level > 5 AND task.vip == true",
        "NOT (worker.level >= 1)",
        'worker.team == "c" OR worker.missing != null',
    ],
)
def test_a_target_no_worker_can_match_is_flagged(expression: str) -> None:
    assert codes({"expression": "1==1", "targets": [target(expression=expression)]}) == [
        ("unmatchable-target", "task_routing.filters[0].targets[0]")
    ]


@pytest.mark.parametrize(
    ("first", "shadowed"),
    [
        ("1==1", True),
        ("1 == 1 OR x == 2", True),
        ('"a" == "a" AND 2 > 1', True),
        ("x == 1", False),
        ("1 == 2", False),
        ("taskrouter.currentTime > 0", False),  # depends on the time: not every task
    ],
)
def test_a_filter_after_one_that_matches_every_task_is_shadowed(first: str, shadowed: bool) -> None:
    found = codes(
        {"expression": first, "targets": [target()]},
        {"expression": "y == 2", "targets": [target()]},
    )
    assert found == ([("shadowed-filter", "task_routing.filters[1]")] if shadowed else [])


def test_without_a_workspace_only_the_configuration_is_checked() -> None:
    text = json.dumps(
        {"task_routing": {"filters": [{"expression": "1==1", "targets": [target()]}]}}
    )
    assert lint_configuration(text) == ()
    missing = json.dumps({"task_routing": {"default_filter": {"queue": "WQ" + "2" * 32}}})
    assert [f.code for f in lint_configuration(missing, QUEUES, WORKERS)] == ["unknown-queue"]


def test_an_undocumented_construct_in_a_target_queue_is_a_warning_at_its_reference() -> None:
    loose = {QUEUE: QueueState(QUEUE, "Support", 'team == "a" or team == "b"')}
    text = json.dumps(
        {
            "task_routing": {
                "filters": [{"expression": "1==1", "targets": [target(timeout=10), target()]}]
            }
        }
    )
    findings = lint_configuration(text, loose, WORKERS)
    assert [(f.severity, f.code, f.path, f.position) for f in findings] == [
        ("warning", "undocumented", "task_routing.filters[0].targets[0].queue", 12)
    ]
    assert "queue Support's target_workers: lower-case 'or'" in findings[0].message
