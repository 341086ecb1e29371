"""Run every benchmark: `python -m benchmarks.run [--quick] [--only NAME ...]`.

Each benchmark prints a Markdown table and writes JSON to benchmarks/results/<name>.json.
Comparisons (ratios) are always against a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = {
    "startup": "benchmarks.bench_startup",
    "callback_server": "benchmarks.bench_callback_server",
    "sandbox": "benchmarks.bench_sandbox",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke check)")
    args = parser.parse_args()
    names = args.only or list(BENCHMARKS)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
