"""The store's writer process: a sandbox on a SQLite file commits its group commits there. What
it commits is in the database once it answers, a failed commit writes nothing of its batch, it
dies with the sandbox, and a sandbox whose writer was killed fails only the answer waiting for
it and starts another."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from taskrouter_cli.sandbox.body_codec import unpack
from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.server import SandboxServer
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore
from taskrouter_cli.sandbox.writer_process import (
    CHECKPOINT_EVERY,
    WriterProcess,
    WriterProcessEnded,
)
from tests.fixtures.sandbox import quickstart_workspace_sid

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="finds processes through /proc"
)


def make_table(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, body BLOB NOT NULL)")


def rows(path: Path) -> dict[int, Any]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT k, body FROM t").fetchall())


def process_state(pid: int) -> str | None:
    """The kernel's state letter of ``pid`` (``Z``: a zombie), or None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def wait_until_dead(pid: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while process_state(pid) not in (None, "Z"):
        assert time.monotonic() < deadline, f"process {pid} still alive after {seconds} s"
        time.sleep(0.01)


def writer_children(of: int) -> list[int]:
    """The live store writer processes started by any thread of ``of``."""
    found = []
    children = []
    for thread in Path(f"/proc/{of}/task").iterdir():
        children += (thread / "children").read_text().split()
    for child in children:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"writer_process" in command:
            found.append(int(child))
    return found


INSERT = "INSERT INTO t (k, body) VALUES (?, ?)"


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """A database with one table ``t`` for the writer to write."""
    path = tmp_path / "w.db"
    make_table(path)
    return path


@pytest.fixture
def writer(table: Path) -> Iterator[WriterProcess]:
    """A writer process on ``table``'s database, stopped after the test."""
    started = WriterProcess(str(table))
    try:
        yield started
    finally:
        started.stop()


def test_what_the_writer_process_answered_is_committed_with_its_bodies_deflated(
    table: Path, writer: WriterProcess
) -> None:
    packed = writer.send([(INSERT, [(1, b'{"a": 1}')], 1)])
    plain = writer.send([(INSERT, [(2, "plain")], None)])
    writer.wait(plain)
    assert packed.done() and packed.exception() is None
    stored = rows(table)  # another connection, the moment the answer arrived
    assert unpack(stored[1]) == '{"a": 1}' and stored[1] != b'{"a": 1}'
    assert stored[2] == "plain"
    writer.stop()
    assert process_state(writer.pid) is None


def test_batches_sent_while_the_writer_commits_share_its_next_transaction(
    table: Path, writer: WriterProcess
) -> None:
    sent = [writer.send([(INSERT, [(k, "x" * 2000)], None)]) for k in range(300)]
    writer.wait(sent[-1])
    assert all(future.done() and future.exception() is None for future in sent)
    assert len(rows(table)) == 300
    assert 0 < writer.transactions < 300


def test_the_wal_is_copied_back_into_the_database_beside_the_commits(
    table: Path, writer: WriterProcess
) -> None:
    """Below WAL_PAGES_BEFORE_OWN_CHECKPOINT pages the writer's own connection does not
    checkpoint (SQLite would at 1,000, inside a commit); its checkpoint thread does, every
    CHECKPOINT_EVERY commits: the database file grows with what was committed instead of
    everything staying in the WAL."""
    body = "x" * 4000  # a page each
    for k in range(CHECKPOINT_EVERY * 3):
        writer.wait(writer.send([(INSERT, [(k, body)], None)]))  # one transaction each
    assert writer.transactions == CHECKPOINT_EVERY * 3
    copied = CHECKPOINT_EVERY * 2 * len(body)  # at least what two checkpoints found committed
    deadline = time.monotonic() + 10
    while table.stat().st_size < copied and time.monotonic() < deadline:
        time.sleep(0.01)  # the checkpoint thread's copy is under way
    assert table.stat().st_size >= copied
    assert len(rows(table)) == CHECKPOINT_EVERY * 3


