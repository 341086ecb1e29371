"""Workflow configuration: validation messages, filter matching, target walk, skip_if, order_by."""

from __future__ import annotations

import json
from typing import Any

import pytest

from taskrouter_cli.routing.workflow import (
    NoMatchingFilter,
    TargetStep,
    WorkflowConfigError,
    WorkflowTimeout,
    order_workers,
    parse_order_by,
    parse_workflow_configuration,
)

SPANISH = "WQ" + "a" * 32
ENGLISH = "WQ" + "b" * 32
Q1, Q2, Q3 = ("WQ" + c * 32 for c in "123")
DEFAULT = "WQ" + "d" * 32
ALICE = "WK" + "0" * 32

QUICKSTART = {
    "task_routing": {
        "filters": [
            {
                "filter_friendly_name": "Spanish",
                "expression": 'selected_language == "es"',
                "targets": [{"queue": SPANISH}],
            },
            {
                "filter_friendly_name": "English",
                "expression": 'selected_language == "en"',
                "targets": [{"queue": ENGLISH}],
            },
        ]
    }
}


def parse(document: Any, *, strict: bool = False) -> Any:
    return parse_workflow_configuration(json.dumps(document), strict=strict)


def test_quickstart_workflow() -> None:
    cfg = parse(QUICKSTART)
    assert cfg.warnings == ()
    assert cfg.default_filter is None
    assert cfg.queue_sids() == (SPANISH, ENGLISH)
    assert [f.friendly_name for f in cfg.filters] == ["Spanish", "English"]
    assert cfg.filters[0].targets[0].queue == SPANISH
    assert cfg.first_matching_filter({"selected_language": "es"}) == (0, cfg.filters[0])
    assert cfg.first_matching_filter({"selected_language": "en"}) == (1, cfg.filters[1])
    assert cfg.first_matching_filter({"selected_language": "fr"}) is None
    match = cfg.match({"selected_language": "en"})
    assert match is not None and match.index == 1 and match.targets[0].queue == ENGLISH
    assert cfg.match({}) is None

    step = cfg.target_for_age({"selected_language": "es"}, 0)
    assert isinstance(step, TargetStep)
    assert (step.queue, step.filter_index, step.filter_name, step.target_index) == (
        SPANISH,
        0,
        "Spanish",
        0,
    )
    assert step.expires_at_age is None and step.priority is None and step.order_by == ()
    # No timeout: the task stays in its queue forever.
    assert cfg.target_for_age({"selected_language": "es"}, 10**6) == step
    assert cfg.target_for_age({"selected_language": "de"}, 0) == NoMatchingFilter()


def test_full_target_fields() -> None:
    cfg = parse(
        {
            "task_routing": {
                "filters": [
                    {
                        "friendly_name": "VIP",
                        "expression": "vip == true",
                        "targets": [
                            {
                                "queue": Q1,
                                "priority": "10",
                                "timeout": 30,
                                "expression": "task.language IN worker.languages",
                                "order_by": "worker.english_level ASC, worker.support desc",
                                "skip_if": "workers.available == 0",
                                "known_worker_sid": "task.requested_agent",
                            },
                            {"priority": 5, "known_worker_friendly_name": "task.agent_name"},
                        ],
                    }
                ],
                "default_filter": {"queue": DEFAULT},
            }
        }
    )
    first, second = cfg.filters[0].targets
    assert cfg.filters[0].friendly_name == "VIP"
    assert (first.queue, first.priority, first.timeout) == (Q1, 10, 30)
    assert first.expression is not None
    assert first.expression.evaluate({"task": {"language": "es"}, "worker": {"languages": ["es"]}})
    assert [str(c) for c in first.order_by] == ["worker.english_level ASC", "worker.support DESC"]
    assert str(first.skip_if) == "workers.available == 0"
    assert first.known_worker({"requested_agent": ALICE}) == ("sid", ALICE)
    assert first.known_worker({}) is None
    assert (second.queue, second.priority, second.timeout) == (Q1, 5, None)  # queue inherited
    assert second.known_worker({"agent_name": "Alice"}) == ("friendly_name", "Alice")
    assert cfg.default_filter is not None and cfg.default_filter.queue == DEFAULT
    assert cfg.queue_sids() == (Q1, DEFAULT)


