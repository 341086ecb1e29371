"""``trcli worker``: list, show, create, update, delete, set-activity."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers.cli import Trcli


def test_list_and_show(trcli: Trcli) -> None:
    table = trcli("worker", "list").ok().stdout
    assert "Alice" in table and "Bob" in table and "Offline" in table
    workers = trcli("worker", "list", "--json").ok().json()
    assert sorted(w["friendly_name"] for w in workers) == ["Alice", "Bob"]
    trcli("worker", "set-activity", "Bob", "Idle").ok()
    available = trcli("worker", "list", "--available", "--json").ok().json()
    assert [w["friendly_name"] for w in available] == ["Bob"]
    offline = trcli("worker", "list", "--activity", "Offline", "--json").ok().json()
    assert [w["friendly_name"] for w in offline] == ["Alice"]
    alice = trcli("worker", "show", "alice", "--json").ok().json()
    assert json.loads(alice["attributes"])["languages"] == ["en", "es"]
    assert "Alice" in trcli("worker", "show", alice["sid"]).ok().stdout


def test_create_update_delete(trcli: Trcli) -> None:
    created = trcli(
        "worker", "create", "Carol", "--attributes", '{"languages": ["fr"]}', "--json"
    ).ok()
    data = created.json()
    assert data["friendly_name"] == "Carol" and data["activity_name"] == "Offline"
    updated = trcli(
        "worker", "update", "Carol", "--name", "Caroline", "--activity", "Idle", "--json"
    ).ok()
    assert (updated.json()["friendly_name"], updated.json()["available"]) == ("Caroline", True)
    nothing = trcli("worker", "update", "Caroline")
    assert nothing.exit_code == 2
    trcli("worker", "delete", "Caroline", "--yes").ok()
    gone = trcli("worker", "show", "Caroline")
    assert gone.exit_code == 2 and "No Worker named 'Caroline'" in gone.stderr


def test_set_activity_reports_an_immediate_reservation(trcli: Trcli, spanish_task: Any) -> None:
    sid = spanish_task()
    outcome = trcli("worker", "set-activity", "Alice", "Idle", "--json").ok()
    assert outcome.json()["activity_name"] == "Idle"  # the answer: what the write set
    assert "Alice became Idle and was reserved right away: reservation WR" in outcome.stderr
    assert sid in outcome.stderr
    assert "activity now Reserved" in outcome.stderr
    quiet = trcli("worker", "set-activity", "Bob", "Idle").ok()
    assert "reserved" not in quiet.stderr


def test_set_activity_unknown_activity_lists_candidates(trcli: Trcli) -> None:
    outcome = trcli("worker", "set-activity", "Alice", "Lunch")
    assert outcome.exit_code == 2
    for name in ("Offline", "Idle", "Reserved", "Busy"):
        assert f"{name} (WA" in outcome.stderr
    wrong = trcli("worker", "set-activity", "WQ" + "1" * 32, "Idle")
    assert wrong.exit_code == 2 and "is a TaskQueue SID" in wrong.stderr
