"""Small helpers shared by the benchmarks: timing child processes, percentiles, reporting."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"
REPO = Path(__file__).resolve().parent.parent


@dataclass
class ProcessRun:
    seconds: float
    max_rss_mb: float


def compile_package() -> None:
    """Byte-compile ``taskrouter_cli`` as ``pip install`` does for an installed copy.

    An editable checkout run with ``PYTHONDONTWRITEBYTECODE`` set (as on some CI machines)
    never caches its bytecode, so every process would compile ~120 modules from source
    (~100 ms here) while the baselines (click, aiohttp) load compiled from site-packages: the
    start-up figures would measure the compiler, not trcli. Writing the caches once removes
    that (``compileall`` writes them whatever that variable says).
    """
    import compileall

    compileall.compile_dir(str(REPO / "taskrouter_cli"), quiet=1)


def run_process(argv: Sequence[str], env: dict[str, str] | None = None) -> ProcessRun:
    """Run a command to completion; wall time and the child's peak resident memory."""
    start = time.perf_counter()
    child = subprocess.Popen(
        list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {child.returncode}")
    # ru_maxrss is KiB on Linux.
    return ProcessRun(seconds=elapsed, max_rss_mb=usage.ru_maxrss / 1024)


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Report:
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, **row: Any) -> None:
        self.rows.append(row)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def print_table(self) -> None:
        print(f"\n## {self.name}")
        if self.rows:
            columns = list(self.rows[0])
            for row in self.rows[1:]:
                columns += [c for c in row if c not in columns]
            print("| " + " | ".join(columns) + " |")
            print("|" + "---|" * len(columns))
            for row in self.rows:
                print("| " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |")
        for text in self.notes:
            print(f"\n{text}")

    def save(self) -> Path:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{self.name}.json"
        path.write_text(json.dumps({**asdict(self), "machine": machine()}, indent=2))
        return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.0f}"
    return str(value)


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
    }


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live children (``serve --workers``, the
    sandbox's store writer)."""
    return sum(stat_cpu_seconds(Path(f"/proc/{each}/stat")) for each in process_tree(pid))


def stat_cpu_seconds(stat: Path) -> float:
    """User + system CPU seconds from a /proc ``stat`` file (a process's or a thread's); 0 if
    it is gone."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of ``pid`` and its live children, summed: the sandbox and its
    store writer process. Pages they share (the interpreter's libraries) count twice, so this
    is an upper bound."""
    total = 0.0
    for each in process_tree(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants: the children of every thread (a server thread may
    start them)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            children = [
                int(child)
                for thread in Path(f"/proc/{current}/task").iterdir()
                for child in (thread / "children").read_text().split()
            ]
        except OSError:
            continue
        found.append(current)
        pending.extend(children)
    return found