def test_literal_known_worker_sid() -> None:
    target = {"queue": Q1, "known_worker_sid": ALICE}
    cfg = parse({"task_routing": {"filters": [{"expression": "1==1", "targets": [target]}]}})
    assert cfg.filters[0].targets[0].known_worker({}) == ("sid", ALICE)


def _filters(*filters: Any, default: Any = None) -> dict[str, Any]:
    routing: dict[str, Any] = {"filters": list(filters)}
    if default is not None:
        routing["default_filter"] = default
    return {"task_routing": routing}


T0 = "task_routing.filters[0].targets[0]"
DF = "task_routing.default_filter"
GOOD_FILTER = {"expression": "1==1", "targets": [{"queue": Q1}]}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "configuration: must be a JSON object, got a list"),
        ({}, "task_routing: missing (the configuration's top-level key)"),
        (
            {"task-routing": []},
            (
                "task-routing: legacy YAML-style configuration is not supported; use a JSON "
                '{"task_routing": {"filters": [...]}} document'
            ),
        ),
        ({"task_routing": []}, "task_routing: must be an object, got a list"),
        ({"task_routing": {"filters": {}}}, "task_routing.filters: must be a list, got an object"),
        (_filters("x"), "task_routing.filters[0]: must be an object, got a string"),
        (
            _filters(GOOD_FILTER, {"targets": [{"queue": Q1}]}),
            'task_routing.filters[1].expression: missing (use "1==1" to match every task)',
        ),
        (
            _filters({"expression": "a ==", "targets": [{"queue": Q1}]}),
            (
                "task_routing.filters[0].expression: invalid expression 'a ==': "
                "expected a value after '==' but found end of expression at position 4"
            ),
        ),
        (
            _filters({"expression": 5, "targets": [{"queue": Q1}]}),
            "task_routing.filters[0].expression: must be a string, got a number",
        ),
        (
            _filters({"expression": "1==1"}),
            "task_routing.filters[0].targets: missing (a filter needs at least one target)",
        ),
        (
            _filters({"expression": "1==1", "targets": []}),
            "task_routing.filters[0].targets: must be a non-empty list, got an empty list",
        ),
        (
            _filters({"expression": "1==1", "targets": [5]}),
            f"{T0}: must be an object, got a number",
        ),
        (
            _filters(GOOD_FILTER, {"expression": "1==1", "targets": [{"priority": 1}]}),
            (
                "task_routing.filters[1].targets[0].queue: missing "
                "(the first target of a filter must name a TaskQueue SID)"
            ),
        ),
        (
            _filters({"expression": "1==1", "targets": [{"queue": "WQ123"}]}),
            f'{T0}.queue: must be a TaskQueue SID (WQ + 32 hex digits), got "WQ123"',
        ),
        (
            _filters({"expression": "1==1", "targets": [{"queue": "WW" + "a" * 32}]}),
            (f'{T0}.queue: must be a TaskQueue SID (WQ + 32 hex digits), got "WW{"a" * 32}"'),
        ),
        (
            _filters({"expression": "1==1", "targets": [{"queue": Q1, "priority": "high"}]}),
            f'{T0}.priority: must be an integer (or a numeric string), got "high"',
        ),
        (
            _filters({"expression": "1==1", "targets": [{"queue": Q1, "priority": True}]}),
            f"{T0}.priority: must be an integer (or a numeric string), got true",
        ),
        (
            _filters({"expression": "1==1", "targets": [{"queue": Q1, "timeout": 0}]}),
            f"{T0}.timeout: must be a positive integer (seconds), got 0",
        ),
        (
            _filters({"expression": "1==1", "targets": [{"queue": Q1, "timeout": "10"}]}),
            f'{T0}.timeout: must be a positive integer (seconds), got "10"',
        ),
        (
            _filters({"expression": "1==1", "targets": [{"queue": Q1, "timeout": 1.5}]}),
            f"{T0}.timeout: must be a positive integer (seconds), got 1.5",
        ),
        (
            _filters({"expression": "1==1", "targets": [{"queue": Q1, "expression": "task.x >"}]}),
            (
                f"{T0}.expression: invalid expression 'task.x >': "
                "expected a value after '>' but found end of expression at position 8"
            ),
        ),
        (
            _filters(
                {"expression": "1==1", "targets": [{"queue": Q1, "skip_if": "workers.available"}]}
            ),
            (
                f"{T0}.skip_if: invalid expression 'workers.available': "
                "expected an operator after 'workers.available' "
                "but found end of expression at position 17"
            ),
        ),
        (
            _filters({"expression": "1==1", "targets": [{"queue": Q1, "order_by": "worker.x UP"}]}),
            f"{T0}.order_by: clause 1: direction must be ASC or DESC, got 'UP'",
        ),
        (
            _filters({"expression": "1==1", "targets": [{"queue": Q1, "order_by": "task.x"}]}),
            (f"{T0}.order_by: clause 1: 'task.x' must be a worker attribute like worker.level"),
        ),
        (
            _filters({"expression": "1==1", "targets": [{"queue": Q1, "known_worker_sid": "bob"}]}),
            (
                f"{T0}.known_worker_sid: must be a task attribute reference "
                "like task.requested_agent or a Worker SID, got 'bob'"
            ),
        ),
        (
            _filters(
                {
                    "expression": "1==1",
                    "targets": [
                        {
                            "queue": Q1,
                            "known_worker_sid": "task.a",
                            "known_worker_friendly_name": "task.b",
                        }
                    ],
                }
            ),
            f"{T0}: give known_worker_sid or known_worker_friendly_name, not both",
        ),
        (
            _filters({"filter_friendly_name": 3, "expression": "1==1", "targets": [{"queue": Q1}]}),
            "task_routing.filters[0].filter_friendly_name: must be a string, got a number",
        ),
        (
            _filters(default={"queue": "nope"}),
            f'{DF}.queue: must be a TaskQueue SID (WQ + 32 hex digits), got "nope"',
        ),
        (
            _filters(default={}),
            f"{DF}.queue: missing (the default_filter must name a TaskQueue SID)",
        ),
        (_filters(default=[Q1]), "task_routing.default_filter: must be an object, got a list"),
    ],
)
def test_invalid_configuration(document: Any, message: str) -> None:
    with pytest.raises(WorkflowConfigError) as info:
        parse(document)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "where"),
    [("", "line 1 column 1 (char 0)"), ("{", "line 1 column 2 (char 1)"), ("[" * 100000, None)],
)
def test_invalid_json(text: str, where: str | None) -> None:
    with pytest.raises(WorkflowConfigError) as info:
        parse_workflow_configuration(text)
    # Our prefix and the position; the decoder's own words vary between Python versions.
    assert str(info.value).startswith("configuration: not valid JSON (")
    if where is not None:
        assert str(info.value).endswith(f": {where})")
    assert info.value.path == "configuration"


