"""Signed assignment callbacks per second and p50/p99 latency of `trcli serve`, side by side
with PHP's built-in server running the tutorial's assignment.php (when `php` is installed), and
`trcli serve --forward-to` in front of that PHP (signature checked, re-signed, forwarded).

Each server runs in its own process on 127.0.0.1. The load is signed, form-encoded callbacks
like TaskRouter's, sent at 1, 16 and 64 concurrent connections for a few seconds each, by `wrk`
(one thread) when it is installed, else by a Python aiohttp client (which then limits the
numbers: it shares the 2 cores). `trcli serve` runs as a user runs it: signature validation
on, the live log written to a terminal stand-in (/dev/null) and the JSON-lines callback log to
disk.

Every callback is distinct (its own task and reservation, signed for the URL called), as
TaskRouter's are: a pool of POOL of them per server, sent in order, run after run, so that a
callback comes round again only once the server has forgotten it (it remembers
REPLAY_MEMORY signatures per process). A server that saw the same few callbacks again and
again would log them as short "replay" lines and look faster than it is.

    python -m benchmarks.bench_callback_server [--quick] [--seconds 3] [--load wrk|python]

Not a pass/fail test. Prints a table and writes benchmarks/results/callback_server.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from benchmarks.common import Report, percentile, tree_cpu_seconds
from taskrouter_cli.callbacks.app import REPLAY_MEMORY

HERE = Path(__file__).resolve().parent
TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT = "AC" + "0" * 32
FORM = "application/x-www-form-urlencoded"
WRK_THREADS = 1
"""wrk threads: one, so the load generator takes at most one of the machine's cores."""
POOL = 3 * REPLAY_MEMORY
"""Distinct signed callbacks per server: more than ``--workers 2`` processes remember."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def signed_requests(url: str, count: int = POOL) -> list[tuple[str, str]]:
    """(body, X-Twilio-Signature) pairs: ``count`` distinct callbacks, each signed for ``url``."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    requests = []
    for index in range(count):
        params = {
            "AccountSid": ACCOUNT,
            "WorkspaceSid": "WS" + "1" * 32,
            "WorkflowSid": "WW" + "2" * 32,
            "TaskQueueSid": "WQ" + "3" * 32,
            "WorkerSid": "WK" + "4" * 32,
            "WorkerAttributes": '{"languages": ["en", "es"]}',
            "TaskSid": f"WT{index:032x}",
            "TaskAttributes": '{"selected_language": "es"}',
            "TaskAge": "3",
            "TaskPriority": "0",
            "ReservationSid": f"WR{index:032x}",
            "Timestamp": str(1_700_000_000 + index),
        }
        body = urllib.parse.urlencode(params)
        requests.append((body, validator.compute_signature(url, params)))
    return requests


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server not answering {url} after {timeout:.0f} s")


@contextmanager
def running(argv: list[str], health_url: str, env: dict[str, str]) -> Iterator[int]:
    """The server process, started, answering ``health_url``; yields its pid; terminated on exit."""
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **env}
    )
    try:
        wait_until_up(health_url, process)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


# -- load generators ---------------------------------------------------------------------------

WRK_SCRIPT = """
-- Every request is built once, when the thread starts: sending one then allocates nothing.
local requests = {}
init = function(args)
  for line in io.lines("%(data)s") do
    local tab = line:find("\\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", "%(path)s", {["Content-Type"] = "%(form)s",
      ["X-Twilio-Signature"] = line:sub(1, tab - 1)}, line:sub(tab + 1))
  end
end
local index = %(start)d
request = function()
  index = index %% #requests + 1
  return requests[index]
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, " ..
    "\\"non_2xx\\": %%d, \\"socket_errors\\": %%d}\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""


class Callbacks:
    """The pool of signed callbacks for one URL, and where the next run starts in it."""

    def __init__(self, url: str, count: int = POOL) -> None:
        self.url = url
        self.requests = signed_requests(url, count)
        self.next = 0
        self._data: str | None = None

    def data_file(self) -> str:
        """The pool as "signature<TAB>body" lines, for wrk's script (written once)."""
        if self._data is None:
            with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as handle:
                handle.writelines(f"{sig}\t{body}\n" for body, sig in self.requests)
            self._data = handle.name
        return self._data

    def sent(self, count: int) -> None:
        self.next = (self.next + count) % len(self.requests)

    def remove(self) -> None:
        if self._data is not None:
            os.unlink(self._data)
            self._data = None


