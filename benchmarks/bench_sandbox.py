"""Sandbox performance: full task lifecycles over HTTP, routing cost vs pending tasks, memory.

    python -m benchmarks.run --only sandbox [--quick]
    python -m benchmarks.bench_sandbox [--quick] [--seconds 8] [--memory-tasks 100000]

1. Lifecycles. The sandbox runs as a user runs it, in its own process: ``trcli sandbox --port 0
   --db <temp dir>/sandbox.db`` (the default persistence mode, SQLite file) and ``--in-memory``
   for comparison, on the system clock. The driver (this process, aiohttp) creates a
   single-tasking workspace: N workers Available, one queue ``1==1`` whose assignment activity
   is "Unavailable", a workflow whose AssignmentCallbackUrl points at a minimal callback server
   in this process answering ``{"instruction":"accept"}`` (it validates nothing: the sandbox is
   what is measured), and an EventCallbackUrl with ``EventsFilter=reservation.accepted``.
   A lifecycle: POST Task -> routing -> signed assignment callback -> accept -> task assigned
   (the driver learns it from the ``reservation.accepted`` event callback) -> POST the task
   ``completed`` -> POST the worker back to Available. ``min(N, 50)`` lifecycles run at once for
   ``--seconds``; no new one starts after that, the running ones finish.
   Latency (create -> assigned) is the difference of the sandbox's own event timestamps
   ``event_date_ms`` of ``task.created`` and ``reservation.accepted`` (read through the Events
   API after the run, so measuring adds no load); "observed" is the driver's wall time from
   sending the POST to receiving the accepted event callback.
2. Routing cost, in-process at service level (SandboxService on a SQLite file, system clock):
   with 10 / 1,000 / 10,000 pending tasks that no worker can take, the time of one more task
   create (routed into the queue) and of one worker becoming Available (routed to the oldest
   task, reservation created), each including its SQLite commit.
3. Memory: a sandbox process creates N pending tasks through its service, then serves HTTP and
   commits one write through it; VmRSS of the process and of its store writer process (summed:
   shared library pages count twice) is read from /proc/<pid>/status. Then ``trcli sandbox --db``
   is started on that database (a restart), makes one write, and its VmRSS is read the same way.
   ``--quick`` uses 10,000 tasks and extrapolates linearly to 100,000 from an empty sandbox's
   RSS (the note says so; bounded caches make it an overestimate).

Targets (issue 13): >= 800 lifecycles/s at 50 workers (p99 < 50 ms, no errors); event delivery
measured; with 100,000 pending tasks < 150 MB resident (file), < 400 MB (--in-memory), a database
under 300 MB. Routing cost at 10,000 pending within 2x of 10.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from benchmarks.common import (
    REPO,
    Report,
    median,
    percentile,
    stat_cpu_seconds,
    tree_cpu_seconds,
    tree_rss_mb,
)

ACCOUNT = "AC" + "b" * 32
TOKEN = "c" * 32
CREDENTIALS = f"{ACCOUNT}:{TOKEN}".encode()
MAX_CONCURRENCY = 50


# --- processes -------------------------------------------------------------------------------
def main_thread_wait_seconds(pid: int) -> float:
    """Time ``pid``'s main thread has spent runnable but waiting for a core (the second field
    of /proc/<pid>/task/<pid>/schedstat, in ns; 0 where the kernel does not keep it)."""
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
        return int(fields[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def cores_busy() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks (/proc/stat's cpu
    line: busy is everything but idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])  # guest time is already counted in user and nice
    return total - fields[3] - fields[4], total


def main_thread_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid``'s main thread alone (the sandbox's event loop; its store writer
    process and its other threads are the rest of :func:`tree_cpu_seconds`)."""
    return stat_cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat"))


def _child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TRCLI_"))}
    env["TRCLI_HOME"] = str(home)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@contextmanager
