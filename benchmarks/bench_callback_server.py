"""Signed assignment callbacks per second and p50/p99 latency of `trcli serve`, side by side
with PHP's built-in server running the tutorial's assignment.php (when `php` is installed), and
`trcli serve --forward-to` in front of that PHP (signature checked, re-signed, forwarded).

Each server runs in its own process on 127.0.0.1. The load is signed, form-encoded callbacks
like TaskRouter's (1,000 distinct reservations, each signed for the URL called), sent at 1, 16
and 64 concurrent connections for a few seconds each, by `wrk` when it is installed, else by a
Python aiohttp client (which then limits the numbers: it shares the 2 cores). `trcli serve`
runs as a user runs it: signature validation on, the live log written to a terminal stand-in
(/dev/null) and the JSON-lines callback log to disk.

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

from benchmarks.common import Report, percentile

HERE = Path(__file__).resolve().parent
TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT = "AC" + "0" * 32
DISTINCT_REQUESTS = 1000
FORM = "application/x-www-form-urlencoded"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def signed_requests(url: str) -> list[tuple[str, str]]:
    """(body, X-Twilio-Signature) pairs: distinct callbacks, each signed for ``url``."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    requests = []
    for index in range(DISTINCT_REQUESTS):
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


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live children (``serve --workers``)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
        pending.extend(int(child) for child in children)
    return total


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
local bodies = {%(bodies)s}
local signatures = {%(signatures)s}
local index = 0
request = function()
  index = index %% #bodies + 1
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "%(form)s",
    ["X-Twilio-Signature"] = signatures[index]}, bodies[index])
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


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def load_wrk(
    url: str, requests: list[tuple[str, str]], connections: int, seconds: float
) -> dict[str, float]:
    path = urllib.parse.urlsplit(url).path
    script = WRK_SCRIPT % {
        "bodies": ",".join(_lua_string(body) for body, _ in requests),
        "signatures": ",".join(_lua_string(sig) for _, sig in requests),
        "path": path,
        "form": FORM,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        result = subprocess.run(
            [
                "wrk",
                "-t1",
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
    return {
        "req_per_s": data["requests"] / (data["duration_us"] / 1e6),
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "non_2xx": data["non_2xx"],
        "socket_errors": data["socket_errors"],
    }


async def _python_load(
    url: str, requests: list[tuple[str, str]], connections: int, seconds: float
) -> dict[str, float]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(offset: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        index = offset
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
    return {
        "req_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "non_2xx": errors,
        "socket_errors": 0,
    }


def load_python(
    url: str, requests: list[tuple[str, str]], connections: int, seconds: float
) -> dict[str, float]:
    return asyncio.run(_python_load(url, requests, connections, seconds))


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
        f"Load generator: {'wrk -t1' if use_wrk else 'Python aiohttp client (shares the CPU)'}; "
        f"{seconds:g} s per run; servers take turns, {rounds} round(s), median run shown; "
        f"{DISTINCT_REQUESTS} distinct signed callbacks; {os.cpu_count()} CPUs. "
        "php -S closes the connection after each answer: wrk counts those as socket errors."
    )
    if not use_wrk:
        report.note(
            "wrk is not installed (apt-get install wrk): the load came from a Python client "
            "sharing the CPU, so these figures understate every server."
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
        signed = {url: signed_requests(url) for _, url in servers}
        for _, url in servers:
            load(url, signed[url], 4, 0.5)  # warm-up
        for connections in args.connections:
            runs: dict[str, list[dict[str, float]]] = {label: [] for label, _ in servers}
            for _ in range(rounds):
                for label, url in servers:
                    cpu_before = tree_cpu_seconds(pids[label])
                    result = load(url, signed[url], connections, seconds)
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


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    return sorted(runs, key=lambda run: run["req_per_s"])[len(runs) // 2]


if __name__ == "__main__":
    main_report = main()
    main_report.print_table()
    print(f"\n(saved {main_report.save()})")
