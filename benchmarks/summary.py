"""The issue's figures, each beside the baseline measured in the same run, and the machine's load.

Built from the reports of ``bench_startup``, ``bench_callback_server`` and ``bench_sandbox`` (a
report that did not run leaves its rows out). Printed by ``python -m benchmarks.run`` after the
detailed tables and written to ``benchmarks/results/summary.md`` for docs/benchmarks.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.common import RESULTS_DIR, Report


@dataclass
class Figure:
    name: str
    measured: str
    baseline: str
    ratio: str
    goal: str


Row = dict[str, Any]


def _find(report: Report | None, **match: Any) -> Row | None:
    if report is None:
        return None
    for row in report.rows:
        if all(str(row.get(key, "")).startswith(str(value)) for key, value in match.items()):
            return row
    return None


def _number(value: Any, digits: int = 0) -> str:
    return f"{value:,.{digits}f}" if isinstance(value, (int, float)) else "-"


def _workers_rows(report: Report | None) -> list[tuple[str, Row]]:
    """("--workers N", row) for every ``trcli serve --workers N`` measured at 16 connections."""
    found = []
    for row in report.rows if report is not None else []:
        name = str(row.get("server", ""))
        if name.startswith("trcli serve --workers ") and row.get("connections") == 16:
            found.append((" ".join(name.split()[2:4]), row))
    return found


def serve_figures(report: Report | None) -> list[Figure]:
    """One process and each ``--workers N``, each beside the same run's PHP figure."""
    php = _find(report, server="php -S", connections=16)
    figures = []
    one = _find(report, server="trcli serve (signatures", connections=16)
    rows = [("1 process", one)] if one is not None else []
    for label, row in [*rows, *_workers_rows(report)]:
        cpu = row.get("server_cpu_us_per_request")
        figures.append(
            Figure(
                f"`trcli serve` ({label}), signed callbacks/s at 16 connections, validation on",
                f"{_number(row['req_per_s'])} req/s, p99 {_number(row['p99_ms'], 1)} ms; "
                f"{_number(cpu)} µs CPU/request",
                f"`php -S` + assignment.php: {_number(php['req_per_s'])} req/s, "
                f"p99 {_number(php['p99_ms'], 1)} ms; "
                f"{_number(php.get('server_cpu_us_per_request'))} µs CPU/request"
                if php
                else "php not installed",
                f"**{row['req_per_s'] / php['req_per_s']:.2f}×** (CPU/request "
                f"{cpu / php['server_cpu_us_per_request']:.2f}×)"
                if php and cpu
                else "-",
                "≥ 1.2× PHP, p99 < 5 ms",
            )
        )
    return figures


def _cpu_split(row: dict[str, Any]) -> str:
    """Where a lifecycle's CPU went: the sandbox's loop thread and the time it waited for a
    core, the rest of the sandbox (its store writer process, for a file), the measuring client;
    and how busy the machine's cores were. The loop thread's CPU and wait bound the rate
    (docs/benchmarks.md, sixth and seventh rounds)."""
    loop = row.get("loop_cpu_ms_per_lifecycle")
    if loop is None:
        return ""
    writer = row["sandbox_cpu_ms_per_lifecycle"] - loop
    driver = row.get("driver_cpu_ms_per_lifecycle")
    wait = row.get("loop_wait_ms_per_lifecycle")
    waited = f" + {_number(wait, 2)} ms waiting for a core" if wait else ""
    text = f" (loop thread {_number(loop, 2)} ms{waited}, store writer {_number(writer, 2)} ms)"
    if driver is not None:
        text += f"; the measuring client {_number(driver, 2)} ms"
    busy = row.get("cores_busy_pct")
    if busy is not None:
        text += f"; the cores {_number(busy)}% busy"
    return text