def test_unknown_keys_warn_or_fail() -> None:
    document = {
        "task_routing": {
            "filters": [
                {"expression": "1==1", "target": [], "targets": [{"queue": Q1, "prio": 1}]}
            ],
        },
        "extra": 1,
    }
    cfg = parse(document)
    assert cfg.warnings == (
        "configuration.extra: unknown key (expected one of: task_routing)",
        (
            "task_routing.filters[0].target: unknown key (expected one of: filter_friendly_name, "
            "friendly_name, expression, targets); did you mean 'targets'?"
        ),
        (
            f"{T0}.prio: unknown key (expected one of: queue, priority, "
            "timeout, expression, order_by, skip_if, known_worker_sid, "
            "known_worker_friendly_name); "
            "did you mean 'priority'?"
        ),
    )
    with pytest.raises(WorkflowConfigError) as info:
        parse(document, strict=True)
    assert str(info.value) == "configuration.extra: unknown key (expected one of: task_routing)"


def test_other_warnings() -> None:
    cfg = parse(
        _filters(
            {
                "expression": "1==1",
                "targets": [{"queue": Q1, "expression": "language == 'es'"}, {"queue": Q2}],
            }
        )
    )
    assert cfg.warnings == (
        f"{T0}.expression: keys must start with task. or worker.; language will always be null",
        (
            "task_routing.filters[0]: a target without timeout or skip_if comes before "
            "the last one, so later targets are never reached"
        ),
    )
    assert parse({"task_routing": {}}).warnings == (
        "task_routing: no filters and no default_filter (routes no task)",
    )


def test_non_string_input() -> None:
    with pytest.raises(WorkflowConfigError, match="configuration: must be a JSON string, got dict"):
        parse_workflow_configuration({})  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Routing walk

