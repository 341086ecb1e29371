"""The workflow loop against what it replaces: a dry run vs creating a task and watching it.

    python -m benchmarks.run --only workflow_loop [--quick]

A seeded sandbox runs in this process on a loopback port (system clock); every command is the
real ``trcli`` in its own process, as a user runs it, so start-up is included.

* Baseline (measured in the same run): what learning where a task goes cost before -- ``trcli
  task create --attributes ... --json``, then ``trcli sandbox settle`` (routing runs after the
  answer), then ``trcli explain TASK --json`` to see why, then ``trcli task cancel`` to clean up.
* ``trcli workflow test`` (the dry run, no task) and ``trcli workflow lint``.
* ``trcli workspace export``, ``workspace apply`` of that file to a new workspace, and a no-op
  re-apply (one apply each run: the workspace name changes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_startup import trcli_argv
from benchmarks.common import Report, median, run_process

WORKFLOW = "Incoming Customer Care Requests"
ATTRIBUTES = '{"selected_language": "es"}'


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="3 runs each")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else args.runs

    from taskrouter_cli.sandbox.clock import SystemClock
    from taskrouter_cli.sandbox.server import SandboxServer
    from taskrouter_cli.sandbox.service import SandboxService
    from taskrouter_cli.sandbox.store import SqliteStore

    service = SandboxService(SqliteStore(":memory:"), SystemClock())
    service.seed_quickstart()
    server = SandboxServer(service).start()
    home = tempfile.mkdtemp(prefix="bench-wfloop-")
    env = {
        **os.environ,
        "TRCLI_HOME": home,
        "TWILIO_ACCOUNT_SID": service.account_sid,
        "TWILIO_AUTH_TOKEN": service.auth_token,
        "TRCLI_API_URL": server.base_url,
        "TRCLI_WORKSPACE": "TaskRouter Quickstart",
    }
    trcli = trcli_argv()
    report = Report("workflow_loop")
    try:
        run_process([*trcli, "worker", "set-activity", "Alice", "Idle"], env)
        timings: dict[str, float] = {}

        def timed(label: str, *argvs: list[str]) -> None:
            samples = []
            for _ in range(runs):
                samples.append(sum(run_process([*trcli, *a], env).seconds for a in argvs))
            timings[label] = median(samples)

        def create_watch_cancel() -> None:
            created = subprocess.run(
                [*trcli, "task", "create", "--attributes", ATTRIBUTES, "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            sid = json.loads(created.stdout)["sid"]
            rest = [
                ["sandbox", "settle", "--url", server.base_url],
                ["explain", sid, "--json"],
                ["task", "cancel", sid, "--reason", "benchmark"],
            ]
            for arguments in rest:
                run_process([*trcli, *arguments], env)

        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            create_watch_cancel()
            samples.append(time.perf_counter() - start)
        timings["create + settle + explain + cancel (baseline)"] = median(samples)
        timed("workflow test", ["workflow", "test", WORKFLOW, "--attributes", ATTRIBUTES])
        timed("workflow lint", ["workflow", "lint", WORKFLOW])
        exported = str(Path(home) / "ws.json")
        timed("workspace export", ["workspace", "export", "-o", exported])
        samples = [
            run_process(
                [*trcli, "workspace", "apply", exported, "--workspace", f"Copy {n}"], env
            ).seconds
            for n in range(runs)
        ]
        timings["workspace apply (new workspace)"] = median(samples)
        timed("workspace apply (no change)", ["workspace", "apply", exported])
    finally:
        server.stop()
    baseline = timings["create + settle + explain + cancel (baseline)"]
    for label, seconds in timings.items():
        report.add(command=label, median_ms=seconds * 1000, ratio_to_baseline=seconds / baseline)
    report.note(
        f"Median of {runs} runs; each command is a new trcli process against an in-process "
        "sandbox on loopback (system clock). The baseline is four processes."
    )
    return report


if __name__ == "__main__":
    main(sys.argv[1:]).print_table()
