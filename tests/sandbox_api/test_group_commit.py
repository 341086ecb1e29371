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
