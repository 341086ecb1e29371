"""``trcli setup``: the quickstart's Part 1 workspace, idempotent, and ``--teardown``."""

from __future__ import annotations

import json
from typing import Any

from taskrouter_cli.quickstart_spec import QUICKSTART
from tests.helpers.cli import Trcli, invoke

FRESH = "Setup Test Workspace"


def results(outcome: Any) -> dict[tuple[str, str], str]:
    return {(i["kind"], i["name"]): i["result"] for i in outcome.json()["items"]}


def snapshot(sdk_client: Any, workspace_sid: str) -> dict[str, Any]:
    """Everything setup manages, as plain data (to prove a re-run changed nothing)."""
    ws = sdk_client.taskrouter.v1.workspaces(workspace_sid)
    workspace = ws.fetch()
    return {
        "workspace": (
            workspace.friendly_name,
            workspace.multi_task_enabled,
            workspace.default_activity_sid,
        ),
        "activities": sorted((a.sid, a.friendly_name, a.available) for a in ws.activities.list()),
        "workers": sorted(
            (w.sid, w.friendly_name, w.attributes, w.activity_sid, str(w.date_updated))
            for w in ws.workers.list()
        ),
        "queues": sorted(
            (
                q.sid,
                q.friendly_name,
                q.target_workers,
                q.reservation_activity_sid,
                q.assignment_activity_sid,
                str(q.date_updated),
            )
            for q in ws.task_queues.list()
        ),
        "workflows": sorted(
            (
                f.sid,
                f.friendly_name,
                f.configuration,
                f.task_reservation_timeout,
                str(f.date_updated),
            )
            for f in ws.workflows.list()
        ),
    }


def test_setup_on_the_seeded_sandbox_finds_everything_in_place(trcli: Trcli) -> None:
    """The sandbox's seed and setup's spec describe the same workspace."""
    outcome = trcli("setup", "--json").ok()
    report = outcome.json()
    assert report["changed"] is False
    assert set(results(outcome).values()) == {"exists"}, report
    kinds = [item["kind"] for item in report["items"]]
    assert kinds.count("Activity") == 4 and kinds.count("Worker") == 2
    assert kinds.count("TaskQueue") == 2 and kinds.count("Workflow") == 1


def test_setup_creates_the_workspace_then_a_second_run_changes_nothing(
    trcli: Trcli, sdk_client: Any
) -> None:
    first = trcli("setup", "--workspace-name", FRESH, "--json").ok()
    found = results(first)
    assert found[("Workspace", FRESH)] == "created"
    for name in ("Offline", "Idle", "Reserved", "Busy"):
        assert found[("Activity", name)] in ("created", "exists")  # a new workspace may have some
    assert found[("Worker", "Alice")] == "created"
    assert found[("Worker", "Bob")] == "created"
    for queue in QUICKSTART.queues:
        assert found[("TaskQueue", queue.name)] == "created"
    assert found[("Workflow", QUICKSTART.workflow.name)] == "created"
    workspace_sid = first.json()["workspace_sid"]

    ws = sdk_client.taskrouter.v1.workspaces(workspace_sid)
    assert ws.fetch().multi_task_enabled is False
    alice = next(w for w in ws.workers.list() if w.friendly_name == "Alice")
    assert json.loads(alice.attributes) == {"languages": ["en", "es"]}
    assert alice.activity_name == "Offline"
    workflow = ws.workflows.list()[0]
    assert workflow.task_reservation_timeout == 1200
    filters = json.loads(workflow.configuration)["task_routing"]["filters"]
    assert [f["expression"] for f in filters] == [
        'selected_language == "es"',
        'selected_language == "en"',
    ]
    queue_names = {q.sid: q.friendly_name for q in ws.task_queues.list()}
    assert [queue_names[f["targets"][0]["queue"]] for f in filters] == [
        "Customer Care Requests - Spanish",
        "Customer Care Requests - English",
    ]
    spanish = next(q for q in ws.task_queues.list() if q.friendly_name.endswith("Spanish"))
    assert spanish.target_workers == 'languages HAS "es"'
    assert spanish.reservation_activity_name == "Reserved"
    assert spanish.assignment_activity_name == "Busy"

    before = snapshot(sdk_client, workspace_sid)
    second = trcli("setup", "--workspace-name", FRESH, "--json").ok()
    assert second.json()["changed"] is False
    assert set(results(second).values()) == {"exists"}
    assert snapshot(sdk_client, workspace_sid) == before

    human = trcli("setup", "--workspace-name", FRESH).ok()
    assert "nothing changed" in human.stderr
    assert "exists" in human.stdout


def test_setup_brings_drifted_resources_back_and_leaves_state_alone(
    trcli: Trcli, sdk_client: Any, sandbox: Any
) -> None:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    alice = next(w for w in ws.workers.list() if w.friendly_name == "Alice")
    idle = next(a for a in ws.activities.list() if a.friendly_name == "Idle")
    ws.workers(alice.sid).update(attributes='{"languages": ["en"]}', activity_sid=idle.sid)
    spanish = next(q for q in ws.task_queues.list() if q.friendly_name.endswith("Spanish"))
    ws.task_queues(spanish.sid).update(target_workers="1==1")

    outcome = trcli("setup", "--json").ok()
    found = results(outcome)
    assert found[("Worker", "Alice")] == "updated"
    assert found[("TaskQueue", spanish.friendly_name)] == "updated"
    assert found[("Worker", "Bob")] == "exists"
    alice = ws.workers(alice.sid).fetch()
    assert json.loads(alice.attributes) == {"languages": ["en", "es"]}
    assert alice.activity_name == "Idle"  # a worker's activity is state, not set-up
    assert ws.task_queues(spanish.sid).fetch().target_workers == 'languages HAS "es"'
    assert trcli("setup", "--json").ok().json()["changed"] is False


def test_teardown_leaves_no_trace(trcli: Trcli, sdk_client: Any) -> None:
    created = trcli("setup", "--workspace-name", FRESH, "--json").ok().json()
    sid = created["workspace_sid"]
    before = {w.sid for w in sdk_client.taskrouter.v1.workspaces.list()}
    assert sid in before

    removed = trcli("setup", "--workspace-name", FRESH, "--teardown", "--yes", "--json").ok().json()
    assert removed["items"] == [
        {
            "kind": "Workspace",
            "name": FRESH,
            "sid": sid,
            "result": "removed",
            "detail": "with its workers, queues, tasks",
        }
    ]
    after = {w.sid for w in sdk_client.taskrouter.v1.workspaces.list()}
    assert after == before - {sid}
    assert FRESH not in {w.friendly_name for w in sdk_client.taskrouter.v1.workspaces.list()}

    again = trcli("setup", "--workspace-name", FRESH, "--teardown", "--yes", "--json").ok().json()
    assert again["items"][0]["result"] == "absent"
    assert again["changed"] is False


def test_setup_without_credentials_is_one_line_and_exit_3() -> None:
    outcome = invoke(["setup"], {})
    assert outcome.exit_code == 3
    assert outcome.stderr.count("\n") == 1
    assert outcome.stderr.startswith("Error: No Twilio Account SID configured")