def test_the_wal_stays_bounded_while_commits_never_pause(table: Path) -> None:
    """Batches sent without waiting keep the writer committing back to back, so the thread's
    passive checkpoints never find the WAL finished; the writer's own checkpoint past its page
    limit finishes it between two commits, and SQLite starts the WAL over."""
    writer = WriterProcess(str(table), own_checkpoint_pages=100)
    wal = table.with_name(table.name + "-wal")
    body = "x" * 4000  # a page each
    try:
        sent = [writer.send([(INSERT, [(k, body)], None)]) for k in range(4000)]
        writer.wait(sent[-1])
        assert all(future.exception() is None for future in sent)
        largest = wal.stat().st_size  # SQLite reuses the file from its start, never shrinks it
    finally:
        writer.stop()
    assert largest < 4000 * len(body) / 4, f"the WAL grew with the data: {largest} bytes"
    assert len(rows(table)) == 4000


def test_after_a_failed_commit_every_batch_fails_until_reset_and_none_is_written(
    table: Path, writer: WriterProcess
) -> None:
    writer.wait(writer.send([(INSERT, [(1, "one")], None)]))
    failing = writer.send([(INSERT, [(2, "two")], None), (INSERT, [(1, "again")], None)])
    behind = writer.send([(INSERT, [(3, "three")], None)])
    with pytest.raises(sqlite3.OperationalError, match="UNIQUE constraint failed"):
        writer.wait(failing)
    with pytest.raises(sqlite3.OperationalError, match="UNIQUE constraint failed"):
        writer.wait(behind)
    assert rows(table) == {1: "one"}
    writer.reset()
    writer.wait(writer.send([(INSERT, [(4, "four")], None)]))
    assert rows(table) == {1: "one", 4: "four"}


@linux_only
def test_a_killed_writer_process_fails_what_waits_for_it_instead_of_hanging(
    table: Path, writer: WriterProcess
) -> None:
    os.kill(writer.pid, signal.SIGKILL)
    wait_until_dead(writer.pid)
    with pytest.raises(WriterProcessEnded):
        writer.wait(writer.send([(INSERT, [(1, "x")], None)]))
    assert writer.ended is not None and rows(table) == {}
    with pytest.raises(WriterProcessEnded):
        writer.send([(INSERT, [(2, "y")], None)])


@linux_only
def test_stopping_a_writer_that_does_not_answer_kills_it_and_fails_what_waited(
    table: Path, writer: WriterProcess
) -> None:
    """A writer stuck (stopped here with SIGSTOP) cannot hold up the sandbox's shutdown."""
    os.kill(writer.pid, signal.SIGSTOP)
    waiting = writer.send([(INSERT, [(1, "x")], None)])
    writer.stop(timeout=0.2)  # the one wait that is real time: a process that never answers
    assert process_state(writer.pid) is None
    assert isinstance(waiting.exception(), WriterProcessEnded)
    assert rows(table) == {}


@linux_only
def test_the_writer_process_dies_with_a_sandbox_killed_by_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    script = textwrap.dedent(
        f"""
        import sys, threading
        from taskrouter_cli.sandbox.store import SqliteStore
        store = SqliteStore({str(path)!r})
        store.group_commits(threading.get_ident(), lambda: None)
        print("ready", flush=True)
        sys.stdin.read()
        """
    )
    sandbox = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert sandbox.stdout is not None and sandbox.stdout.readline() == b"ready\n"
        (writer,) = writer_children(sandbox.pid)
        sandbox.kill()
        sandbox.wait()
        wait_until_dead(writer)
    finally:
        if sandbox.poll() is None:
            sandbox.kill()
            sandbox.wait()


@linux_only
def test_a_sandbox_whose_writer_process_was_killed_fails_that_answer_and_starts_another(
    tmp_path: Path,
) -> None:
    """The writer is killed between two creates: the second gets a 500 (memory goes back to the
    last commit: that task is gone), a new writer commits the third, and none is left behind
    once the server stops."""
    path = tmp_path / "sandbox.db"
    service = SandboxService(SqliteStore(path), FakeClock())
    service.seed_quickstart()
    ws = quickstart_workspace_sid(service)

    async def create(session: aiohttp.ClientSession, base: str, n: int) -> int:
        async with session.post(
            f"{base}/v1/Workspaces/{ws}/Tasks", data={"Attributes": f'{{"n": {n}}}'}
        ) as answer:
            return answer.status

    async def scenario(base: str, authorization: str) -> list[str]:
        async with aiohttp.ClientSession(headers={"Authorization": authorization}) as session:
            assert await create(session, base, 1) == 201
            (writer,) = writer_children(os.getpid())
            os.kill(writer, signal.SIGKILL)
            wait_until_dead(writer)
            assert await create(session, base, 2) == 500
            assert await create(session, base, 3) == 201
            assert len(writer_children(os.getpid())) == 1
            async with session.get(f"{base}/v1/Workspaces/{ws}/Tasks?PageSize=50") as listed:
                return sorted(t["attributes"] for t in (await listed.json())["tasks"])

    with SandboxServer(service) as server:
        authorization = aiohttp.encode_basic_auth(service.account_sid, service.auth_token)
        assert asyncio.run(scenario(server.base_url, authorization)) == ['{"n": 1}', '{"n": 3}']
        service.settle()
    assert writer_children(os.getpid()) == []
    service.close()
    reopened = SandboxService(SqliteStore(path), FakeClock())
    try:
        stored = [t["attributes"] for t in reopened.list("task", {"workspace_sid": ws}).records]
        assert sorted(stored) == ['{"n": 1}', '{"n": 3}']
    finally:
        reopened.close()


