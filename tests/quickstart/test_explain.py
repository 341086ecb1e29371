"""``trcli explain TASK``: one test per blocking reason, against the seeded sandbox.

Each test builds the situation with real commands, asserts the verdict and, where the fix is a
command, runs it and checks that it unblocks the task.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers.cli import Trcli, wait_status

SPANISH = '{"selected_language": "es"}'


@pytest.fixture
def create_task(trcli: Trcli) -> Callable[..., str]:
    def create(attributes: str = SPANISH) -> str:
        return str(trcli("task", "create", "--attributes", attributes, "--json").ok().json()["sid"])

    return create


def explain(trcli: Trcli, task_sid: str) -> dict[str, Any]:
    return dict(trcli("explain", task_sid, "--json").ok().json())


def run_fix(trcli: Trcli, fix: str) -> None:
    for part in fix.split(" && "):
        args = shlex.split(part)
        assert args[0] == "trcli"
        trcli(*args[1:]).ok()


def test_no_filter_matched(trcli: Trcli, create_task: Callable[..., str]) -> None:
    task = create_task('{"selected_language": "fr"}')
    result = explain(trcli, task)
    assert result["reason"] == "no_filter_matched"
    assert [f["matched"] for f in result["filters"]] == [False, False]
    assert result["filters"][0]["trace"] == [
        {"comparison": 'selected_language == "es"', "result": False}
    ]
    assert "no default filter" in result["message"]
    assert result["fix"] == """trcli task create --attributes '{"selected_language": "es"}'"""
    human = trcli("explain", task).ok().stdout
    assert "Why:" in human and "No filter of Workflow Incoming Customer Care Requests" in human


def test_queue_has_no_matching_worker(trcli: Trcli, create_task: Callable[..., str]) -> None:
    trcli("worker", "update", "Alice", "--attributes", '{"languages": ["en"]}').ok()
    task = create_task()
    result = explain(trcli, task)
    assert result["reason"] == "queue_no_matching_worker"
    assert result["filters"][0]["matched"] is True
    assert result["queue_name"] == "Customer Care Requests - Spanish"
    assert result["target_workers"] == 'languages HAS "es"'
    assert [w["matches_queue"] for w in result["workers"]] == [False, False]
    assert "No worker matches queue Customer Care Requests - Spanish" in result["message"]


def test_matching_worker_unavailable_and_the_fix_works(
    trcli: Trcli, create_task: Callable[..., str]
) -> None:
    task = create_task()
    result = explain(trcli, task)
    assert result["status"] == "pending"
    assert result["reason"] == "worker_unavailable"
    assert result["message"] == "Alice matches but is Offline"
    assert result["fix"] == "trcli worker set-activity Alice Idle"
    alice = next(w for w in result["workers"] if w["name"] == "Alice")
    bob = next(w for w in result["workers"] if w["name"] == "Bob")
    assert alice["matches_queue"] is True and alice["available"] is False
    assert bob["matches_queue"] is False

    human = trcli("explain", task).ok().stdout
    assert "Alice matches but is Offline" in human
    assert "Fix: trcli worker set-activity Alice Idle" in human

    run_fix(trcli, result["fix"])
    wait_status(trcli, task, "reserved")


def test_reservation_pending_then_assigned(trcli: Trcli, create_task: Callable[..., str]) -> None:
    task = create_task()
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    wait_status(trcli, task, "reserved")
    result = explain(trcli, task)
    assert result["reason"] == "reservation_pending"
    pending = [r for r in result["reservations"] if r["status"] == "pending"]
    assert len(pending) == 1 and pending[0]["worker_name"] == "Alice"
    assert result["fix"] == f"trcli reservation accept {pending[0]['sid']} --task {task}"
    assert "reserved for Alice" in result["message"]

    run_fix(trcli, result["fix"])
    wait_status(trcli, task, "assigned")
    result = explain(trcli, task)
    assert result["reason"] == "assigned"
    assert result["message"].startswith(f"Task {task} is assigned to Alice")
    assert result["fix"] == f"trcli task complete {task} --reason done"


def test_worker_at_capacity(trcli: Trcli, create_task: Callable[..., str]) -> None:
    first = create_task()
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    wait_status(trcli, first, "reserved")
    trcli("reservation", "accept", "--task", first).ok()
    wait_status(trcli, first, "assigned")
    trcli("worker", "set-activity", "Alice", "Idle").ok()  # available again, still on `first`

    second = create_task()
    result = explain(trcli, second)
    assert result["status"] == "pending"
    assert result["reason"] == "worker_at_capacity"
    alice = next(w for w in result["workers"] if w["name"] == "Alice")
    assert alice["available"] is True and alice["at_capacity"] is True
    assert alice["open_tasks"] == [first]
    assert alice["capacity"] == "1/1 (single-tasking)"
    assert f"busy with task {first}" in result["message"]
    assert result["fix"] == f"trcli task complete {first} --reason done"

    run_fix(trcli, result["fix"])
    wait_status(trcli, second, "reserved")


def test_explain_refuses_a_sid_of_the_wrong_kind(trcli: Trcli) -> None:
    outcome = trcli("explain", "WK" + "0" * 32)
    assert outcome.exit_code == 2
    assert "a Task SID (WT...) is expected" in outcome.stderr


def test_explain_json_is_the_whole_analysis(trcli: Trcli, create_task: Callable[..., str]) -> None:
    task = create_task('{"selected_language": "en"}')
    result = explain(trcli, task)
    assert result["attributes"] == {"selected_language": "en"}
    assert result["workflow_name"] == "Incoming Customer Care Requests"
    assert [f["matched"] for f in result["filters"]] == [False, True]
    assert result["queue_name"] == "Customer Care Requests - English"
    assert sorted(w["name"] for w in result["workers"] if w["matches_queue"]) == ["Alice", "Bob"]
    assert result["reason"] == "worker_unavailable"
    assert json.dumps(result)  # plain JSON all the way down


def test_each_filter_that_did_not_match_says_what_the_task_holds(
    trcli: Trcli, create_task: Callable[..., str]
) -> None:
    sid = create_task('{"selected_language": "fr", "vip": true}')
    filters = explain(trcli, sid)["filters"]
    assert [item["why_not"] for item in filters] == ['selected_language is "fr"'] * 2
    text = trcli("explain", sid).ok().stdout
    assert '(no match: selected_language is "fr")' in text


def test_an_assigned_task_counts_in_its_workers_capacity(
    trcli: Trcli, create_task: Callable[..., str]
) -> None:
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    sid = create_task()
    trcli("reservation", "accept", "--task", sid).ok()
    result = explain(trcli, sid)
    alice = next(worker for worker in result["workers"] if worker["name"] == "Alice")
    assert alice["capacity"] == "1/1 (single-tasking)"
    assert alice["open_tasks"] == [sid]
    assert result["reason"] == "assigned"