THREE_STEPS = _filters(
    {
        "filter_friendly_name": "Escalating",
        "expression": "1==1",
        "targets": [
            {"queue": Q1, "timeout": 10},
            {"queue": Q2, "timeout": 10, "priority": 5},
            {"queue": Q3, "timeout": 10, "priority": 10},
        ],
    }
)


@pytest.mark.parametrize(
    ("age", "queue", "target_index", "expires"),
    [
        (0, Q1, 0, 10),
        (3, Q1, 0, 10),
        (8, Q1, 0, 10),  # §3.5: reservation at t=3 times out at t=8 -> still Q1's window
        (9.999, Q1, 0, 10),
        (10, Q2, 1, 20),
        (18, Q2, 1, 20),  # Q2's deadline is t=20 (cumulative), not t=18
        (19.5, Q2, 1, 20),
        (20, Q3, 2, 30),
        (29, Q3, 2, 30),
    ],
)
def test_target_timeouts_are_cumulative_on_task_age(
    age: float, queue: str, target_index: int, expires: float
) -> None:
    step = parse(THREE_STEPS).target_for_age({}, age)
    assert isinstance(step, TargetStep)
    assert (step.queue, step.target_index, step.expires_at_age) == (queue, target_index, expires)


def test_falling_off_the_last_target_is_a_workflow_timeout() -> None:
    cfg = parse(THREE_STEPS)
    assert cfg.target_for_age({}, 30) == WorkflowTimeout(0, "Escalating", 30)
    assert cfg.target_for_age({}, 1000).reason == "workflow.timeout"
    # A timed-out filter never falls into the default_filter.
    with_default = parse(
        {"task_routing": {**THREE_STEPS["task_routing"], "default_filter": {"queue": DEFAULT}}}
    )
    assert isinstance(with_default.target_for_age({}, 30), WorkflowTimeout)


def test_default_filter_fallback() -> None:
    cfg = parse(
        {"task_routing": {**QUICKSTART["task_routing"], "default_filter": {"queue": DEFAULT}}}
    )
    step = cfg.target_for_age({"selected_language": "fr"}, 5)
    assert isinstance(step, TargetStep)
    assert (step.queue, step.filter_index, step.filter_name, step.expires_at_age) == (
        DEFAULT,
        None,
        None,
        None,
    )
    match = cfg.match({"selected_language": "fr"})
    assert match is not None and match.index is None and match.targets[0].queue == DEFAULT
    only_default = parse({"task_routing": {"default_filter": {"queue": DEFAULT}}})
    assert isinstance(only_default.target_for_age({}, 0), TargetStep)


SKIPPING = _filters(
    {
        "filter_friendly_name": "Skippy",
        "expression": "type == 'support'",
        "targets": [
            {"queue": Q1, "timeout": 10, "skip_if": "workers.available == 0"},
            {"queue": Q2, "timeout": 10},
            {"queue": Q3, "skip_if": "1==1"},
        ],
    },
    {"expression": "type == 'support'", "targets": [{"queue": Q2}]},
    default={"queue": DEFAULT},
)


def _skip_all(step: TargetStep) -> bool:
    return step.target.skip_applies({"available": 0, "unavailable": 3}, reservable_now=False)


def test_skip_if_passes_over_a_target_keeping_later_deadlines() -> None:
    cfg = parse(SKIPPING)
    seen: list[tuple[int | None, int]] = []

    def skip(step: TargetStep) -> bool:
        seen.append((step.filter_index, step.target_index))
        return _skip_all(step)

    step = cfg.target_for_age({"type": "support"}, 0, skip=skip)
    assert isinstance(step, TargetStep)
    assert (step.queue, step.target_index, step.expires_at_age, step.skipped) == (
        Q2,
        1,
        20,
        ((0, 0),),
    )
    assert seen == [(0, 0)]  # only targets with skip_if are asked about
    # Without a skip callback nothing is skipped.
    no_skip = cfg.target_for_age({"type": "support"}, 0)
    assert isinstance(no_skip, TargetStep) and no_skip.queue == Q1


