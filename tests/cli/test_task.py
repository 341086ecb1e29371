"""``trcli task``: create (with --wait), list, show, update, cancel, complete, delete, watch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers.cli import Trcli

ES = '{"selected_language": "es"}'


def test_create_prints_table_and_json(trcli: Trcli) -> None:
    table = trcli("task", "create", "--attributes", ES, "--priority", "7").ok()
    assert "pending" in table.stdout
    data = trcli("task", "create", "--attributes", ES, "--json").ok().json()
    assert data["sid"].startswith("WT")
    assert data["assignment_status"] == "pending"
    assert json.loads(data["attributes"]) == {"selected_language": "es"}
    assert data["workflow_friendly_name"] == "Incoming Customer Care Requests"
    trcli("sandbox", "settle").ok()  # the queue is entered by routing, after the answer
    shown = trcli("task", "show", data["sid"]).ok()
    assert "Customer Care Requests - Spanish" in shown.stdout


def test_create_reads_attributes_from_a_file(trcli: Trcli, tmp_path: Path) -> None:
    path = tmp_path / "task.json"
    path.write_text('{"selected_language": "en", "customer": "Zoe"}', encoding="utf-8")
    data = trcli("task", "create", "--attributes", f"@{path}", "--json").ok().json()
    assert json.loads(data["attributes"])["customer"] == "Zoe"
    trcli("sandbox", "settle").ok()
    shown = trcli("task", "show", data["sid"], "--json").ok().json()
    assert shown["task_queue_friendly_name"] == "Customer Care Requests - English"


def test_create_options_are_sent(trcli: Trcli) -> None:
    data = (
        trcli(
            "task",
            "create",
            "--attributes",
            ES,
            "--workflow",
            "incoming customer care requests",
            "--priority",
            "5",
            "--timeout",
            "600",
            "--channel",
            "default",
            "--json",
        )
        .ok()
        .json()
    )
    assert (data["priority"], data["timeout"], data["task_channel_unique_name"]) == (
        5,
        600,
        "default",
    )


def test_bad_attributes_are_usage_errors(trcli: Trcli, tmp_path: Path) -> None:
    bad = trcli("task", "create", "--attributes", '{"selected_language": es}')
    assert bad.exit_code == 2
    assert "not valid JSON" in bad.stderr and "position 22" in bad.stderr
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    missing = trcli("task", "create", "--attributes", f"@{tmp_path / 'nope.json'}")
    assert missing.exit_code == 2
    assert "file not found" in missing.stderr and "nope.json" in missing.stderr
    array = trcli("task", "create", "--attributes", "[1, 2]")
    assert array.exit_code == 2 and "must be a JSON object" in array.stderr
    priority = trcli("task", "create", "--attributes", ES, "--priority", "high")
    assert priority.exit_code == 2 and "'high' is not a valid integer" in priority.stderr
    # nothing was created by the failed attempts
    assert trcli("task", "list", "--json").ok().json() == []


def test_unknown_workflow_lists_candidates(trcli: Trcli) -> None:
    outcome = trcli("task", "create", "--workflow", "Nope")
    assert outcome.exit_code == 2
    assert "No Workflow named 'Nope'" in outcome.stderr
    assert "Incoming Customer Care Requests (WW" in outcome.stderr


def test_workflow_setting_and_several_workflows(
    trcli: Trcli, sdk_client: Any, sandbox: Any
) -> None:
    workspace = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    queue = workspace.task_queues.list()[0]
    config = json.dumps({"task_routing": {"default_filter": {"queue": queue.sid}}})
    workspace.workflows.create(friendly_name="Second", configuration=config)
    ambiguous = trcli("task", "create", "--attributes", ES)
    assert ambiguous.exit_code == 2
    assert "2 Workflows" in ambiguous.stderr and "--workflow" in ambiguous.stderr
    chosen = trcli("task", "create", "--json", env={"TRCLI_WORKFLOW": "Second"}).ok().json()
    assert chosen["workflow_friendly_name"] == "Second"


def test_create_wait_reports_reservation(trcli: Trcli) -> None:
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    outcome = trcli("task", "create", "--attributes", ES, "--wait", "--json").ok()
    task = outcome.json()
    assert task["assignment_status"] == "reserved"
    assert "reserved → Alice (WR" in outcome.stderr
    assert "Next: trcli reservation accept WR" in outcome.stderr


def test_create_wait_times_out_with_exit_6(trcli: Trcli) -> None:
    outcome = trcli("task", "create", "--attributes", ES, "--wait", "--wait-timeout", "0.3")
    assert outcome.exit_code == 6
    assert "still pending after 0.3 s" in outcome.stderr
    assert "set-activity" in outcome.stderr


def test_list_filters_and_limit(trcli: Trcli, spanish_task: Any) -> None:
    first, second, third = spanish_task(), spanish_task(), spanish_task()
    trcli("task", "cancel", first).ok()
    pending = trcli("task", "list", "--status", "pending", "--json").ok().json()
    assert {t["sid"] for t in pending} == {second, third}
    both = trcli("task", "list", "--status", "pending", "--status", "canceled", "--json").ok()
    assert len(both.json()) == 3
    limited = trcli("task", "list", "--limit", "2", "--json").ok()
    assert len(limited.json()) == 2
    assert "showing 2 of more; use --limit" in limited.stderr
    exact = trcli("task", "list", "--limit", "3", "--json").ok()
    assert len(exact.json()) == 3 and "of more" not in exact.stderr
    by_queue = trcli("task", "list", "--queue", "Customer Care Requests - English", "--json")
    assert by_queue.ok().json() == []
    table = trcli("task", "list", "--workflow", "Incoming Customer Care Requests").ok()
    assert second in table.stdout and "pending" in table.stdout
    bad = trcli("task", "list", "--status", "sleeping")
    assert bad.exit_code == 2


def test_show_lists_attributes_and_reservations(trcli: Trcli, spanish_task: Any) -> None:
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    sid = spanish_task()
    shown = trcli("task", "show", sid).ok()
    assert '"selected_language": "es"' in shown.stdout
    assert "Reservations" in shown.stdout and "Alice" in shown.stdout
    data = trcli("task", "show", sid, "--json").ok().json()
    assert data["sid"] == sid and data["assignment_status"] == "reserved"


def test_update_cancel_and_status_rules(trcli: Trcli, spanish_task: Any) -> None:
    sid = spanish_task()
    updated = trcli("task", "update", sid, "--priority", "9", "--json").ok().json()
    assert updated["priority"] == 9
    attributes = '{"selected_language": "es", "vip": true}'
    updated = trcli("task", "update", sid, "--attributes", attributes, "--json").ok().json()
    assert json.loads(updated["attributes"])["vip"] is True
    nothing = trcli("task", "update", sid)
    assert nothing.exit_code == 2 and "Nothing to update" in nothing.stderr
    early = trcli("task", "complete", sid)
    assert early.exit_code == 2 and "it is pending" in early.stderr
    canceled = trcli("task", "cancel", sid, "--reason", "hung up", "--json").ok().json()
    assert canceled["assignment_status"] == "canceled" and canceled["reason"] == "hung up"
    again = trcli("task", "cancel", sid)
    assert again.exit_code == 2 and "it is canceled" in again.stderr


def test_complete_after_accept(trcli: Trcli, spanish_task: Any) -> None:
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    sid = spanish_task()
    trcli("reservation", "accept", "--task", sid).ok()
    done = trcli("task", "complete", sid, "--reason", "resolved").ok()
    assert "completed" in done.stdout


def test_delete_needs_confirmation(trcli: Trcli, spanish_task: Any) -> None:
    sid = spanish_task()
    refused = trcli("task", "delete", sid)
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    trcli("task", "delete", sid, "--yes").ok()
    gone = trcli("task", "show", sid)
    assert gone.exit_code == 4
    assert "20404" in gone.stderr and "https://www.twilio.com/docs/errors/20404" in gone.stderr


def test_watch_prints_changes_until_final(trcli: Trcli, spanish_task: Any) -> None:
    sid = spanish_task()
    trcli("task", "cancel", sid).ok()
    outcome = trcli("task", "watch", sid, "--timeout", "5").ok()
    assert f"task {sid} canceled" in outcome.stdout
    assert "Stopped watching" not in outcome.stderr


def test_watch_stops_at_timeout(trcli: Trcli, spanish_task: Any) -> None:
    sid = spanish_task()
    outcome = trcli("task", "watch", sid, "--timeout", "0.3", "--interval", "0.1").ok()
    assert outcome.stdout.count(f"task {sid} pending") == 1
    assert "Stopped watching after" in outcome.stderr and "pending" in outcome.stderr


def test_task_sid_prefix_is_checked_before_any_request(trcli: Trcli) -> None:
    outcome = trcli("task", "show", "WK" + "0" * 32)
    assert outcome.exit_code == 2
    assert "is a Worker SID, but a Task SID (WT...) is expected" in outcome.stderr


def test_watch_follows_changes_made_meanwhile(
    trcli: Trcli, spanish_task: Any, sandbox: Any
) -> None:
    import os
    import subprocess
    import sys

    sid = spanish_task()
    watcher = subprocess.Popen(
        [sys.executable, "-m", "taskrouter_cli", "task", "watch", sid]
        + ["--timeout", "30", "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **sandbox.env},
    )
    try:
        assert watcher.stdout is not None
        assert f"task {sid} pending" in watcher.stdout.readline()
        trcli("worker", "set-activity", "Alice", "Idle").ok()
        trcli("reservation", "accept", "--task", sid).ok()
        trcli("task", "complete", sid).ok()
        rest, errors = watcher.communicate(timeout=30)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, errors
    assert f"task {sid} completed" in rest
    assert "(Alice)" in rest and "worker Alice is" in rest
