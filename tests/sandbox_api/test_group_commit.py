"""Group commit: the writes of one event-loop turn share one SQLite commit, and no answer goes
out before the commit of what it wrote (read back here through a second connection the moment
each answer arrives)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.server import SandboxServer
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore
from tests.fixtures.sandbox import quickstart_workspace_sid

CLIENTS = 20


def committed_sids(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:  # sees committed data only
        return {str(row[0]) for row in db.execute("SELECT sid FROM records")}


async def create_tasks(base: str, authorization: str, ws: str, path: Path) -> list[bool]:
    """CLIENTS creates at once; for each, whether its task was committed when it was answered."""
    async with aiohttp.ClientSession(headers={"Authorization": authorization}) as session:

        async def create(index: int) -> bool:
            async with session.post(
                f"{base}/v1/Workspaces/{ws}/Tasks", data={"Attributes": f'{{"n": {index}}}'}
            ) as answer:
                assert answer.status == 201, await answer.text()
                sid = (await answer.json())["sid"]
            return sid in committed_sids(path)

        return list(await asyncio.gather(*(create(i) for i in range(CLIENTS))))


def test_concurrent_writes_share_commits_and_each_answer_follows_its_commit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sandbox.db"
    service = SandboxService(SqliteStore(path), FakeClock())
    service.seed_quickstart()
    ws = quickstart_workspace_sid(service)
    assert ws is not None
    before = service.store.transactions
    with SandboxServer(service) as server:
        authorization = aiohttp.encode_basic_auth(service.account_sid, service.auth_token)
        committed: Any = asyncio.run(create_tasks(server.base_url, authorization, ws, path))
        assert all(committed), "an answer arrived before its task was committed"
        during = service.store.transactions - before
        service.settle()
    # 20 creates, each also queuing routing that commits on its own: 40 writes at least
    assert 0 < during < CLIENTS, f"{during} transactions for {CLIENTS} concurrent creates"


def test_a_failed_group_commit_fails_its_answers_rolls_memory_back_and_the_server_goes_on(
    tmp_path: Path,
) -> None:
    """The writer thread cannot commit (a trigger stands in for a full disk): the create that
    wrote it gets a 500, memory goes back to the last commit (the task is not there), and once
    the disk is back the server serves writes again."""
    path = tmp_path / "sandbox.db"
    service = SandboxService(SqliteStore(path), FakeClock())
    service.seed_quickstart()
    ws = quickstart_workspace_sid(service)
    assert ws is not None
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE disk_full (x)")
        db.execute(
            "CREATE TRIGGER simulated_disk_full BEFORE INSERT ON events "
            "WHEN EXISTS (SELECT 1 FROM disk_full) "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )

    def set_disk_full(full: bool) -> None:
        with sqlite3.connect(path) as db:
            db.execute("INSERT INTO disk_full VALUES (1)" if full else "DELETE FROM disk_full")

    async def create(session: aiohttp.ClientSession, base: str, n: int) -> tuple[int, Any]:
        async with session.post(
            f"{base}/v1/Workspaces/{ws}/Tasks", data={"Attributes": f'{{"n": {n}}}'}
        ) as answer:
            return answer.status, await answer.json()

    async def scenario(base: str, authorization: str) -> None:
        async with aiohttp.ClientSession(headers={"Authorization": authorization}) as session:
            status, _ = await create(session, base, 1)
            assert status == 201
            set_disk_full(True)
            status, failed = await create(session, base, 2)
            assert status == 500, failed
            assert "Internal error" in failed["message"]
            set_disk_full(False)
            status, third = await create(session, base, 3)
            assert status == 201, third
            async with session.get(f"{base}/v1/Workspaces/{ws}/Tasks?PageSize=50") as listed:
                attributes = [t["attributes"] for t in (await listed.json())["tasks"]]
            assert sorted(attributes) == ['{"n": 1}', '{"n": 3}']

    with SandboxServer(service) as server:
        authorization = aiohttp.encode_basic_auth(service.account_sid, service.auth_token)
        asyncio.run(scenario(server.base_url, authorization))
        service.settle()
    assert len([sid for sid in committed_sids(path) if sid.startswith("WT")]) == 2