def test_skipping_the_last_target_moves_to_the_next_filter_then_default() -> None:
    cfg = parse(SKIPPING)
    step = cfg.target_for_age({"type": "support"}, 25, skip=_skip_all)
    # targets 0 and 1 timed out (age 25 >= 20), target 2 skipped -> next matching filter
    assert isinstance(step, TargetStep)
    assert (step.queue, step.filter_index, step.skipped) == (Q2, 1, ((0, 2),))
    # Not skippable target 1 stops the walk at age 0 ...
    only_first = parse(_filters(SKIPPING["task_routing"]["filters"][0], default={"queue": DEFAULT}))
    step = only_first.target_for_age({"type": "support"}, 0, skip=lambda s: True)
    assert isinstance(step, TargetStep)
    assert (step.queue, step.filter_index, step.skipped) == (Q2, 0, ((0, 0),))
    # ... but once it has timed out, skipping the last target falls to the default_filter.
    step = only_first.target_for_age({"type": "support"}, 20, skip=lambda s: True)
    assert isinstance(step, TargetStep)
    assert (step.queue, step.filter_index, step.skipped) == (DEFAULT, None, ((0, 2),))
    no_default = parse(_filters(SKIPPING["task_routing"]["filters"][0]))
    decision = no_default.target_for_age({"type": "support"}, 20, skip=lambda s: True)
    assert decision == NoMatchingFilter(((0, 2),))
    assert decision.reason == "No matching filter"


@pytest.mark.parametrize(
    ("skip_if", "counts", "reservable_now", "expected"),
    [
        ("workers.available == 0", {"available": 0}, False, True),
        ("workers.available == 0", {"available": 0}, True, False),  # a reservation happened
        ("workers.available == 0", {"available": 2}, False, False),
        ("1==1", {}, False, True),
        ("workers.WA" + "c" * 32 + " > 1", {"WA" + "c" * 32: 2}, False, True),
        (
            "workers.unavailable >= 3 AND workers.available == 0",
            {"available": 0, "unavailable": 3},
            False,
            True,
        ),
    ],
)
def test_skip_applies(
    skip_if: str, counts: dict[str, int], reservable_now: bool, expected: bool
) -> None:
    cfg = parse(_filters({"expression": "1==1", "targets": [{"queue": Q1, "skip_if": skip_if}]}))
    target = cfg.filters[0].targets[0]
    assert target.skip_applies(counts, reservable_now=reservable_now) is expected


def test_skip_applies_without_skip_if_is_false() -> None:
    assert parse(QUICKSTART).filters[0].targets[0].skip_applies({}, reservable_now=False) is False


# --------------------------------------------------------------------------------------------
# order_by


def test_order_workers() -> None:
    workers = [
        {"name": "a", "english": 2, "support": 1},
        {"name": "b", "english": 1, "support": 1},
        {"name": "c", "support": 9},
        {"name": "d", "english": 1, "support": 5},
        {"name": "e", "english": "3", "support": 5},  # not a number: last
        {"name": "f", "english": True},  # booleans are not numbers
        {"name": "g", "english": 2.5, "support": 1},
    ]
    order = parse_order_by("worker.english ASC, worker.support DESC")
    assert [w["name"] for w in order_workers(workers, order)] == ["d", "b", "a", "g", "c", "e", "f"]
    order = parse_order_by("worker.english desc")
    assert [w["name"] for w in order_workers(workers, order)] == ["g", "a", "b", "d", "c", "e", "f"]
    assert order_workers(workers, ()) == workers


def test_order_workers_with_an_accessor() -> None:
    records = [("w1", {"level": 1}), ("w2", {"skills": {"level": 7}}), ("w3", {"level": 4})]
    order = parse_order_by("worker.level DESC")
    assert [r[0] for r in order_workers(records, order, lambda r: r[1])] == ["w3", "w1", "w2"]
    nested = parse_order_by("worker.skills.level")
    assert [r[0] for r in order_workers(records, nested, lambda r: r[1])] == ["w2", "w1", "w3"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "order_by: must be a non-empty string like 'worker.level DESC'"),
        ("worker.a ASC,", "order_by: clause 2 '' must be '<worker attribute> [ASC|DESC]'"),
        (
            "worker.a ASC extra",
            "order_by: clause 1 'worker.a ASC extra' must be '<worker attribute> [ASC|DESC]'",
        ),
        ("worker", "order_by: clause 1: 'worker' must be a worker attribute like worker.level"),
        (
            "worker.a-b",
            (
                "order_by: clause 1: '-' must be followed by a digit (negative number); "
                "hyphens are not allowed in keys at position 8"
            ),
        ),
    ],
)
def test_invalid_order_by(text: str, message: str) -> None:
    with pytest.raises(WorkflowConfigError) as info:
        parse_order_by(text)
    assert str(info.value) == message