def sandbox_process(workdir: Path, db: str, timeout: float = 120.0) -> Iterator[tuple[int, str]]:
    """``trcli sandbox`` on a free port; yields (pid, base_url); SIGTERM on exit."""
    port_file = workdir / f"port-{time.monotonic_ns()}"
    where = ["--in-memory"] if db == ":memory:" else ["--db", db]
    argv = [sys.executable, "-m", "taskrouter_cli", "sandbox", "--port", "0", "--no-seed"]
    argv += [*where, "--port-file", str(port_file), "--account-sid", ACCOUNT]
    argv += ["--auth-token", TOKEN]
    child = subprocess.Popen(
        argv, env=_child_env(workdir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if child.poll() is not None:
                err = child.stderr.read().decode() if child.stderr else ""
                raise RuntimeError(f"trcli sandbox exited with {child.returncode}: {err}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"trcli sandbox did not listen within {timeout} s")
            time.sleep(0.05)
        yield child.pid, f"http://127.0.0.1:{int(port_file.read_text())}"
    finally:
        _stop(child)


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


# --- 1. lifecycles ---------------------------------------------------------------------------
@dataclass
class LifecycleResult:
    completed: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    observed_ms: list[float] = field(default_factory=list)
    sandbox_cpu: float = 0.0
    loop_cpu: float = 0.0
    loop_wait: float = 0.0
    """Seconds the loop thread was runnable but waiting for a core."""
    driver_cpu: float = 0.0
    cores_busy_pct: float = 0.0
    """How busy the machine's cores were during the run, all processes (100 = all of them)."""
    events: int = 0


ACCEPT_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n"
    b'{"instruction":"accept"}'
)
EVENT_ANSWER = b"HTTP/1.1 204 No Content\r\n\r\n"


class CallbackProtocol(asyncio.Protocol):
    """The driver's callback server, one connection: keep-alive HTTP/1.1 requests with a
    ``Content-Length`` body (what the sandbox sends), each answered with what ``answer(path,
    body)`` returns. Anything else closes the connection (the sandbox then reports a failed
    delivery, and the run its errors)."""

    def __init__(self, answer: Callable[[str, bytes], bytes]) -> None:
        self.answer = answer
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while (end := buffer.find(b"\r\n\r\n")) >= 0:
            lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
            length = -1
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length" and value.strip().isdigit():
                    length = int(value)
            parts = lines[0].split(" ")
            if length < 0 or len(parts) != 3 or self.transport is None:
                if self.transport is not None:
                    self.transport.close()
                return
            if len(buffer) < end + 4 + length:
                return
            body = bytes(buffer[end + 4 : end + 4 + length])
            del buffer[: end + 4 + length]
            self.transport.write(self.answer(parts[1], body))


class Driver:
    """The load generator: an HTTP client plus the callback server the sandbox calls, on one
    event loop. Like ``wrk`` for the callback server, it should cost as little CPU as it can
    (it shares the machine with the sandbox it measures): POSTs go out on kept-alive
    connections through the small HTTP/1.1 client of ``taskrouter_cli.sandbox.callback_http``
    (aiohttp's client cost ~0.3 ms of the driver's CPU per lifecycle), and the callbacks are
    answered by :class:`CallbackProtocol` (aiohttp's low-level server cost ~20% of the driver's
    CPU). GETs (set-up, the Events read after the run) use aiohttp's client."""

    def __init__(self, base_url: str, concurrency: int, all_events: bool = False) -> None:
        self.base_url = base_url
        self.concurrency = concurrency
        self.all_events = all_events
        self.events_received = 0
        self.waiters: dict[str, asyncio.Future[tuple[str, int]]] = {}
        self.callback_url = ""
        self.session: Any = None
        self.server: Any = None
        self.http: Any = None
        self.auth = [("Authorization", "Basic " + base64.b64encode(CREDENTIALS).decode())]

    def waiter(self, task_sid: str) -> asyncio.Future[tuple[str, int]]:
        found = self.waiters.get(task_sid)
        if found is None:
            found = self.waiters[task_sid] = asyncio.get_running_loop().create_future()
        return found

    def callback(self, path: str, body: bytes) -> bytes:
        """The answer to one callback the sandbox sent (the whole HTTP response)."""
        if path == "/assignment":
            return ACCEPT_ANSWER
        self.events_received += 1
        if b"EventType=reservation.accepted" in body:
            form = parse_qs(body.decode())
            future = self.waiter(form["TaskSid"][0])
            if not future.done():
                future.set_result((form["WorkerSid"][0], int(form["TimestampMs"][0])))
        return EVENT_ANSWER

    async def start(self) -> None:
        import aiohttp

        from taskrouter_cli.sandbox.callback_http import CallbackHttpClient

        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: CallbackProtocol(self.callback), "127.0.0.1", 0, backlog=512
        )
        port = self.server.sockets[0].getsockname()[1]
        self.callback_url = f"http://127.0.0.1:{port}"
        self.session = aiohttp.ClientSession(headers=dict(self.auth))
        self.http = CallbackHttpClient()

    async def close(self) -> None:
        if self.http is not None:
            self.http.close()
        if self.session is not None:
            await self.session.close()
        if self.server is not None:
            self.server.close()

    async def post(self, path: str, data: dict[str, str], expect: int = 200) -> dict[str, Any]:
        from urllib.parse import urlencode

        from taskrouter_cli.sandbox.callback_http import plain_http_target

        target = plain_http_target(self.base_url + path)
        assert target is not None
        headers = [*self.auth, ("Content-Type", "application/x-www-form-urlencoded")]
        reply = await self.http.post(target, urlencode(data).encode(), headers, 30.0)
        body = json.loads(reply.body)
        if reply.status != expect:
            raise RuntimeError(f"POST {path} -> {reply.status}: {body.get('message')}")
        return dict(body)

    async def get(self, url: str) -> dict[str, Any]:
        async with self.session.get(url) as response:
            body = await response.json(content_type=None)
            if response.status != 200:
                raise RuntimeError(f"GET {url} -> {response.status}: {body.get('message')}")
            return dict(body)

    async def setup(self, workers: int) -> tuple[str, str, str]:
        """(workspace path, workflow SID, Available activity SID) with ``workers`` Available."""
        settings = {
            "FriendlyName": f"bench {workers}",
            "MultiTaskEnabled": "false",
            "EventCallbackUrl": self.callback_url + "/events",
        }
        if not self.all_events:
            settings["EventsFilter"] = "reservation.accepted"
        ws = await self.post("/v1/Workspaces", settings, 201)
        path = f"/v1/Workspaces/{ws['sid']}"
        activities = await self.get(self.base_url + path + "/Activities")
        by_name = {a["friendly_name"]: a["sid"] for a in activities["activities"]}
        available, busy = by_name["Available"], by_name["Unavailable"]
        queue = await self.post(
            path + "/TaskQueues",
            {"FriendlyName": "all", "TargetWorkers": "1==1", "AssignmentActivitySid": busy},
            201,
        )
        routing = {"task_routing": {"filters": [], "default_filter": {"queue": queue["sid"]}}}
        workflow = await self.post(
            path + "/Workflows",
            {
                "FriendlyName": "bench",
                "Configuration": json.dumps(routing),
                "AssignmentCallbackUrl": self.callback_url + "/assignment",
            },
            201,
        )
        gate = asyncio.Semaphore(self.concurrency)

        async def worker(index: int) -> None:
            async with gate:
                data = {"FriendlyName": f"w{index}", "ActivitySid": available}
                await self.post(path + "/Workers", data, 201)

        await asyncio.gather(*(worker(i) for i in range(workers)))
        return path, workflow["sid"], available

    async def lifecycles(
        self, path: str, workflow: str, available: str, seconds: float
    ) -> LifecycleResult:
        from taskrouter_cli.sandbox.callback_http import CallbackHttpError

        result = LifecycleResult()
        accepted_ms: dict[str, int] = {}
        stop_at = time.perf_counter() + seconds

        async def slot() -> None:
            while time.perf_counter() < stop_at and not result.errors:
                sent = time.perf_counter()
                try:
                    task = await self.post(
                        path + "/Tasks", {"WorkflowSid": workflow, "Attributes": "{}"}, 201
                    )
                    worker_sid, stamp = await asyncio.wait_for(self.waiter(task["sid"]), 30)
                    result.observed_ms.append((time.perf_counter() - sent) * 1000)
                    accepted_ms[task["sid"]] = stamp
                    await self.post(
                        f"{path}/Tasks/{task['sid']}",
                        {"AssignmentStatus": "completed", "Reason": "done"},
                    )
                    await self.post(f"{path}/Workers/{worker_sid}", {"ActivitySid": available})
                except (RuntimeError, asyncio.TimeoutError, OSError, CallbackHttpError) as exc:
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                    return
                result.completed += 1

        started = time.perf_counter()
        await asyncio.gather(*(slot() for _ in range(self.concurrency)))
        result.seconds = time.perf_counter() - started
        created = await self.event_times(path, "task.created")
        result.latencies_ms = [
            float(accepted_ms[sid] - created[sid]) for sid in accepted_ms if sid in created
        ]
        return result

    async def event_times(self, path: str, event_type: str) -> dict[str, int]:
        """TaskSid -> event_date_ms of every ``event_type`` event (Events API, all pages)."""
        found: dict[str, int] = {}
        url: str | None = f"{self.base_url}{path}/Events?EventType={event_type}&PageSize=1000"
        while url:
            page = await self.get(url)
            for event in page["events"]:
                found[event["resource_sid"]] = int(event["event_date_ms"])
            url = page["meta"].get("next_page_url")
        return found


async def _drive(
    base_url: str, pid: int, workers: int, seconds: float, all_events: bool = False
) -> LifecycleResult:
    driver = Driver(base_url, min(workers, MAX_CONCURRENCY), all_events)
    await driver.start()
    try:
        path, workflow, available = await driver.setup(workers)
        # a short warm-up (connections, caches), not counted
        await driver.lifecycles(path, workflow, available, min(0.5, seconds / 4))
        cpu_before, own_before = tree_cpu_seconds(pid), time.process_time()
        loop_before = main_thread_cpu_seconds(pid)
        wait_before, (busy_before, total_before) = main_thread_wait_seconds(pid), cores_busy()
        events_before = driver.events_received
        result = await driver.lifecycles(path, workflow, available, seconds)
        result.events = driver.events_received - events_before
        result.sandbox_cpu = tree_cpu_seconds(pid) - cpu_before
        result.loop_cpu = main_thread_cpu_seconds(pid) - loop_before
        result.loop_wait = main_thread_wait_seconds(pid) - wait_before
        busy_after, total_after = cores_busy()
        elapsed_ticks = max(1.0, total_after - total_before)
        result.cores_busy_pct = 100 * (busy_after - busy_before) / elapsed_ticks
        result.driver_cpu = time.process_time() - own_before
        return result
    finally:
        await driver.close()


LIFECYCLE_ROWS = (("file", 50, False), ("file", 50, True), (":memory:", 50, False))
"""(database, workers, every event delivered) of the default run; --full adds 1 and 500."""
FULL_ROWS = ((mode, workers, False) for mode in ("file", ":memory:") for workers in (1, 500))


def bench_lifecycles(report: Report, workdir: Path, seconds: float, full: bool) -> None:
    rows = [*LIFECYCLE_ROWS, *(FULL_ROWS if full else ())]
    for index, (mode, workers, all_events) in enumerate(rows):
        db = str(workdir / f"life-{index}.db") if mode == "file" else ":memory:"
        with sandbox_process(workdir, db) as (pid, base_url):
            result = asyncio.run(_drive(base_url, pid, workers, seconds, all_events))
        report.add(
            measure="lifecycles",
            db="sqlite file" if mode == "file" else ":memory:",
            events="all" if all_events else "filtered",
            workers=workers,
            concurrency=min(workers, MAX_CONCURRENCY),
            lifecycles=result.completed,
            per_second=result.completed / result.seconds if result.seconds else 0.0,
            p50_ms=median(result.latencies_ms),
            p99_ms=percentile(result.latencies_ms, 0.99),
            observed_p50_ms=median(result.observed_ms),
            sandbox_cpu_ms_per_lifecycle=1000 * result.sandbox_cpu / max(1, result.completed),
            loop_cpu_ms_per_lifecycle=1000 * result.loop_cpu / max(1, result.completed),
            loop_wait_ms_per_lifecycle=1000 * result.loop_wait / max(1, result.completed),
            driver_cpu_ms_per_lifecycle=1000 * result.driver_cpu / max(1, result.completed),
            cores_busy_pct=result.cores_busy_pct,
            events_per_lifecycle=result.events / max(1, result.completed),
            sandbox_cpu_pct=100 * result.sandbox_cpu / result.seconds if result.seconds else 0,
            driver_cpu_pct=100 * result.driver_cpu / result.seconds if result.seconds else 0,
            errors=len(result.errors),
            load_avg=os.getloadavg()[0],
        )
        for error in result.errors[:3]:
            report.note(f"{workers} workers ({mode}): {error}")


# --- 2. routing cost -------------------------------------------------------------------------
def routing_cost(workdir: Path, pending: int, batches: int = 5) -> tuple[float, float]:
    """Seconds per (task create, worker becoming Available) with ``pending`` waiting tasks."""
    from taskrouter_cli.sandbox.clock import SystemClock
    from taskrouter_cli.sandbox.service import SandboxService
    from taskrouter_cli.sandbox.store import SqliteStore

    service = SandboxService(SqliteStore(workdir / f"routing-{pending}.db"), SystemClock())
    try:
        ws = service.create("workspace", {}, {"friendly_name": "r", "multi_task_enabled": False})
        scope = {"workspace_sid": ws["sid"]}
        queue = service.create("task_queue", scope, {"friendly_name": "q"})
        routing = {"task_routing": {"default_filter": {"queue": queue["sid"]}}}
        workflow = service.create(
            "workflow", scope, {"friendly_name": "wf", "configuration": json.dumps(routing)}
        )["sid"]
        activities = service.list("activity", scope).records
        available = next(a["sid"] for a in activities if a["available"])
        per_batch = 20
        workers = [
            service.create("worker", scope, {"friendly_name": f"w{i}"})["sid"]
            for i in range(batches * per_batch)
        ]
        for index in range(pending):
            service.create("task", scope, {"workflow_sid": workflow})
            if index % 1000 == 999:
                service.settle()
        service.settle()
        create_samples, worker_samples = [], []
        for batch in range(batches):  # each timed batch includes the routing it sets off
            started = time.perf_counter()
            for _ in range(per_batch):
                service.create("task", scope, {"workflow_sid": workflow})
            service.settle()
            create_samples.append((time.perf_counter() - started) / per_batch)
            started = time.perf_counter()
            for worker in workers[batch * per_batch : (batch + 1) * per_batch]:
                service.update("worker", scope, worker, {"activity_sid": available})
            service.settle()
            worker_samples.append((time.perf_counter() - started) / per_batch)
        reserved = service.list("task", scope, {"assignment_status": "reserved"}, 1000).records
        if len(reserved) != batches * per_batch:
            raise RuntimeError(f"expected every worker reserved, got {len(reserved)}")
        return min(create_samples), min(worker_samples)
    finally:
        service.close()


def bench_routing(report: Report, workdir: Path) -> None:
    baseline: tuple[float, float] | None = None
    for pending in (10, 1_000, 10_000):
        create, worker = routing_cost(workdir, pending)
        baseline = baseline or (create, worker)
        report.add(
            measure="routing",
            pending=pending,
            task_create_us=create * 1e6,
            worker_available_us=worker * 1e6,
            create_vs_10=create / baseline[0],
            available_vs_10=worker / baseline[1],
        )


# --- 3. memory -------------------------------------------------------------------------------
def _memory_child(db: str, tasks: int) -> None:
    """Create ``tasks`` pending tasks through the service, serve, print READY, wait on stdin."""
    from taskrouter_cli.sandbox.clock import SystemClock
    from taskrouter_cli.sandbox.server import SandboxServer
    from taskrouter_cli.sandbox.service import SandboxService
    from taskrouter_cli.sandbox.store import SqliteStore

    service = SandboxService(SqliteStore(db), SystemClock())
    ws = service.create("workspace", {}, {"friendly_name": "m", "multi_task_enabled": False})
    scope = {"workspace_sid": ws["sid"]}
    queue = service.create("task_queue", scope, {"friendly_name": "q"})
    routing = {"task_routing": {"default_filter": {"queue": queue["sid"]}}}
    workflow = service.create(
        "workflow", scope, {"friendly_name": "wf", "configuration": json.dumps(routing)}
    )["sid"]
    for index in range(5):
        service.create("worker", scope, {"friendly_name": f"offline {index}"})
    attributes = json.dumps({"type": "support", "selected_language": "es", "customer": 12345})
    for index in range(tasks):
        service.create("task", scope, {"workflow_sid": workflow, "attributes": attributes})
        if index % 1000 == 999:
            service.settle()  # routing runs after each write's answer; let it catch up
    service.settle()
    with SandboxServer(service) as server:
        # One write through the server, so that its store writer process has started and
        # committed (the RSS read next is the sandbox's and the writer's, summed).
        _one_write(server.base_url, f"{service.account_sid}:{service.auth_token}".encode())
        print(f"READY {server.port}", flush=True)
        sys.stdin.read()


def _one_write(base_url: str, credentials: bytes = CREDENTIALS) -> None:
    """Create a workspace in a sandbox (by default one started by :func:`sandbox_process`)."""
    import urllib.request

    request = urllib.request.Request(
        f"{base_url}/v1/Workspaces",
        data=b"FriendlyName=one+more",
        headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 201


@dataclass
class MemoryRun:
    rss_mb: float
    restarted_rss_mb: float | None
    create_seconds: float
    db_mb: float | None


def database_mb(path: Path) -> float:
    """Size of a SQLite database with its WAL folded in (a checkpoint first)."""
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def memory_run(workdir: Path, tasks: int, in_memory: bool = False) -> MemoryRun:
    """RSS after creating ``tasks`` pending tasks; for a file, also its size and a restart's RSS."""
    db = workdir / f"memory-{tasks}.db"
    where = ":memory:" if in_memory else str(db)
    argv = [sys.executable, "-m", "benchmarks.bench_sandbox", "--memory-child", where]
    started = time.perf_counter()
    child = subprocess.Popen(
        [*argv, str(tasks)],
        env=_child_env(workdir),
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().decode()
        if not line.startswith("READY"):
            raise RuntimeError(f"memory child failed (exit {child.wait()})")
        created_in = time.perf_counter() - started
        rss = tree_rss_mb(child.pid)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(60)
        except subprocess.TimeoutExpired:
            child.kill()
    if in_memory:
        return MemoryRun(rss, None, created_in, None)
    size = database_mb(db)
    with sandbox_process(workdir, str(db)) as (pid, base_url):
        _one_write(base_url)  # its store writer process has started and committed
        restarted = tree_rss_mb(pid)
    db.unlink()
    return MemoryRun(rss, restarted, created_in, size)


def bench_memory(report: Report, workdir: Path, tasks: int) -> None:
    for in_memory in (False, True):
        mode = ":memory:" if in_memory else "sqlite file"
        empty = memory_run(workdir, 0, in_memory)
        full = memory_run(workdir, tasks, in_memory)
        report.add(measure="memory", db=mode, tasks=0, rss_mb=empty.rss_mb, db_mb=empty.db_mb or "")
        report.add(
            measure="memory",
            db=mode,
            tasks=tasks,
            rss_mb=full.rss_mb,
            restarted_rss_mb=full.restarted_rss_mb or "",
            db_mb=full.db_mb or "",
            create_seconds=full.create_seconds,
            load_avg=os.getloadavg()[0],
        )
        if tasks < 100_000:
            factor = 100_000 / tasks
            report.add(
                measure="memory (extrapolated)",
                db=mode,
                tasks=100_000,
                rss_mb=empty.rss_mb + (full.rss_mb - empty.rss_mb) * factor,
                db_mb=""
                if in_memory
                else (empty.db_mb or 0) + ((full.db_mb or 0) - (empty.db_mb or 0)) * factor,
            )
    if tasks < 100_000:
        report.note(
            f"--quick: figures at 100,000 tasks are extrapolated linearly from {tasks:,} tasks "
            "and an empty sandbox, not measured; RSS is overestimated, since the SQLite page "
            "cache (16 MB), and the whole records and parsed attributes of the 2,048 tasks used "
            "last, stop growing."
        )


# --- main ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs; memory extrapolated")
    parser.add_argument("--seconds", type=float, default=None, help="lifecycle run length")
    parser.add_argument("--memory-tasks", type=int, default=None)
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["lifecycles", "routing", "memory"]
    )
    parser.add_argument("--full", action="store_true", help="also 1 and 500 workers")
    args = parser.parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 8.0)
    tasks = args.memory_tasks or (10_000 if args.quick else 100_000)

    report = Report("sandbox")
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        workdir = Path(tmp)
        if "lifecycles" not in args.skip:
            bench_lifecycles(report, workdir, seconds, args.full)
        if "routing" not in args.skip:
            bench_routing(report, workdir)
        if "memory" not in args.skip:
            bench_memory(report, workdir, tasks)
    from taskrouter_cli.sandbox.server import FOREGROUND_EXECUTOR_THREADS as THREADS

    report.note(
        f"Load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (other "
        "work on the machine shares them). "
        f"Lifecycles: `trcli sandbox` in its own process ({THREADS} service threads; 0 = on its "
        "event loop), single-tasking, "
        f"{seconds:g} s per row after a warm-up; p50/p99 from the sandbox's event_date_ms "
        "(task.created -> reservation.accepted); observed = driver's POST -> accepted event "
        "callback. Routing: in-process service on a SQLite file, best of 5 batches of 20. "
        "Memory: VmRSS of the sandbox process and its store writer process, summed (pending "
        "tasks; restarted = trcli sandbox --db "
        "reloading them; db_mb = the file after a checkpoint). Sandbox CPU includes the writer "
        "process. Targets: >= 800 lifecycles/s at "
        "50 workers, p99 < 50 ms; < 150 MB (file) / < 400 MB (:memory:) and a database < 300 MB "
        "at 100,000 pending tasks; 10,000 pending within 2x of 10."
    )
    return report


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--memory-child":
        _memory_child(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    result = main(sys.argv[1:])
    result.print_table()
    result.save()
