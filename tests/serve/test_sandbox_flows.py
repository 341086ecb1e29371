"""End to end against the real sandbox: the sandbox POSTs signed assignment callbacks to a
CallbackServer on 127.0.0.1, applies its reply, and trcli commands finish the job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from taskrouter_cli.callbacks.app import CallbackServer, ServerConfig
from taskrouter_cli.callbacks.instructions import DEFER, Reply, build_reply
from taskrouter_cli.callbacks.log import CallbackRecorder, callback_log_path, read_records
from taskrouter_cli.callbacks.rules import load_rules
from taskrouter_cli.callbacks.wiring import CallbackWiring
from taskrouter_cli.cli import cli

WORKFLOW = "Incoming Customer Care Requests"


@dataclass
class Quickstart:
    sandbox: Any
    workspace: Any  # the SDK's workspace context

    def sid(self, collection: str, name: str) -> str:
        found = [r for r in getattr(self.workspace, collection).list() if r.friendly_name == name]
        assert len(found) == 1, (collection, name)
        return str(found[0].sid)

    def set_activity(self, worker: str, activity: str) -> None:
        self.workspace.workers(self.sid("workers", worker)).update(
            activity_sid=self.sid("activities", activity)
        )

    def worker_activity(self, worker: str) -> str:
        return str(self.workspace.workers(self.sid("workers", worker)).fetch().activity_name)

    def create_task(self, language: str) -> Any:
        return self.workspace.tasks.create(
            attributes=json.dumps({"selected_language": language}),
            workflow_sid=self.sid("workflows", WORKFLOW),
        )

    def reservations(self, task_sid: str) -> list[Any]:
        return list(self.workspace.tasks(task_sid).reservations.list())

    def callback_url(self) -> str | None:
        workflow = self.workspace.workflows(self.sid("workflows", WORKFLOW)).fetch()
        return workflow.assignment_callback_url or None


@pytest.fixture
def quickstart(sandbox: Any, sdk_client: Any) -> Quickstart:
    return Quickstart(sandbox, sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid))


class Served:
    def __init__(self, quickstart: Quickstart, reply: Reply = DEFER, rules: Any = None) -> None:
        self.recorder = CallbackRecorder(callback_log_path(), live="off")
        config = ServerConfig(
            port=0, auth_token=quickstart.sandbox.auth_token, reply=reply, rules=rules
        )
        self.server = CallbackServer(config, recorder=self.recorder)
        self.wiring = CallbackWiring(quickstart.workspace)
        self.quickstart = quickstart

    def __enter__(self) -> Served:  # noqa: PYI034 - typing.Self needs 3.11
        self.server.start()
        workflow_sid = self.quickstart.sid("workflows", WORKFLOW)
        self.wiring.point_workflow(workflow_sid, self.server.assignment_url)
        return self

    def __exit__(self, *exc: object) -> None:
        self.restored = self.wiring.restore()
        self.server.stop()

    def records(self) -> list[Any]:
        self.quickstart.sandbox.flush()
        assert self.recorder.flush(5)
        return read_records(callback_log_path())[0]


@pytest.fixture
def served_defer(quickstart: Quickstart) -> Iterator[Served]:
    with Served(quickstart) as served:
        yield served


def test_defer_then_trcli_reservation_accept(quickstart: Quickstart, sandbox: Any) -> None:
    assert quickstart.callback_url() is None
    with Served(quickstart) as served:
        assert quickstart.callback_url() == served.server.assignment_url
        task = quickstart.create_task("es")
        assert task.assignment_status == "pending"
        quickstart.set_activity("Alice", "Idle")

        [record] = served.records()
        assert (record.status, record.signature, record.instruction) == (200, "valid", "defer")
        assert record.task_sid == task.sid
        assert record.task_attributes == {"selected_language": "es"}
        assert record.worker_attributes == {"languages": ["en", "es"]}
        [reservation] = quickstart.reservations(task.sid)
        assert record.reservation_sid == reservation.sid
        sandbox.advance(60)  # a deferred reservation waits for the REST accept
        [reservation] = quickstart.reservations(task.sid)
        assert reservation.reservation_status == "pending"
        assert record.next_command == f"trcli reservation accept {reservation.sid}"

        result = CliRunner().invoke(
            cli, ["reservation", "accept", reservation.sid], env=sandbox.env
        )
        assert result.exit_code == 0, result.output + result.stderr
        [reservation] = quickstart.reservations(task.sid)
        assert reservation.reservation_status == "accepted"
        assert quickstart.workspace.tasks(task.sid).fetch().assignment_status == "assigned"
        assert quickstart.worker_activity("Alice") == "Busy"
    assert quickstart.callback_url() is None  # the previous (empty) URL is back
    assert any("restored to (empty)" in line for line in served.restored)


def test_accept_mode_accepts_from_the_reply_alone(quickstart: Quickstart) -> None:
    with Served(quickstart, reply=build_reply("accept", {})) as served:
        task = quickstart.create_task("es")
        quickstart.set_activity("Alice", "Idle")
        [record] = served.records()
        assert record.reply == {"instruction": "accept"}
        [reservation] = quickstart.reservations(task.sid)
        assert reservation.reservation_status == "accepted"
        assert quickstart.workspace.tasks(task.sid).fetch().assignment_status == "assigned"


def test_reject_with_an_activity_moves_alice_offline(
    quickstart: Quickstart, sandbox: Any, sdk_client: Any
) -> None:
    from taskrouter_cli.resolve import ACTIVITY, Resolver

    resolver = Resolver(sdk_client)

    def lookup(name: str) -> str:
        return str(resolver.sid_in_workspace(ACTIVITY, sandbox.workspace_sid, name))

    reply = build_reply("reject", {"activity_sid": "Offline"}, activity_lookup=lookup)
    assert reply.document["activity_sid"] == quickstart.sid("activities", "Offline")
    with Served(quickstart, reply=reply) as served:
        task = quickstart.create_task("es")
        quickstart.set_activity("Alice", "Idle")
        [record] = served.records()
        assert record.instruction == "reject"
        [reservation] = quickstart.reservations(task.sid)
        assert reservation.reservation_status == "rejected"
        assert quickstart.worker_activity("Alice") == "Offline"
        assert quickstart.workspace.tasks(task.sid).fetch().assignment_status == "pending"


def test_rules_route_by_attributes(quickstart: Quickstart, tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(
        '[[rules]]\nname = "spanish"\nwhen = \'selected_language == "es"\'\n'
        'instruction = "accept"\n\n[default]\ninstruction = "reject"\n'
        f'activity_sid = "{quickstart.sid("activities", "Offline")}"\n'
    )
    with Served(quickstart, rules=load_rules(rules_file)) as served:
        spanish = quickstart.create_task("es")
        quickstart.set_activity("Alice", "Idle")
        english = quickstart.create_task("en")
        quickstart.set_activity("Bob", "Idle")
        records = served.records()
        by_task = {r.task_sid: r for r in records}
        assert by_task[spanish.sid].rule == "spanish"
        assert by_task[spanish.sid].instruction == "accept"
        assert by_task[english.sid].rule is None
        assert by_task[english.sid].instruction == "reject"
        assert quickstart.reservations(spanish.sid)[0].reservation_status == "accepted"
        assert quickstart.reservations(english.sid)[0].reservation_status == "rejected"
        assert quickstart.worker_activity("Bob") == "Offline"


def test_a_previous_url_is_put_back(quickstart: Quickstart) -> None:
    workflow = quickstart.workspace.workflows(quickstart.sid("workflows", WORKFLOW))
    workflow.update(assignment_callback_url="https://example.com/old")
    with Served(quickstart) as served:
        assert quickstart.callback_url() == served.server.assignment_url
    assert quickstart.callback_url() == "https://example.com/old"
    assert served.restored == [
        f"Workflow {WORKFLOW}: AssignmentCallbackUrl restored to https://example.com/old"
    ]


def test_restore_keeps_a_url_someone_else_set_meanwhile(quickstart: Quickstart) -> None:
    served = Served(quickstart)
    with served:
        workflow_sid = quickstart.sid("workflows", WORKFLOW)
        quickstart.workspace.workflows(workflow_sid).update(
            assignment_callback_url="https://example.com/theirs"
        )
    assert quickstart.callback_url() == "https://example.com/theirs"
    assert any("left as it is" in line for line in served.restored)


def test_callbacks_list_and_show_read_the_log(quickstart: Quickstart, sandbox: Any) -> None:
    with Served(quickstart) as served:
        task = quickstart.create_task("es")
        quickstart.set_activity("Alice", "Idle")
        [record] = served.records()
    runner = CliRunner()
    listed = runner.invoke(cli, ["callbacks", "list", "--json"])
    assert listed.exit_code == 0
    [row] = json.loads(listed.stdout)
    assert (row["number"], row["task_sid"], row["status"]) == (1, task.sid, 200)
    wide = {"COLUMNS": "200"}
    shown = runner.invoke(cli, ["callbacks", "show", record.reservation_sid], env=wide)
    assert shown.exit_code == 0
    assert f"trcli reservation accept {record.reservation_sid}" in shown.stdout
    assert "selected_language" in shown.stdout
    table = runner.invoke(cli, ["callbacks", "list"], env=wide)
    assert task.sid in table.stdout
    missing = runner.invoke(cli, ["callbacks", "show", "7"])
    assert missing.exit_code == 2 and "No callback #7; there are 1" in missing.stderr
