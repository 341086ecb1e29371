"""``trcli workflow test``: the dry run's output, time of day, and bad input."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers.cli import Trcli
from tests.workflow_loop.conftest import ENGLISH, LAB, SPANISH, Lab

SPANISH_TASK = '{"selected_language": "es"}'


def lab_dry_run(trcli: Trcli, *at: str) -> Any:
    """``workflow test Routing Lab`` of a Spanish task as data (``at``: ``--at TIME`` or none)."""
    at_option = ("--at", at[0]) if at else ()
    return (
        trcli("workflow", "test", LAB, "--attributes", SPANISH_TASK, *at_option, "--json")
        .ok()
        .json()
    )


def test_at_evaluates_time_of_day_filters_at_that_time(trcli: Trcli, routing_lab: Lab) -> None:
    data = lab_dry_run(trcli, "2026-12-01T09:30Z")
    assert data["at"] == "2026-12-01T09:30:00Z"
    assert data["filter"]["name"] == "Spanish office hours"
    assert [t["queue"] for t in data["targets"]] == [SPANISH, ENGLISH]
    assert [t["timeout"] for t in data["targets"]] == [30, 60]
    assert data["targets"][0]["priority"] == 5

    evening = lab_dry_run(trcli, "2026-12-01T18:00Z")
    assert evening["filter"]["name"] == "Any language"
    assert [t["queue"] for t in evening["targets"]] == [ENGLISH]


def test_without_at_the_sandbox_clock_decides(trcli: Trcli, sandbox: Any, routing_lab: Lab) -> None:
    noon = lab_dry_run(trcli)
    assert noon["at"] == "2024-01-01T12:00:00Z"  # the fixture's FakeClock, not this machine's
    assert noon["filter"]["name"] == "Spanish office hours"
    sandbox.advance(6 * 3600)
    later = lab_dry_run(trcli)
    assert later["at"] == "2024-01-01T18:00:00Z"
    assert later["filter"]["name"] == "Any language"


def test_json_lists_every_worker_of_each_target_queue(trcli: Trcli, routing_lab: Lab) -> None:
    trcli("worker", "set-activity", "Bob", "Idle").ok()
    data = lab_dry_run(trcli, "2026-12-01T10:00Z")
    spanish, english = data["targets"]
    assert [(w["name"], w["matches"], w["available"]) for w in spanish["workers"]] == [
        ("Alice", True, False)
    ]
    assert english["expression"] == "worker.level >= 1"
    assert sorted((w["name"], w["matches"], w["available"]) for w in english["workers"]) == [
        ("Alice", True, False),
        ("Bob", True, True),
    ]
    assert data["reserved_now"] == []
    assert [(s["age"], s["event"], s["would_reserve"]) for s in data["timeline"]] == [
        (0, "wait", []),
        (30, "reserve", ["Bob"]),
    ]


def test_human_output_shows_filters_workers_and_the_timeline(
    trcli: Trcli, routing_lab: Lab
) -> None:
    out = trcli(
        "workflow", "test", LAB, "--attributes", SPANISH_TASK, "--at", "2026-12-01T10:00Z"
    ).ok()
    text = out.stdout
    assert "✓ 1. Spanish office hours" in text
    assert "Target 1 → queue Customer Care Requests - Spanish" in text
    assert "timeout 30 s" in text
    assert "Alice" in text and "Offline" in text
    assert "Now: nobody would be reserved." in text
    assert "workflow timeout" in text


def test_a_dry_run_creates_no_task(trcli: Trcli, routing_lab: Lab) -> None:
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    trcli("workflow", "test", LAB, "--attributes", SPANISH_TASK).ok()
    assert list(routing_lab.ws.tasks.list()) == []
    alice = next(w for w in routing_lab.ws.workers.list() if w.friendly_name == "Alice")
    assert alice.activity_name == "Idle"


def test_no_matching_filter_says_the_task_would_be_canceled(trcli: Trcli) -> None:
    data = (
        trcli(
            "workflow",
            "test",
            "Incoming Customer Care Requests",
            "--attributes",
            '{"selected_language": "fr"}',
            "--json",
        )
        .ok()
        .json()
    )
    assert data["filter"] is None and data["default_filter"] is False
    assert data["targets"] == []
    assert data["timeline"][0]["event"] == "no-match"
    assert "cancels the task" in data["outcome"]


def test_bad_input_is_one_line_and_exit_2(trcli: Trcli) -> None:
    workflow = "Incoming Customer Care Requests"
    for args in (
        ("--attributes", "{not json"),
        ("--attributes", "[1]"),
        ("--attributes", "{}", "--at", "tomorrow"),
    ):
        out = trcli("workflow", "test", workflow, *args)
        assert out.exit_code == 2, out
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("Error: ")
    unknown = trcli("workflow", "test", "No Such Workflow", "--attributes", "{}")
    assert unknown.exit_code == 2 and "No Such Workflow" in unknown.stderr


def test_undocumented_constructs_are_flagged_by_test_and_lint(
    trcli: Trcli, sdk_client: Any, sandbox: Any
) -> None:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    queue = next(q.sid for q in ws.task_queues.list() if q.friendly_name.endswith("English"))
    configuration = {
        "task_routing": {
            "filters": [
                {"expression": "vip == true and NOT (level < 2)", "targets": [{"queue": queue}]}
            ]
        }
    }
    ws.workflows.create(friendly_name="Loose", configuration=json.dumps(configuration))
    out = trcli("workflow", "test", "Loose", "--attributes", '{"vip": true, "level": 3}').ok()
    assert "lower-case 'and' is not documented by Twilio" in out.stderr
    assert "unary NOT is not documented by Twilio" in out.stderr
    data = trcli("workflow", "test", "Loose", "--attributes", "{}", "--json").ok().json()
    assert len(data["warnings"]) == 2
    lint = trcli("workflow", "lint", "Loose", "--json").ok().json()
    assert [f["code"] for f in lint["findings"]] == ["undocumented", "undocumented"]
