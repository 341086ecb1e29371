"""``trcli activity``, ``trcli queue`` and ``trcli workspace``."""

from __future__ import annotations

from pathlib import Path

from taskrouter_cli.config import ConfigFile
from tests.helpers.cli import Trcli

SPANISH = "Customer Care Requests - Spanish"


def test_activities(trcli: Trcli) -> None:
    listed = trcli("activity", "list", "--json").ok().json()
    assert {a["friendly_name"]: a["available"] for a in listed} == {
        "Offline": False,
        "Idle": True,
        "Reserved": False,
        "Busy": False,
    }
    assert "Idle" in trcli("activity", "list").ok().stdout
    created = trcli("activity", "create", "On Break", "--json").ok().json()
    assert created["available"] is False
    available = trcli("activity", "create", "Chatting", "--available", "--json").ok().json()
    assert available["available"] is True
    trcli("activity", "delete", "On Break", "--yes").ok()
    names = {a["friendly_name"] for a in trcli("activity", "list", "--json").ok().json()}
    assert "On Break" not in names and "Chatting" in names


def test_queues(trcli: Trcli) -> None:
    listed = trcli("queue", "list", "--json").ok().json()
    assert {q["friendly_name"] for q in listed} == {SPANISH, "Customer Care Requests - English"}
    shown = trcli("queue", "show", SPANISH, "--json").ok().json()
    assert shown["target_workers"] == 'languages HAS "es"'
    assert shown["reservation_activity_name"] == "Reserved"
    assert "languages HAS" in trcli("queue", "show", SPANISH).ok().stdout
    created = trcli(
        "queue",
        "create",
        "French",
        "--target-workers",
        'languages HAS "fr"',
        "--task-order",
        "LIFO",
        "--reservation-activity",
        "Reserved",
        "--assignment-activity",
        "busy",
        "--json",
    ).ok()
    data = created.json()
    assert (data["task_order"], data["assignment_activity_name"]) == ("LIFO", "Busy")
    updated = trcli("queue", "update", "French", "--max-reserved-workers", "2", "--json").ok()
    assert updated.json()["max_reserved_workers"] == 2
    bad = trcli("queue", "create", "Bad", "--target-workers", "languages HAS")
    assert bad.exit_code == 2 and "is not a valid expression" in bad.stderr
    trcli("queue", "delete", "French", "--yes").ok()
    assert "French" not in trcli("queue", "list").ok().stdout


def test_workspaces(trcli: Trcli, isolated_environment: Path) -> None:
    listed = trcli("workspace", "list", "--json").ok().json()
    assert [w["friendly_name"] for w in listed] == ["TaskRouter Quickstart"]
    shown = trcli("workspace", "show", "--json").ok().json()
    assert shown["friendly_name"] == "TaskRouter Quickstart"
    created = trcli("workspace", "create", "Support", "--template", "FIFO", "--json").ok().json()
    assert created["sid"].startswith("WS")
    assert "Support" in trcli("workspace", "show", "Support").ok().stdout
    # with two workspaces, commands need one chosen: `workspace use` stores it in the profile
    unset = {"TRCLI_WORKSPACE": ""}
    ambiguous = trcli("worker", "list", env=unset)
    assert ambiguous.exit_code == 2 and "Several Workspaces exist" in ambiguous.stderr
    trcli("workspace", "use", "Support", env=unset).ok()
    stored = ConfigFile.load(isolated_environment / "config.toml")
    assert stored.profile("default")["workspace"] == "Support"
    assert trcli("worker", "list", "--json", env=unset).ok().json() == []
    refused = trcli("workspace", "delete", "Support")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    trcli("workspace", "delete", "Support", "--yes").ok()
    names = [w["friendly_name"] for w in trcli("workspace", "list", "--json").ok().json()]
    assert names == ["TaskRouter Quickstart"]
