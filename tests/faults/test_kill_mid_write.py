"""SIGKILL the ``trcli sandbox`` process while four clients are writing at the same time.

Extends ``tests/sandbox_api/test_durability.py`` (one client, sequential creates, killed between
two requests) to a kill that lands while requests are in flight: each client creates tasks and
updates its own worker's attributes with a rising counter. After the restart every answer that
was acknowledged (201/200 received) is found, each worker holds at least its last acknowledged
counter, and SQLite reports an intact database.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers.sandbox_process import env_lines, start_sandbox, wait_for_port

CLIENTS = 4
KILL_AFTER = 120
"""Acknowledged writes (all clients together) before the kill."""


class Writer(threading.Thread):
    def __init__(self, index: int, base: str, auth: tuple[str, str], ws: str, worker: str) -> None:
        super().__init__(name=f"writer-{index}", daemon=True)
        self.index, self.base, self.ws, self.worker = index, base, ws, worker
        self.session = requests.Session()
        self.session.auth = auth
        self.tasks: list[str] = []
        self.last_counter = 0
        self.stop = threading.Event()
        self.acknowledged = 0

    def run(self) -> None:
        counter = 0
        while not self.stop.is_set() and counter < 1000:
            counter += 1
            try:
                created = self.session.post(
                    f"{self.base}/v1/Workspaces/{self.ws}/Tasks",
                    data={"Attributes": json.dumps({"writer": self.index, "n": counter})},
                    timeout=10,
                )
                if created.status_code == 201:
                    self.tasks.append(created.json()["sid"])
                    self.acknowledged += 1
                updated = self.session.post(
                    f"{self.base}/v1/Workspaces/{self.ws}/Workers/{self.worker}",
                    data={"Attributes": json.dumps({"languages": ["en"], "counter": counter})},
                    timeout=10,
                )
                if updated.status_code == 200:
                    self.last_counter = counter
                    self.acknowledged += 1
            except requests.RequestException:
                return  # the server is gone: what was acknowledged so far is the claim


def list_all(session: requests.Session, url: str, key: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        page = session.get(next_url, timeout=10).json()
        records.extend(page[key])
        next_url = page["meta"]["next_page_url"]
    return records


@pytest.mark.slow
def test_sigkill_during_concurrent_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    port_file = tmp_path / "port"
    process = start_sandbox(port_file, "--db", str(db))
    writers: list[Writer] = []
    try:
        base = wait_for_port(process, port_file)
        env = env_lines(process)
        auth = (env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])
        session = requests.Session()
        session.auth = auth
        ws = session.get(f"{base}/v1/Workspaces", timeout=10).json()["workspaces"][0]["sid"]
        workers = []
        for index in range(CLIENTS):
            answer = session.post(
                f"{base}/v1/Workspaces/{ws}/Workers",
                data={"FriendlyName": f"writer-{index}"},
                timeout=10,
            )
            assert answer.status_code == 201, answer.text
            workers.append(answer.json()["sid"])
        writers = [Writer(i, base, auth, ws, workers[i]) for i in range(CLIENTS)]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 30
        while sum(w.acknowledged for w in writers) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)  # the writers are mid-request
        process.wait(10)
        assert process.returncode == -signal.SIGKILL
    finally:
        for writer in writers:
            writer.stop.set()
            writer.join(15)
        if process.poll() is None:
            process.kill()
            process.wait(10)
    acknowledged = [w.acknowledged for w in writers]
    assert sum(acknowledged) >= KILL_AFTER, f"only {acknowledged} acknowledged within 30 s"

    restarted = start_sandbox(port_file, "--db", str(db))
    try:
        base = wait_for_port(restarted, port_file)
        env_lines(restarted)
        session = requests.Session()
        session.auth = auth
        stored = {
            t["sid"]
            for t in list_all(session, f"{base}/v1/Workspaces/{ws}/Tasks?PageSize=1000", "tasks")
        }
        missing = [sid for w in writers for sid in w.tasks if sid not in stored]
        assert not missing, f"{len(missing)} acknowledged tasks lost"
        for writer in writers:
            worker = session.get(f"{base}/v1/Workspaces/{ws}/Workers/{writer.worker}", timeout=10)
            # a writer whose every update went unanswered (killed first) claims nothing
            counter = json.loads(worker.json()["attributes"]).get("counter", 0)
            assert counter >= writer.last_counter, (writer.name, counter, writer.last_counter)
        # still writable after the restart
        created = session.post(f"{base}/v1/Workspaces/{ws}/Tasks", data={}, timeout=10)
        assert created.status_code == 201, created.text
    finally:
        restarted.send_signal(signal.SIGTERM)
        try:
            restarted.wait(15)
        finally:
            if restarted.poll() is None:
                restarted.kill()
    assert restarted.returncode == 0
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