def serve_creates(service: SandboxService, count: int) -> list[int]:
    """``count`` task creates, one after the other, through a server: their statuses."""
    ws = quickstart_workspace_sid(service)

    async def scenario(base: str, authorization: str) -> list[int]:
        async with aiohttp.ClientSession(headers={"Authorization": authorization}) as session:
            statuses = []
            for n in range(count):
                async with session.post(
                    f"{base}/v1/Workspaces/{ws}/Tasks", data={"Attributes": f'{{"n": {n}}}'}
                ) as answer:
                    statuses.append(answer.status)
            return statuses

    with SandboxServer(service) as server:
        authorization = aiohttp.encode_basic_auth(service.account_sid, service.auth_token)
        return asyncio.run(scenario(server.base_url, authorization))


def stored_tasks(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM records WHERE kind = 'task'").fetchone()[0])


@linux_only
def test_a_sandbox_that_cannot_start_a_writer_process_commits_from_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sandbox.db"
    service = SandboxService(SqliteStore(path), FakeClock())
    service.seed_quickstart()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    assert serve_creates(service, 2) == [201, 201]
    assert writer_children(os.getpid()) == []
    assert "writing from a thread instead" in caplog.text
    service.close()
    assert stored_tasks(path) == 2


@linux_only
def test_a_writer_process_that_ends_before_its_first_commit_is_replaced_by_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An interpreter that exits at once (a broken install): the first write fails with a 500,
    memory goes back to the last commit, and every later write commits from a thread."""
    path = tmp_path / "sandbox.db"
    service = SandboxService(SqliteStore(path), FakeClock())
    service.seed_quickstart()
    exits_at_once = shutil.which("false")
    assert exits_at_once is not None
    monkeypatch.setattr(sys, "executable", exits_at_once)
    assert serve_creates(service, 3) == [500, 201, 201]
    assert "ended before its first commit" in caplog.text
    service.close()
    assert stored_tasks(path) == 2


@linux_only
def test_ctrl_c_on_a_terminal_stops_the_sandbox_and_its_writer_keeping_what_was_written(
    tmp_path: Path,
) -> None:
    """SIGINT to the whole foreground process group, as a terminal sends it."""
    path, port_file = tmp_path / "sandbox.db", tmp_path / "port"
    account, token = "AC" + "b" * 32, "c" * 32
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "taskrouter_cli", "sandbox", "--no-seed", "--db", str(path)]
        + ["--port", "0", "--port-file", str(port_file), "--account-sid", account]
        + ["--auth-token", token],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TRCLI_HOME": str(tmp_path)},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert sandbox.poll() is None and time.monotonic() < deadline, "never listened"
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port_file.read_text().strip()}"

        async def create_workspace() -> int:
            headers = {"Authorization": aiohttp.encode_basic_auth(account, token)}
            async with (
                aiohttp.ClientSession(headers=headers) as session,
                session.post(f"{base}/v1/Workspaces", data={"FriendlyName": "kept"}) as answer,
            ):
                return answer.status

        assert asyncio.run(create_workspace()) == 201
        (writer,) = writer_children(sandbox.pid)
        os.killpg(sandbox.pid, signal.SIGINT)
        _, stderr = sandbox.communicate(timeout=30)
    finally:
        if sandbox.poll() is None:
            sandbox.kill()
            sandbox.wait()
    assert sandbox.returncode == 130, stderr
    assert "Traceback" not in stderr
    wait_until_dead(writer)
    with sqlite3.connect(path) as db:
        kinds = [row[0] for row in db.execute("SELECT kind FROM records")]
    assert kinds.count("workspace") == 1
