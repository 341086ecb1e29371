"""The sandbox's fidelity table: every spec operation marked supported / partial / not supported.

Generated from the spec (so a new spec operation shows up as "not supported" until routed) plus
the notes below for operations that are served with known differences from TaskRouter. Print it
with ``python -m taskrouter_cli.sandbox.api.fidelity`` (Markdown, for the README).
"""

from __future__ import annotations

from taskrouter_cli.sandbox.api.spec import Operation, load_spec

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


if __name__ == "__main__":
    print(markdown())
