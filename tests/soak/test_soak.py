"""Soak: a steady load of task lifecycles through the sandbox and ``trcli serve``'s CallbackServer.

Four client threads (the twilio SDK) create tasks in a multi-tasking workspace with eight
workers; the sandbox sends each reservation's assignment callback to a CallbackServer answering
``accept`` (signatures checked); the client waits until the task is assigned and completes it.
Every fifth task is held (routed to a queue no worker matches) and canceled instead. Afterwards:

* every task is in a final state and the counts add up: created = completed + canceled, and
  they equal what the clients counted; every assignment callback was answered 200 and every
  delivery the sandbox kept was applied (none failed);
* no file-descriptor growth: at most ``FD_SLACK`` more open descriptors than after warm-up;
* bounded memory growth: resident memory grows at most ``RSS_BASE_MB`` plus ``RSS_PER_TASK_KB``
  per task created after warm-up (the in-memory store keeps every task, its reservation and its
  events, so some growth per task is expected; a leak per request would exceed this).

Two forms: ``test_soak_short`` (~10 s) runs in the default suite; ``test_soak_full`` (60 s) is
marked ``soak`` and runs only when asked: ``pytest -m soak`` (see ``conftest.py``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fixtures.sandbox import validating_http_client

CLIENTS = 4
WORKERS = 8
CANCEL_EVERY = 5
FD_SLACK = 16
RSS_BASE_MB = 40.0
RSS_PER_TASK_KB = 40.0
WARM_UP_SHARE = 0.2


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    created: int = 0
    completed: int = 0
    canceled: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


@dataclass
class Rig:
    sandbox: Any
    callbacks: Any
    client: Any
    ws: Any
    workflow_sid: str
    recorder: Any

    def callbacks_records(self) -> tuple[list[Any], bool]:
        """Every record the callback log still holds (its rotated files too, oldest first), and
        whether it had to drop older ones (the log is bounded: a full soak outgrows it)."""
        from taskrouter_cli.callbacks.log import (
            LOG_ROTATED_KEPT,
            callback_log_path,
            read_records,
            rotated_path,
        )

        assert self.recorder.flush(10)
        path = callback_log_path()
        files = [rotated_path(path, n) for n in range(LOG_ROTATED_KEPT, 0, -1)] + [path]
        records: list[Any] = []
        for file in files:
            if file.exists():
                found, broken = read_records(file)
                assert broken == 0
                records += found
        return records, rotated_path(path, LOG_ROTATED_KEPT).exists()


@pytest.fixture
def rig(sandbox: Any) -> Iterator[Rig]:
    from twilio.rest import Client

    from taskrouter_cli.callbacks.app import CallbackServer, ServerConfig
    from taskrouter_cli.callbacks.instructions import build_reply
    from taskrouter_cli.callbacks.log import CallbackRecorder, callback_log_path

    recorder = CallbackRecorder(callback_log_path(), live="off")
    callbacks = CallbackServer(
        ServerConfig(port=0, auth_token=sandbox.auth_token, reply=build_reply("accept", {})),
        recorder=recorder,
    )
    callbacks.start()
    try:
        client = Client(
            sandbox.account_sid,
            sandbox.auth_token,
            http_client=validating_http_client(sandbox.base_url),
        )
        client.region = None
        client.edge = None
        workspace = client.taskrouter.v1.workspaces.create(friendly_name="Soak")
        ws = client.taskrouter.v1.workspaces(workspace.sid)
        available = next(a.sid for a in ws.activities.list() if a.available)
        queue = ws.task_queues.create(friendly_name="All", target_workers="1==1")
        nobody = ws.task_queues.create(friendly_name="Nobody", target_workers="1==2")
        held = {"filter_friendly_name": "Held", "expression": "hold == true"}
        configuration = {
            "task_routing": {
                "filters": [{**held, "targets": [{"queue": nobody.sid}]}],
                "default_filter": {"queue": queue.sid},
            }
        }
        workflow = ws.workflows.create(
            friendly_name="Soak",
            configuration=json.dumps(configuration),
            assignment_callback_url=callbacks.assignment_url,
        )
        for index in range(WORKERS):
            ws.workers.create(friendly_name=f"agent-{index}", activity_sid=available)
        yield Rig(sandbox, callbacks, client, ws, workflow.sid, recorder)
    finally:
        callbacks.stop()


def lifecycle_loop(rig: Rig, index: int, until: float, tally: Tally) -> None:
    serial = 0
    while time.monotonic() < until:
        serial += 1
        try:
            hold = serial % CANCEL_EVERY == 0
            task = rig.ws.tasks.create(
                attributes=json.dumps({"client": index, "n": serial, "hold": hold}),
                workflow_sid=rig.workflow_sid,
            )
            tally.add(created=1)
            if hold:  # routed to a queue with no workers: pending until canceled
                rig.ws.tasks(task.sid).update(assignment_status="canceled", reason="soak")
                tally.add(canceled=1)
                continue
            deadline = time.monotonic() + 10
            while rig.ws.tasks(task.sid).fetch().assignment_status != "assigned":
                if time.monotonic() > deadline:
                    raise AssertionError(f"{task.sid} not assigned within 10 s")
                time.sleep(0.002)  # bounded poll for the asynchronous accept
            rig.ws.tasks(task.sid).update(assignment_status="completed", reason="done")
            tally.add(completed=1)
        except Exception as exc:  # noqa: BLE001 -- reported by the test, with the first message
            with tally.lock:
                tally.errors.append(f"client {index}: {exc!r}"[:300])
            return


def soak(rig: Rig, seconds: float) -> None:
    tally = Tally()
    started = time.monotonic()
    until = started + seconds
    threads = [
        threading.Thread(target=lifecycle_loop, args=(rig, i, until, tally), daemon=True)
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds * WARM_UP_SHARE)  # the warm-up baseline is taken once load is steady
    fds_after_warm_up, rss_after_warm_up = open_fds(), rss_mb()
    created_at_warm_up = tally.created
    for thread in threads:
        thread.join(seconds + 30)
    assert not any(thread.is_alive() for thread in threads), "a client thread hung"
    assert not tally.errors, tally.errors[:3]
    rig.sandbox.flush()
    elapsed = time.monotonic() - started

    tasks = list(rig.ws.tasks.list(page_size=1000))
    statuses = Counter(task.assignment_status for task in tasks)
    assert set(statuses) <= {"completed", "canceled"}, statuses
    assert len(tasks) == tally.created == tally.completed + tally.canceled
    assert (statuses["completed"], statuses["canceled"]) == (tally.completed, tally.canceled)
    assert tally.completed > 0 and tally.canceled > 0

    kept, dropped_some = rig.callbacks_records()
    records = [r for r in kept if r.kind == "assignment"]
    assert records and all(r.status == 200 for r in records)
    assert len(records) >= tally.completed or dropped_some
    failed = [d for d in rig.sandbox.service.deliveries() if d["outcome"].startswith("failed")]
    assert not failed, failed[:3]

    fd_growth = open_fds() - fds_after_warm_up
    rss_growth = rss_mb() - rss_after_warm_up
    tasks_after_warm_up = tally.created - created_at_warm_up
    rss_bound = RSS_BASE_MB + RSS_PER_TASK_KB * tasks_after_warm_up / 1024
    print(
        f"\nsoak {elapsed:.1f} s: {tally.created} tasks ({tally.created / elapsed:.0f}/s), "
        f"{tally.completed} completed, {tally.canceled} canceled; fd growth {fd_growth}, "
        f"RSS growth {rss_growth:.1f} MB (bound {rss_bound:.1f} MB)"
    )
    assert fd_growth <= FD_SLACK, f"{fd_growth} more open file descriptors than after warm-up"
    assert rss_growth <= rss_bound, f"RSS grew {rss_growth:.1f} MB (bound {rss_bound:.1f} MB)"


def test_soak_short(rig: Rig) -> None:
    soak(rig, float(os.environ.get("TRCLI_SOAK_SHORT_SECONDS", "10")))


@pytest.mark.soak
def test_soak_full(rig: Rig) -> None:
    soak(rig, float(os.environ.get("TRCLI_SOAK_SECONDS", "60")))
