"""The sandbox's fidelity table: every spec operation marked supported / partial / not supported.

Generated from the spec (so a new spec operation shows up as "not supported" until routed) plus
the notes below for operations that are served with known differences from TaskRouter.
``python -m scripts.sandbox_fidelity --write docs/sandbox-fidelity.md`` (or ``--check``) replaces
or checks the section between ``<!-- fidelity:start -->`` and ``<!-- fidelity:end -->``.
"""

from __future__ import annotations

import sys

from scripts.doc_sections import run
from taskrouter_cli.sandbox.api.spec import STATISTICS_TARGETS, Operation, load_spec

STATISTICS_NOTE = (
    "computed from current state and stored Events; approximated: waits in whole seconds "
    "from Task creation, activity durations count stays that ended in the window, "
    "TaskChannel does not narrow Worker counts, no 30-day history limit"
)

PARTIAL = {
    "UpdateTaskReservation": (
        "dequeue/call/redirect/conference/supervise instructions are validated and recorded "
        "(what would have happened); no telephony"
    ),
    "UpdateWorkerReservation": (
        "dequeue/call/redirect/conference instructions are validated and recorded; no telephony"
    ),
    "ListTask": "HasAddons filters on an always-empty addons field",
    "CreateTask": "no add-ons",
    **dict.fromkeys(
        (op for op in STATISTICS_TARGETS if op != "CreateTaskQueueBulkRealTimeStatistics"),
        STATISTICS_NOTE,
    ),
    "CreateTaskQueueBulkRealTimeStatistics": (
        'JSON body {"TaskQueueSids": [...]} (key unconfirmed; task_queue_sids and form '
        "TaskQueueSids also accepted); " + STATISTICS_NOTE
    ),
}
"""Operation id → what differs from TaskRouter."""

COMMON_NOTE = (
    "All list operations: PageToken paging (absolute Page without PageToken answers 400); "
    "unknown parameters answer 400 (TaskRouter ignores them)."
)


def status_of(operation: Operation) -> tuple[str, str]:
    if not operation.implemented:
        return "not supported", "answers 501 with a message saying so"
    if operation.operation_id in PARTIAL:
        return "partial", PARTIAL[operation.operation_id]
    return "supported", ""


def markdown() -> str:
    lines = [
        "| Operation | Method | Path | Sandbox | Notes |",
        "|---|---|---|---|---|",
    ]
    for op in sorted(load_spec().operations(), key=lambda o: (o.path, o.method)):
        status, note = status_of(op)
        path = op.path.removeprefix("/v1")
        lines.append(f"| {op.operation_id} | {op.method} | `{path}` | {status} | {note} |")
    lines.append("")
    lines.append(COMMON_NOTE)
    return "\n".join(lines)


START = "<!-- fidelity:start -->"
END = "<!-- fidelity:end -->"


def main(argv: list[str] | None = None) -> int:
    return run(
        sys.argv[1:] if argv is None else argv,
        module="scripts.sandbox_fidelity",
        what="sandbox fidelity table",
        render=markdown,
        start_marker=START,
        end_marker=END,
    )


if __name__ == "__main__":
    sys.exit(main())
