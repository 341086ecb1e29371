"""``trcli workspace export`` / ``apply``: the workspace as code, between sandboxes (and live).

The round trip runs between two real sandboxes: the seeded one and an empty one (no
workspace at all), as a file moves from the sandbox to a live account.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskrouter_cli.errors import UsageError
from tests.fixtures.sandbox import make_service
from tests.helpers.cli import Outcome, Trcli, invoke
from tests.workflow_loop.conftest import LAB, Lab

QUICKSTART = "TaskRouter Quickstart"


@pytest.fixture
def empty_sandbox(fake_clock: Any) -> Iterator[Trcli]:
    """A second sandbox with no workspace at all; ``trcli`` against it."""
    from taskrouter_cli.sandbox.server import SandboxServer

    service = make_service(fake_clock, seed=False)
    server = SandboxServer(service).start()
    env = {
        "TWILIO_ACCOUNT_SID": service.account_sid,
        "TWILIO_AUTH_TOKEN": service.auth_token,
        "TRCLI_API_URL": server.base_url,
    }

    def run(*args: str) -> Outcome:
        return invoke(list(args), env)

    try:
        yield run
    finally:
        server.stop()


def export(trcli: Trcli, path: Path, *workspace: str) -> str:
    trcli("workspace", "export", *workspace, "-o", str(path)).ok()
    return path.read_text()


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_export_apply_to_an_empty_sandbox_and_export_again_gives_the_same_file(
    suffix: str, trcli: Trcli, empty_sandbox: Trcli, routing_lab: Lab, tmp_path: Path
) -> None:
    offline = next(a.sid for a in routing_lab.ws.activities.list() if a.friendly_name == "Offline")
    routing_lab.ws.workers.create(  # TOML has no null: such attributes travel as JSON text
        friendly_name="Eve", attributes='{"manager": null, "skills": []}', activity_sid=offline
    )
    exported = export(trcli, tmp_path / f"seeded{suffix}")
    assert "WQ" not in exported and "WA" not in exported  # names, never SIDs
    assert LAB in exported

    applied = empty_sandbox("workspace", "apply", str(tmp_path / f"seeded{suffix}"))
    applied.ok()
    assert f"+ Workspace {QUICKSTART}" in applied.stdout
    again = export(empty_sandbox, tmp_path / f"again{suffix}", QUICKSTART)
    assert again == exported

    second = empty_sandbox("workspace", "apply", str(tmp_path / f"seeded{suffix}"), "--json")
    data = second.ok().json()
    assert data["changed"] is False
    assert {c["action"] for c in data["changes"]} == {"unchanged"}
    human = empty_sandbox("workspace", "apply", str(tmp_path / f"seeded{suffix}")).ok()
    assert "No changes" in human.stderr


def test_the_plan_lists_changed_fields_and_a_dry_run_changes_nothing(
    trcli: Trcli, sdk_client: Any, sandbox: Any, tmp_path: Path
) -> None:
    path = tmp_path / "ws.json"
    document = json.loads(export(trcli, path))
    document["queues"][0]["target_workers"] = "1==1"
    document["workers"].append({"name": "Carol", "activity": "Idle", "attributes": {"x": 1}})
    alice = next(w for w in document["workers"] if w["name"] == "Alice")
    alice["attributes"]["level"] = 4
    path.write_text(json.dumps(document))

    dry = trcli("workspace", "apply", str(path), "--dry-run").ok()
    queue = document["queues"][0]["name"]
    assert f"~ TaskQueue {queue}" in dry.stdout
    assert "target_workers: languages HAS" in dry.stdout and "→ 1==1" in dry.stdout
    assert "+ Worker Carol" in dry.stdout
    assert "~ Worker Alice" in dry.stdout and '"level": 4' in dry.stdout
    assert "1 to create, 2 to update, 0 to delete" in dry.stderr
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    assert "Carol" not in {w.friendly_name for w in ws.workers.list()}

    trcli("workspace", "apply", str(path)).ok()
    carol = next(w for w in ws.workers.list() if w.friendly_name == "Carol")
    assert carol.activity_name == "Idle" and json.loads(carol.attributes) == {"x": 1}
    assert next(q for q in ws.task_queues.list() if q.friendly_name == queue).target_workers == (
        "1==1"
    )
    assert trcli("workspace", "apply", str(path), "--json").ok().json()["changed"] is False


def test_prune_deletes_what_the_file_does_not_name_after_asking(
    trcli: Trcli, sdk_client: Any, sandbox: Any, tmp_path: Path
) -> None:
    path = tmp_path / "ws.json"
    document = json.loads(export(trcli, path))
    document["workers"] = [w for w in document["workers"] if w["name"] != "Bob"]
    path.write_text(json.dumps(document))
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)

    assert trcli("workspace", "apply", str(path)).ok()  # without --prune: nothing deleted
    assert "Bob" in {w.friendly_name for w in ws.workers.list()}
    refused = trcli("workspace", "apply", str(path), "--prune")
    assert refused.exit_code == 2 and "- Worker Bob" in refused.stdout
    assert "--yes" in refused.stderr
    assert "Bob" in {w.friendly_name for w in ws.workers.list()}
    trcli("workspace", "apply", str(path), "--prune", "--yes").ok()
    assert "Bob" not in {w.friendly_name for w in ws.workers.list()}
    assert (
        trcli("workspace", "apply", str(path), "--prune", "--json").ok().json()["changed"] is False
    )


@pytest.mark.parametrize(
    ("edit", "place"),
    [
        (
            lambda d: d["queues"][0].update(reservation_activity="Reservd"),
            "queues[0].reservation_activity: no Activity named 'Reservd'",
        ),
        (
            lambda d: d["queues"][1].update(target_workers="languages HAS"),
            "queues[1].target_workers: expected a value after 'HAS'",
        ),
        (
            lambda d: d["workflows"][0]["configuration"]["task_routing"]["filters"][1]["targets"][
                0
            ].update(queue="Nowhere"),
            (
                "workflows[0].configuration.task_routing.filters[1].targets[0].queue: "
                "no TaskQueue named 'Nowhere'"
            ),
        ),
        (
            lambda d: d["workflows"][0]["configuration"]["task_routing"]["filters"][0].update(
                expression='selected_language = = "es"'
            ),
            "workflows[0].configuration.task_routing.filters[0].expression: expected a value",
        ),
        (lambda d: d["workers"][0].update(attributes=[1]), "workers[0].attributes: must be"),
    ],
    ids=["unknown activity", "broken queue expression", "unknown queue", "broken filter", "shape"],
)
def test_a_bad_reference_fails_before_any_write_naming_its_place(
    edit: Any, place: str, trcli: Trcli, sdk_client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "ws.json"
    document = json.loads(export(trcli, path))
    edit(document)
    path.write_text(json.dumps(document))
    before = [w.sid for w in sdk_client.taskrouter.v1.workspaces.list()]
    out = trcli("workspace", "apply", str(path), "--workspace", "Copy")
    assert out.exit_code == 2, out
    assert out.stderr.count("\n") == 1
    assert out.stderr.startswith(f"Error: {path}: {place}"), out.stderr
    assert [w.sid for w in sdk_client.taskrouter.v1.workspaces.list()] == before


def test_apply_to_a_new_workspace_gives_it_exactly_the_files_activities(
    trcli: Trcli, sdk_client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "ws.toml"
    export(trcli, path)
    out = trcli("workspace", "apply", str(path), "--workspace", "Copy", "--json").ok().json()
    removed = [c["name"] for c in out["changes"] if c["action"] == "delete"]
    assert sorted(removed) == ["Available", "Unavailable"]  # TaskRouter's defaults
    copy = sdk_client.taskrouter.v1.workspaces(out["workspace_sid"])
    assert sorted(a.friendly_name for a in copy.activities.list()) == [
        "Busy",
        "Idle",
        "Offline",
        "Reserved",
    ]
    assert export(trcli, tmp_path / "copy.toml", "Copy") == path.read_text().replace(
        f'name = "{QUICKSTART}"', 'name = "Copy"', 1
    )


def test_a_local_callback_url_is_refused_on_the_way_to_a_live_account(
    trcli: Trcli, sdk_client: Any, sandbox: Any, tmp_path: Path
) -> None:
    """What the sandbox could call (127.0.0.1) live Twilio cannot: refused before any write."""
    from taskrouter_cli.operations.workspace_doc import load_document
    from taskrouter_cli.operations.workspace_sync import plan_apply

    trcli(
        "workflow",
        "point-callback",
        "Incoming Customer Care Requests",
        "--url",
        "http://127.0.0.1:8080/assignment_callback",
    ).ok()
    path = tmp_path / "ws.json"
    export(trcli, path)
    doc = load_document(str(path))
    v1 = sdk_client.taskrouter.v1
    assert plan_apply(v1, doc).pending == []  # to the sandbox: fine, and nothing to change
    with pytest.raises(UsageError) as refused:
        plan_apply(v1, doc.renamed("Live copy"), live=True)
    assert refused.value.one_line().startswith(
        f"{path}: workflows[0].assignment_callback_url: 'http://127.0.0.1:8080/"
    )
    assert "Twilio cannot reach" in refused.value.one_line()


def test_worker_channel_capacities_travel_with_the_file(
    trcli: Trcli, sdk_client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "multi.toml"
    path.write_text(
        """