def load_wrk(callbacks: Callbacks, connections: int, seconds: float) -> dict[str, float]:
    url = callbacks.url
    path = urllib.parse.urlsplit(url).path
    script = WRK_SCRIPT % {
        "data": callbacks.data_file(),
        "start": callbacks.next,
        "path": path,
        "form": FORM,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        result = subprocess.run(
            [
                "wrk",
                f"-t{WRK_THREADS}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "-s",
                handle.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        )
    finally:
        os.unlink(handle.name)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    data = json.loads(line[len("RESULT ") :])
    callbacks.sent(data["requests"])
    return {
        "req_per_s": data["requests"] / (data["duration_us"] / 1e6),
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "non_2xx": data["non_2xx"],
        "socket_errors": data["socket_errors"],
    }


async def _python_load(callbacks: Callbacks, connections: int, seconds: float) -> dict[str, float]:
    import aiohttp

    url, requests = callbacks.url, callbacks.requests
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(offset: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        index = callbacks.next + offset
        while time.perf_counter() < deadline:
            body, signature = requests[index % len(requests)]
            index += connections
            started = time.perf_counter()
            async with session.post(
                url, data=body, headers={"Content-Type": FORM, "X-Twilio-Signature": signature}
            ) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(i, session) for i in range(connections)))
        elapsed = time.perf_counter() - started
    callbacks.sent(len(latencies) + connections)
    return {
        "req_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "non_2xx": errors,
        "socket_errors": 0,
    }


def load_python(callbacks: Callbacks, connections: int, seconds: float) -> dict[str, float]:
    return asyncio.run(_python_load(callbacks, connections, seconds))


# -- servers -----------------------------------------------------------------------------------


def trcli_server(port: int, home: Path, extra: list[str]) -> tuple[list[str], str, dict[str, str]]:
    argv = [sys.executable, "-m", "taskrouter_cli", "serve", "--port", str(port), *extra]
    env = {
        "TRCLI_HOME": str(home),
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "COLUMNS": "120",
    }
    return argv, f"http://127.0.0.1:{port}/healthz", env


def php_server(port: int) -> tuple[list[str], str, dict[str, str]]:
    argv = ["php", "-S", f"127.0.0.1:{port}", "-t", str(HERE)]
    return argv, f"http://127.0.0.1:{port}/assignment.php", {}


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 s per run, one round")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs per point; the median run is reported"
    )
    parser.add_argument("--connections", type=int, nargs="*", default=[1, 16, 64])
    parser.add_argument("--load", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args(argv)
    seconds = 1.0 if args.quick else args.seconds
    rounds = 1 if args.quick else max(1, args.rounds)
    use_wrk = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk") is not None)
    load = load_wrk if use_wrk else load_python
    report = Report("callback_server")
    report.note(
        f"Load generator: "
        f"{f'wrk -t{WRK_THREADS}' if use_wrk else 'Python aiohttp client (shares the CPU)'}; "
        f"{seconds:g} s per run; servers take turns, {rounds} round(s), median run shown; "
        f"every callback distinct ({POOL:,} signed per server, sent in order: none is a "
        f"replay); {os.cpu_count()} CPUs. "
        "php -S closes the connection after each answer: wrk counts those as socket errors."
    )
    report.note(f"trcli serve's event loop: {_event_loop()}.")
    if not use_wrk:
        why = (
            "wrk is not installed (apt-get install wrk)"
            if shutil.which("wrk") is None
            else ("--load python was asked for")
        )
        report.note(
            f"{why}: the load came from a Python client sharing the CPU, so these figures "
            "understate every server."
        )
    pids: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as home, ExitStack() as stack:
        servers: list[tuple[str, str]] = []
        for label, extra in CANDIDATES:
            port = free_port()
            pids[label] = stack.enter_context(running(*trcli_server(port, Path(home), extra)))
            servers.append((label, f"http://127.0.0.1:{port}/assignment"))
        if shutil.which("php"):
            port = free_port()
            pids[PHP] = stack.enter_context(running(*php_server(port)))
            php_url = f"http://127.0.0.1:{port}/assignment.php"
            servers.append((PHP, php_url))
            port = free_port()
            forward = ["--forward-to", php_url]
            label = "trcli serve --forward-to (that php)"
            pids[label] = stack.enter_context(running(*trcli_server(port, Path(home), forward)))
            servers.append((label, f"http://127.0.0.1:{port}/assignment"))
        else:
            report.note(
                "php is not installed (apt-get install php-cli): the PHP comparison was skipped."
            )
        signed = {url: stack.enter_context(_pool(url)) for _, url in servers}
        for _, url in servers:
            load(signed[url], 4, 0.5)  # warm-up
        for connections in args.connections:
            runs: dict[str, list[dict[str, float]]] = {label: [] for label, _ in servers}
            for _ in range(rounds):
                for label, url in servers:
                    cpu_before = tree_cpu_seconds(pids[label])
                    result = load(signed[url], connections, seconds)
                    served = result["req_per_s"] * seconds
                    spent = tree_cpu_seconds(pids[label]) - cpu_before
                    result["server_cpu_us_per_request"] = spent / max(1.0, served) * 1e6
                    runs[label].append(result)
            php = _median_run(runs[PHP]) if PHP in runs else None
            for label, _ in servers:
                ordered = sorted(runs[label], key=lambda run: run["req_per_s"])
                middle = _median_run(runs[label])
                spread = f"{ordered[0]['req_per_s']:,.0f}-{ordered[-1]['req_per_s']:,.0f}"
                report.add(
                    server=label,
                    connections=connections,
                    **middle,
                    req_per_s_range=spread,
                    ratio_to_php=middle["req_per_s"] / php["req_per_s"] if php else "",
                    load_avg=os.getloadavg()[0],
                )
    return report


PHP = "php -S + assignment.php"
CANDIDATES: list[tuple[str, list[str]]] = [
    ("trcli serve (signatures validated, live log, JSON-lines log)", []),
    ("trcli serve --workers 2 (same)", ["--workers", "2"]),
    ("trcli serve --no-validate (reference)", ["--no-validate"]),
]


@contextmanager
def _pool(url: str) -> Iterator[Callbacks]:
    callbacks = Callbacks(url)
    try:
        yield callbacks
    finally:
        callbacks.remove()


def _event_loop() -> str:
    """What ``trcli serve`` runs on in this environment (uvloop when it is installed)."""
    try:
        import uvloop
    except ImportError:
        return "asyncio's (uvloop is not installed: pip install -e . installs it)"
    return f"uvloop {uvloop.__version__}"


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    return sorted(runs, key=lambda run: run["req_per_s"])[len(runs) // 2]


if __name__ == "__main__":
    main_report = main()
    main_report.print_table()
    print(f"\n(saved {main_report.save()})")