def sandbox_figures(report: Report | None) -> list[Figure]:
    figures = []
    filtered = _find(report, measure="lifecycles", db="sqlite file", events="filtered", workers=50)
    every = _find(report, measure="lifecycles", db="sqlite file", events="all", workers=50)
    memory = _find(report, measure="lifecycles", db=":memory:", events="filtered", workers=50)
    if filtered:
        figures.append(
            Figure(
                "sandbox lifecycles/s, 50 workers, SQLite file, events filtered to the one used",
                f"{_number(filtered['per_second'])}/s, p99 create→accepted "
                f"{_number(filtered['p99_ms'])} ms, {filtered['errors']} errors; "
                f"{_number(filtered['sandbox_cpu_ms_per_lifecycle'], 2)} ms sandbox CPU each"
                f"{_cpu_split(filtered)}",
                f"--in-memory: {_number(memory['per_second'])}/s" if memory else "-",
                "-",
                "≥ 800/s, p99 < 50 ms, 0 errors",
            )
        )
    if filtered and every:
        cpu_every = every["sandbox_cpu_ms_per_lifecycle"]
        cpu_filtered = filtered["sandbox_cpu_ms_per_lifecycle"]
        figures.append(
            Figure(
                "the same with every event delivered to EventCallbackUrl",
                f"{_number(every['per_second'])}/s, {_number(every['events_per_lifecycle'], 1)} "
                f"events each; {_number(every['sandbox_cpu_ms_per_lifecycle'], 2)} ms CPU each",
                f"filtered: {_number(filtered['per_second'])}/s, "
                f"{_number(filtered['sandbox_cpu_ms_per_lifecycle'], 2)} ms CPU each",
                f"{every['per_second'] / filtered['per_second']:.2f}× the rate, "
                f"{cpu_every / cpu_filtered:.2f}× the CPU",
                "measured and reported",
            )
        )
    for db, goal in (("sqlite file", "< 150 MB"), (":memory:", "< 400 MB")):
        empty = _find(report, measure="memory", db=db, tasks=0)
        full = _find(report, measure="memory (extrapolated)", db=db) or _find(
            report, measure="memory", db=db, tasks=100000
        )
        if empty and full:
            figures.append(
                Figure(
                    f"sandbox RSS with 100,000 pending tasks ({db})",
                    f"{_number(full['rss_mb'])} MB"
                    + (" (extrapolated)" if full["measure"].endswith("(extrapolated)") else ""),
                    f"empty sandbox: {_number(empty['rss_mb'])} MB",
                    f"+{(full['rss_mb'] - empty['rss_mb']) * 1e6 / 100_000 / 1024:,.1f} KiB a task",
                    goal,
                )
            )
        if db == "sqlite file" and full and full.get("db_mb") not in (None, ""):
            figures.append(
                Figure(
                    "database file with 100,000 pending tasks",
                    f"{_number(full['db_mb'])} MB",
                    "-",
                    f"{full['db_mb'] * 1e6 / 100_000:,.0f} bytes a task",
                    "< 300 MB",
                )
            )
    return figures


def startup_figures(report: Report | None) -> list[Figure]:
    figures = []
    for command, name, goal in (
        ("trcli --help", "`trcli --help`", "≤ 1.5×"),
        ("trcli sandbox: first response", "sandbox first response after start", "< 0.3 s"),
        ("trcli tutorial", "`trcli tutorial`, all stages, whole process", "< 3 s"),
    ):
        row = _find(report, command=command)
        if row is None:
            continue
        baseline_ms = row.get("baseline_ms")
        if baseline_ms in (None, ""):
            click = _find(report, command='python -c "import click"')
            baseline_ms = click["median_ms"] if click else None
        figures.append(
            Figure(
                name,
                f"{_number(row['median_ms'])} ms",
                f'`python -c "{row["baseline"]}"`: {_number(baseline_ms)} ms',
                f"{row['ratio']:.2f}×",
                goal,
            )
        )
    return figures


def summary(
    reports: dict[str, Report], load_before: tuple[float, ...], load_after: tuple[float, ...]
) -> str:
    figures = [
        *serve_figures(reports.get("callback_server")),
        *sandbox_figures(reports.get("sandbox")),
        *startup_figures(reports.get("startup")),
    ]
    lines = [
        "## Issue 13 figures (this run)",
        "",
        (
            f"Load average (1/5/15 min): {_loads(load_before)} at the start, "
            f"{_loads(load_after)} at the end, on a machine with {_cpus()} CPUs shared with "
            "other work: compare ratios, not absolute figures."
        ),
        "",
        "| figure | measured | baseline, same run | ratio | goal |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {f.name} | {f.measured} | {f.baseline} | {f.ratio} | {f.goal} |" for f in figures]
    return "\n".join(lines) + "\n"


def _loads(values: tuple[float, ...]) -> str:
    return " / ".join(f"{value:.2f}" for value in values)


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def write(text: str) -> str:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / "summary.md"
    path.write_text(text)
    return path.name
