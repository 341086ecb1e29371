"""Group commit: the writes of one event-loop turn share one SQLite commit, and no answer goes
out before the commit of what it wrote (read back here through a second connection the moment
each answer arrives)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.group_commit import POLL_INTERVAL, GroupCommit
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


def test_a_task_routed_on_creation_is_committed_reserved_with_its_create_and_no_routing_job_row(
    tmp_path: Path,
) -> None:
    """Routing set off by a write runs before that write's group is handed to the writer, so it
    joins the same commit: one transaction holds the task created and reserved (the answer
    finds it reserved in the database), and the routing job, added and done in that group, was
    never written. (Before, the routing committed in a transaction of its own, one turn later.)"""
    path = tmp_path / "sandbox.db"
    service = SandboxService(SqliteStore(path), FakeClock())
    with sqlite3.connect(path) as db:  # remembers every routing job row ever inserted
        db.execute("CREATE TABLE jobs_written (seq INTEGER)")
        db.execute(
            "CREATE TRIGGER remember_job AFTER INSERT ON routing_jobs "
            "BEGIN INSERT INTO jobs_written VALUES (new.seq); END"
        )

    async def scenario(base: str, authorization: str) -> tuple[str, str, int, int]:
        async with aiohttp.ClientSession(headers={"Authorization": authorization}) as session:

            async def post(url: str, data: dict[str, str]) -> Any:
                async with session.post(base + url, data=data) as answer:
                    assert answer.status in (200, 201), await answer.text()
                    return await answer.json()

            ws = (await post("/v1/Workspaces", {"FriendlyName": "one commit"}))["sid"]
            async with session.get(f"{base}/v1/Workspaces/{ws}/Activities") as listed:
                activities = (await listed.json())["activities"]
            available = next(a["sid"] for a in activities if a["available"])
            queue = await post(
                f"/v1/Workspaces/{ws}/TaskQueues", {"FriendlyName": "q", "TargetWorkers": "1==1"}
            )
            config = {"task_routing": {"filters": [], "default_filter": {"queue": queue["sid"]}}}
            flow = await post(
                f"/v1/Workspaces/{ws}/Workflows",
                {"FriendlyName": "f", "Configuration": json.dumps(config)},
            )
            await post(
                f"/v1/Workspaces/{ws}/Workers", {"FriendlyName": "w", "ActivitySid": available}
            )
            before = service.store.transactions
            task = await post(
                f"/v1/Workspaces/{ws}/Tasks", {"WorkflowSid": flow["sid"], "Attributes": "{}"}
            )
            transactions = service.store.transactions - before
            with sqlite3.connect(path) as db:  # what was committed when the answer arrived
                status = db.execute(
                    "SELECT status FROM records WHERE sid = ?", (task["sid"],)
                ).fetchone()[0]
                jobs = db.execute("SELECT COUNT(*) FROM jobs_written").fetchone()[0]
            return task["assignment_status"], str(status), int(jobs), transactions

    with SandboxServer(service) as server:
        authorization = aiohttp.encode_basic_auth(service.account_sid, service.auth_token)
        answered, committed, jobs, transactions = asyncio.run(
            scenario(server.base_url, authorization)
        )
    assert answered == "pending"  # the answer shows the task as created, as TaskRouter's does
    assert committed == "reserved"
    assert jobs == 0
    assert transactions == 1


def test_an_answer_given_up_while_waiting_for_its_commit_does_not_cancel_the_others_wait(
    tmp_path: Path,
) -> None:
    service = SandboxService(SqliteStore(tmp_path / "sandbox.db"), FakeClock())

    async def scenario() -> None:
        group = GroupCommit(service)
        group.attach(asyncio.get_running_loop())
        try:
            service.create("workspace", {}, {"friendly_name": "one turn"})  # a write this turn
            given_up = asyncio.create_task(group.durable())
            waiting = asyncio.create_task(group.durable())
            await asyncio.sleep(0)  # both wait for the turn's commit now
            given_up.cancel()
            await asyncio.wait_for(waiting, 10)  # committed, not cancelled
            assert given_up.cancelled()
        finally:
            group.detach()

    asyncio.run(scenario())
    service.close()


def wait_until_committed(path: Path, sid: str, seconds: float = 10.0) -> bool:
    """Block this thread (the loop does not run meanwhile) until ``sid`` is in the file."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if sid in committed_sids(path):
            return True
        time.sleep(0.002)
    return False


def test_when_durable_answers_after_the_commit_and_at_once_when_nothing_waits(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sandbox.db"
    service = SandboxService(SqliteStore(path), FakeClock())
    seen: list[tuple[BaseException | None, bool]] = []

    async def scenario() -> None:
        group = GroupCommit(service)
        group.attach(asyncio.get_running_loop())
        try:
            group.when_durable(lambda error: seen.append((error, True)))
            assert seen == [(None, True)]  # nothing written: called back at once
            sid = service.create("workspace", {}, {"friendly_name": "waits"})["sid"]
            group.when_durable(lambda error: seen.append((error, sid in committed_sids(path))))
            assert len(seen) == 1  # not before its commit
            await asyncio.wait_for(group.durable(), 10)
            assert seen[1] == (None, True)  # called back once committed, and it was
        finally:
            group.detach()

    asyncio.run(scenario())
    service.close()


def test_poll_hands_the_turns_writes_to_an_idle_writer_and_settles_its_answer_within_the_turn(
    tmp_path: Path,
) -> None:
    """Without the loop turning: poll() sends the writes to the writer process at once (they
    reach the file), and a later poll() reads its answer and calls the waiting answer back."""
    path = tmp_path / "sandbox.db"
    service = SandboxService(SqliteStore(path), FakeClock())
    answered: list[BaseException | None] = []

    async def scenario() -> None:
        group = GroupCommit(service)
        group.attach(asyncio.get_running_loop())
        try:
            sid = service.create("workspace", {}, {"friendly_name": "polled"})["sid"]
            group.when_durable(answered.append)
            group.poll()
            assert wait_until_committed(path, sid), "poll() did not hand the writes over"
            assert answered == []  # the answer is in the pipe, unread
            group.poll(now=time.perf_counter() + POLL_INTERVAL)
            assert answered == [None]
        finally:
            group.detach()

    asyncio.run(scenario())
    service.close()
