"""``trcli tutorial``: offline by default, every stage's outcome, one stage, live refusals and
the live path (against the sandbox fixture as "the configured account") with its cleanup."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from tests.helpers.cli import Trcli, invoke

EXPECTED = {
    1: "ok",
    2: "skipped",
    3: "ok",
    4: "ok",
    5: "ok",
    6: "ok",
    7: "ok",
}


def timelines(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {e["timeline"]: e["entries"] for e in report["events"] if "timeline" in e}


def commands(report: dict[str, Any]) -> list[str]:
    return [e["command"] for e in report["events"] if "command" in e]


def test_tutorial_without_credentials_runs_every_stage_offline_in_seconds() -> None:
    started = time.monotonic()
    outcome = invoke(["tutorial", "--json"], {})
    elapsed = time.monotonic() - started
    assert outcome.exit_code == 0, outcome.stderr
    report = outcome.json()
    assert report["mode"] == "sandbox" and report["ok"] is True
    assert {s["stage"]: s["status"] for s in report["stages"]} == EXPECTED
    assert elapsed < 10, f"the offline tutorial took {elapsed:.1f} s"

    stages = {s["stage"]: s for s in report["stages"]}
    assert stages[1]["summary"].startswith("listening on http://127.0.0.1:")
    assert "127.0.0.1 directly" in stages[2]["summary"]
    assert stages[3]["summary"].startswith("AssignmentCallbackUrl = http://127.0.0.1:")
    assert stages[4]["summary"].endswith("pending in Customer Care Requests - Spanish")
    assert stages[5]["summary"].startswith("Alice reserved (WR")
    assert stages[5]["summary"].endswith("callback answered {}")
    assert stages[6]["summary"].endswith("assigned to Alice (Busy)")
    assert stages[7]["summary"].endswith("accepted by the callback instruction")

    shown = commands(report)
    assert "trcli worker set-activity Alice Offline" in shown
    assert 'trcli task create --attributes \'{"selected_language": "es"}\' --json' in shown
    assert any(c.startswith("trcli reservation accept WR") for c in shown)
    assert any(
        c.startswith("trcli workflow point-callback 'Incoming Customer Care Requests'")
        for c in shown
    )

    found = timelines(report)
    assert len(found) == 2  # stage 6 (REST accept) and stage 7 (callback accept)
    for entries in found.values():
        assert [e["step"] for e in entries] == ["Created", "Reserved", "Accepted", "Assigned"]
        times = [datetime.fromisoformat(e["time"]) for e in entries]
        assert times == sorted(times)


def test_tutorial_for_people_shows_stages_commands_and_summary() -> None:
    outcome = invoke(["tutorial"], {})
    assert outcome.exit_code == 0, outcome.stderr
    text = outcome.stdout
    for number in range(1, 8):
        assert f"Stage {number}/7" in text
    assert "$ trcli worker set-activity Alice Idle" in text
    assert "timeline WT" in text and "Created" in text and "Assigned +" in text
    assert "Summary" in text
    assert "7 of 7 stage(s) done" in outcome.stderr
    assert 'eval "$(trcli sandbox env)"' in outcome.stderr


def test_one_stage_prepares_the_ones_before_it_silently() -> None:
    outcome = invoke(["tutorial", "--sandbox", "--stage", "6", "--json"], {})
    assert outcome.exit_code == 0, outcome.stderr
    report = outcome.json()
    assert [(s["stage"], s["status"]) for s in report["stages"]] == [(6, "ok")]
    assert [e["stage"] for e in report["events"] if "stage" in e] == [6]
    assert commands(report)[0].startswith("trcli reservation accept WR")


def test_live_without_credentials_is_one_line_exit_3() -> None:
    outcome = invoke(["tutorial", "--live"], {})
    assert outcome.exit_code == 3
    assert outcome.stdout == ""
    assert outcome.stderr.count("\n") == 1
    assert outcome.stderr.startswith("Error: No Twilio Account SID configured")


def test_live_without_an_ngrok_token_is_one_line_exit_3() -> None:
    env = {"TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": "secret"}
    outcome = invoke(["tutorial", "--live", "--yes"], env)
    assert outcome.exit_code == 3
    assert outcome.stderr.count("\n") == 1
    assert outcome.stderr.startswith("Error: No ngrok auth token")
    assert "NGROK_AUTHTOKEN" in outcome.stderr


def test_stored_credentials_do_not_make_it_go_live() -> None:
    """The README's first command stays offline after 'trcli config set' stored credentials."""
    invoke(["config", "set", "account_sid", "AC" + "a" * 32], {}).ok()
    invoke(["config", "set", "auth_token"], {}, stdin="secret\nsecret\n").ok()
    outcome = invoke(["tutorial", "--json"], {})
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.json()["mode"] == "sandbox"


def test_live_run_against_a_configured_target_cleans_up(
    trcli: Trcli, sdk_client: Any, sandbox: Any
) -> None:
    """--live against the sandbox fixture (an API URL override needs no tunnel)."""
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    tasks_before = {t.sid for t in ws.tasks.list()}
    outcome = trcli("tutorial", "--live", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    report = outcome.json()
    assert report["mode"] == "live"
    assert {s["stage"]: s["status"] for s in report["stages"]} == EXPECTED
    assert sum(1 for note in report["cleanup"] if note.startswith("removed task")) == 2
    assert "restored the workflow's callback URL to (none)" in report["cleanup"]
    assert "moved Alice back to Offline" in report["cleanup"]

    assert {t.sid for t in ws.tasks.list()} == tasks_before
    workflow = ws.workflows.list()[0]
    assert not workflow.assignment_callback_url
    alice = next(w for w in ws.workers.list() if w.friendly_name == "Alice")
    assert alice.activity_name == "Offline"


def test_a_failed_stage_says_why_and_how_and_exits_6(trcli: Trcli) -> None:
    outcome = trcli("tutorial", "--live", "--public-url", "ftp://nowhere.example")
    assert outcome.exit_code == 6
    assert "Stage 3 failed" in outcome.stderr
    assert "is not an http(s) URL" in outcome.stderr
    assert "Fix: Run 'trcli doctor'" in outcome.stderr
    report = trcli("tutorial", "--live", "--public-url", "ftp://nowhere.example", "--json")
    stages = {s["stage"]: s["status"] for s in report.json()["stages"]}
    assert stages == {
        1: "ok",
        2: "ok",
        3: "failed",
        4: "not run",
        5: "not run",
        6: "not run",
        7: "not run",
    }
