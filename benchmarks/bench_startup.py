"""Start-up: the CLI against `python -c "import click"`, the sandbox's first answer against
`python -c "import aiohttp.web"`, and `trcli tutorial` (offline, all stages) against
`python -c "import twilio.rest"` -- each baseline measured in the same run.

The sandbox row times a whole start as a user makes it: from spawning `trcli sandbox --in-memory
--port P` to the first HTTP answer on that port (any status), polled every 5 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ProcessRun, Report, compile_package, median, run_process


def trcli_argv() -> list[str]:
    """The installed console script next to this Python, else one on PATH, else -m."""
    beside = Path(sys.executable).parent / "trcli"
    if beside.exists():
        return [str(beside)]
    script = shutil.which("trcli")
    return [script] if script else [sys.executable, "-m", "taskrouter_cli"]


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)

    commands = {
        'python -c "pass"': [sys.executable, "-c", "pass"],
        'python -c "import click" (baseline)': [sys.executable, "-c", "import click"],
        "trcli --help": [*trcli_argv(), "--help"],
        "trcli task create --help": [*trcli_argv(), "task", "create", "--help"],
    }
    report = Report("startup")
    compile_package()
    timings: dict[str, tuple[float, float]] = {}
    for _ in range(2):  # warm the file cache
        for command in commands.values():
            try:
                run_process(command)
            except RuntimeError:
                pass
    runs: dict[str, list[ProcessRun]] = {label: [] for label in commands}
    for _ in range(args.runs):  # interleaved, so that other work on the machine hits all alike
        for label, command in commands.items():
            if label in runs:
                try:
                    runs[label].append(run_process(command))
                except RuntimeError as exc:
                    report.note(f"{label}: skipped ({exc})")
                    del runs[label]
    for label, done in runs.items():
        timings[label] = (median([r.seconds for r in done]), max(r.max_rss_mb for r in done))
    baseline = timings['python -c "import click" (baseline)'][0]
    for label, (seconds, rss) in timings.items():
        report.add(
            command=label,
            median_ms=seconds * 1000,
            baseline="import click",
            ratio=seconds / baseline,
            peak_rss_mb=rss,
        )
    repeats = max(3, args.runs // 3)
    aiohttp_runs, first_runs = [], []
    for _ in range(repeats):
        aiohttp_runs.append(run_process([sys.executable, "-c", "import aiohttp.web"]).seconds)
        first_runs.append(sandbox_first_response())
    aiohttp_floor, first = median(aiohttp_runs), median(first_runs)
    report.add(
        command="trcli sandbox: first response after start",
        median_ms=first * 1000,
        baseline="import aiohttp.web",
        baseline_ms=aiohttp_floor * 1000,
        ratio=first / aiohttp_floor,
    )
    twilio_runs, tutorial = [], []
    for _ in range(repeats):
        twilio_runs.append(run_process([sys.executable, "-c", "import twilio.rest"]).seconds)
        tutorial.append(run_tutorial())
    twilio_floor = median(twilio_runs)
    report.add(
        command="trcli tutorial (offline, all stages)",
        median_ms=median([r.seconds for r in tutorial]) * 1000,
        baseline="import twilio.rest",
        baseline_ms=twilio_floor * 1000,
        ratio=median([r.seconds for r in tutorial]) / twilio_floor,
        peak_rss_mb=max(r.max_rss_mb for r in tutorial),
    )
    report.note(
        f"Median of {args.runs} runs each ({repeats} for the sandbox and the tutorial), each "
        "command alternating with its baseline. Targets: "
        "trcli --help <= 1.5x import click; sandbox first response < 0.3 s; tutorial < 3 s."
    )
    return report


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sandbox_first_response(timeout: float = 20.0) -> float:
    """Seconds from spawning ``trcli sandbox --in-memory`` to its first HTTP answer."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TRCLI_HOME": home}
        argv = [*trcli_argv(), "sandbox", "--in-memory", "--port", str(port)]
        started = time.perf_counter()
        child = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        try:
            while time.perf_counter() - started < timeout:
                if child.poll() is not None:
                    raise RuntimeError(f"trcli sandbox exited with {child.returncode}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                        conn.sendall(b"GET /v1/Workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                        if conn.recv(12).startswith(b"HTTP/1.1"):
                            return time.perf_counter() - started
                except OSError:
                    time.sleep(0.005)
            raise RuntimeError(f"trcli sandbox did not answer within {timeout:.0f} s")
        finally:
            child.terminate()
            child.wait(10)


def run_tutorial() -> ProcessRun:
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TRCLI_"))}
        return run_process(
            [*trcli_argv(), "tutorial", "--port", "0"], env={**env, "TRCLI_HOME": home}
        )


if __name__ == "__main__":
    result = main()
    result.print_table()
    result.save()