[workspace]
name = "Chats"
multi_task_enabled = true

[[activities]]
name = "Offline"
available = false

[[task_channels]]
unique_name = "chat"
name = "Chat"

[[workers]]
name = "Dana"
activity = "Offline"
attributes = {}
channels = { chat = 2 }
"""
    )
    applied = trcli("workspace", "apply", str(path), "--json").ok().json()
    ws = sdk_client.taskrouter.v1.workspaces(applied["workspace_sid"])
    dana = ws.workers.list()[0]

    def capacities() -> dict[str, int]:
        channels = ws.workers(dana.sid).worker_channels.list()
        return {c.task_channel_unique_name: c.configured_capacity for c in channels}

    assert capacities()["chat"] == 2 and capacities()["voice"] == 1
    exported = json.loads(trcli("workspace", "export", "Chats").ok().stdout)
    assert exported["workers"] == [
        {"name": "Dana", "attributes": {}, "activity": "Offline", "channels": {"chat": 2}}
    ]
    assert trcli("workspace", "apply", str(path), "--json").ok().json()["changed"] is False

    path.write_text(path.read_text().replace("chat = 2", "chat = 3, voice = 2"))
    dry = trcli("workspace", "apply", str(path), "--dry-run").ok()
    assert "~ Worker Dana" in dry.stdout
    assert 'channels: {"chat": 2} → {"chat": 3, "voice": 2}' in dry.stdout
    trcli("workspace", "apply", str(path)).ok()
    assert capacities()["chat"] == 3 and capacities()["voice"] == 2

    path.write_text(path.read_text().replace("chat = 3, voice = 2", "fax = 1"))
    out = trcli("workspace", "apply", str(path))
    assert out.exit_code == 2
    assert "workers[0].channels.fax: no TaskChannel with unique name 'fax'" in out.stderr


def test_toml_only_values_are_refused_with_their_place(trcli: Trcli, tmp_path: Path) -> None:
    path = tmp_path / "dates.toml"
    path.write_text(
        '[workspace]\nname = "Dates"\n\n[[workers]]\nname = "Fay"\n'
        "attributes = { since = 2024-01-01 }\n"
    )
    out = trcli("workspace", "apply", str(path))
    assert out.exit_code == 2
    assert out.stderr.startswith(f"Error: {path}: workers[0].attributes: must hold JSON values")
    broken = tmp_path / "broken.toml"
    broken.write_text("[workspace\n")
    out = trcli("workspace", "apply", str(broken))
    assert out.exit_code == 2 and out.stderr.startswith(f"Error: {broken}: not valid TOML")
