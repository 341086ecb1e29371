"""Run every benchmark: `python -m benchmarks.run [--quick] [--only NAME ...]`.

Each benchmark prints a Markdown table and writes JSON to benchmarks/results/<name>.json; then
the issue's figures are printed side by side with their baselines from the same run and the
machine's load (benchmarks/summary.py), and written to benchmarks/results/summary.md.
Comparisons (ratios) are always against a baseline measured in the same run. Needs `wrk` and
`php` (apt-get install wrk php-cli) for the callback-server comparison; says so when missing.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from benchmarks import summary
from benchmarks.common import compile_package

BENCHMARKS = {
    "startup": "benchmarks.bench_startup",
    "callback_server": "benchmarks.bench_callback_server",
    "sandbox": "benchmarks.bench_sandbox",
    "workflow_loop": "benchmarks.bench_workflow_loop",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke check)")
    args = parser.parse_args()
    names = args.only or list(BENCHMARKS)
    compile_package()  # what pip install does: no benchmark measures Python's compiler
    load_before = os.getloadavg()
    print(f"Load average at the start: {load_before[0]:.2f} (1 min) on {os.cpu_count()} CPUs")
    reports = {}
    for name in names:
        try:
            module = importlib.import_module(BENCHMARKS[name])
        except ModuleNotFoundError as exc:
            print(f"\n## {name}\n\nnot available: {exc}")
            continue
        report = module.main(
            ["--quick"]
            if args.quick and name != "startup"
            else (["--runs", "5"] if args.quick else [])
        )
        report.print_table()
        path = report.save()
        print(f"\n(saved {path.name})")
        reports[report.name] = report
    text = summary.summary(reports, load_before, os.getloadavg())
    print("\n" + text)
    print(f"(saved {summary.write(text)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
