"""Start-up time of the CLI against `python -c "import click"`, measured in the same run."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from benchmarks.common import Report, median, run_process


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
    timings: dict[str, tuple[float, float]] = {}
    for _ in range(2):  # warm the file cache
        for command in commands.values():
            try:
                run_process(command)
            except RuntimeError:
                pass
    for label, command in commands.items():
        runs = []
        try:
            runs = [run_process(command) for _ in range(args.runs)]
        except RuntimeError as exc:
            report.note(f"{label}: skipped ({exc})")
            continue
        timings[label] = (median([r.seconds for r in runs]), max(r.max_rss_mb for r in runs))
    baseline = timings['python -c "import click" (baseline)'][0]
    for label, (seconds, rss) in timings.items():
        report.add(
            command=label,
            median_ms=seconds * 1000,
            ratio_to_click=seconds / baseline,
            peak_rss_mb=rss,
        )
    report.note(f"Median of {args.runs} runs each. Target: trcli --help under 2x the baseline.")
    return report


if __name__ == "__main__":
    result = main()
    result.print_table()
    result.save()
