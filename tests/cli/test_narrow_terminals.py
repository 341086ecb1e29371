"""SIDs are never cut: on a terminal too narrow for a table, lists turn vertical, and the live
task view puts each SID whole on a line."""

from __future__ import annotations

import io
import re
from typing import Any

from tests.helpers.cli import Trcli

SID = re.compile(r"\b(W[A-Z]|AC)[0-9a-f]{32}\b")


def sids_in(text: str) -> set[str]:
    return {match.group(0) for match in SID.finditer(text)}


def test_a_list_on_a_60_column_terminal_shows_every_sid_whole(
    trcli: Trcli, sdk_client: Any, sandbox: Any
) -> None:
    workspace = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    expected = {worker.sid for worker in workspace.workers.list()}
    narrow = trcli("worker", "list", env={"COLUMNS": "60"}).ok().stdout
    assert sids_in(narrow) == expected
    assert max(len(line) for line in narrow.splitlines()) <= 60
    assert "── 1 ──" in narrow  # the vertical layout
    wide = trcli("worker", "list", env={"COLUMNS": "200"}).ok().stdout
    assert sids_in(wide) == expected and "── 1 ──" not in wide


def test_reservations_at_60_columns_keep_task_and_reservation_sids_whole(
    trcli: Trcli, spanish_task: Any
) -> None:
    task = spanish_task()
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    narrow = trcli("reservation", "list", env={"COLUMNS": "60"}).ok().stdout
    assert task in sids_in(narrow) and any(sid.startswith("WR") for sid in sids_in(narrow))


def test_the_live_task_view_keeps_sids_whole_at_60_columns(
    trcli: Trcli, spanish_task: Any, sdk_client: Any, sandbox: Any
) -> None:
    from rich.console import Console

    from taskrouter_cli.cli.task import _render
    from taskrouter_cli.operations.watch import take_snapshot

    task = spanish_task()
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    workspace = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    snapshot = take_snapshot(workspace, task)
    screen = io.StringIO()
    Console(file=screen, width=60, color_system=None).print(_render(snapshot))
    text = screen.getvalue()
    reservation = snapshot.reservations[0]
    assert {task, reservation.sid, reservation.worker_sid} <= sids_in(text)
    assert "…" not in text
    assert f"for Alice ({reservation.worker_sid})" in text.replace("\n", " ")
