"""Create (or check) the quickstart's Part 1 workspace, idempotently; remove it again.

``apply_setup(v1, spec)`` is ``trcli workspace apply`` of the quickstart's built-in file
(:func:`document_from_spec` of :data:`~taskrouter_cli.quickstart_spec.QUICKSTART`): one code
path. It looks every resource up by friendly name (case-insensitive, as TaskRouter treats
names) and

* creates what is missing (``created``),
* brings what differs back to the spec where the API allows it (``updated``: worker attributes,
  queue expression and activities, workflow configuration and reservation timeout, the
  workspace's default and timeout activity),
* reports what it cannot change (``differs``: an activity's availability is immutable; a
  multi-tasking workspace cannot go back to single-tasking) without touching it,
* and otherwise reports ``exists``.

A second run therefore changes nothing and reports ``exists`` for everything. Workers' current
activities and the workflow's assignment callback URL are state, not set-up: an existing worker
keeps its activity and an existing workflow keeps its callback URL.

``teardown(v1, name)`` deletes the workspace (TaskRouter deletes everything in it).
``v1`` is ``client.taskrouter.v1`` of the twilio SDK (live Twilio or the sandbox).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from taskrouter_cli.operations.workspace_doc import (
    ActivityDoc,
    QueueDoc,
    WorkerDoc,
    WorkflowDoc,
    WorkspaceDoc,
)
from taskrouter_cli.operations.workspace_sync import Change, apply_plan, find_workspace, plan_apply
from taskrouter_cli.quickstart_spec import QUICKSTART, WorkspaceSpec

CREATED, EXISTS, UPDATED, DIFFERS, REMOVED, ABSENT = (
    "created",
    "exists",
    "updated",
    "differs",
    "removed",
    "absent",
)


@dataclass(frozen=True)
class SetupItem:
    """One resource and what set-up (or teardown) did with it."""

    kind: str
    name: str
    sid: str | None
    result: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SetupReport:
    workspace_sid: str | None
    items: tuple[SetupItem, ...]

    @property
    def changed(self) -> bool:
        return any(item.result in (CREATED, UPDATED, REMOVED) for item in self.items)

    def count(self, result: str) -> int:
        return sum(1 for item in self.items if item.result == result)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace_sid": self.workspace_sid,
            "changed": self.changed,
            "items": [item.to_dict() for item in self.items],
        }


def document_from_spec(spec: WorkspaceSpec) -> WorkspaceDoc:
    """The quickstart's built-in workspace file: what ``trcli setup`` applies.

    Workers' activities are where new workers start; the workflow's callback URLs are not in it,
    so an existing workflow keeps the one 'workflow point-callback' set."""
    return WorkspaceDoc(
        name=spec.name,
        multi_task_enabled=spec.multi_task_enabled,
        default_activity=spec.default_activity,
        timeout_activity=spec.timeout_activity,
        activities=tuple(ActivityDoc(a.name, a.available) for a in spec.activities),
        queues=tuple(
            QueueDoc(q.name, q.target_workers, q.reservation_activity, q.assignment_activity)
            for q in spec.queues
        ),
        workers=tuple(WorkerDoc(w.name, dict(w.attributes), w.activity) for w in spec.workers),
        workflows=(
            WorkflowDoc(
                name=spec.workflow.name,
                configuration=spec.workflow.configuration({q.name: q.name for q in spec.queues}),
                task_reservation_timeout=spec.workflow.task_reservation_timeout,
            ),
        ),
        source="the quickstart's built-in workspace",
    )


RESULTS = {
    "create": CREATED,
    "update": UPDATED,
    "unchanged": EXISTS,
    "differs": DIFFERS,
    "delete": REMOVED,
}


def _item(change: Change) -> SetupItem:
    detail = change.note
    if change.fields:
        detail = ", ".join(f.name.replace("_", " ") for f in change.fields) + " set"
    return SetupItem(change.kind, change.name, change.sid, RESULTS[change.action], detail)


def apply_setup(
    v1: Any,
    spec: WorkspaceSpec = QUICKSTART,
    on_item: Callable[[SetupItem], None] | None = None,
) -> SetupReport:
    """Make the workspace match ``spec``: ``trcli workspace apply`` of the built-in file (see
    :mod:`taskrouter_cli.operations.workspace_sync`); ``on_item`` sees progress."""
    report = on_item or (lambda _item: None)
    plan = plan_apply(v1, document_from_spec(spec))
    changes = apply_plan(v1, plan, lambda change: report(_item(change)))
    return SetupReport(plan.workspace_sid, tuple(_item(change) for change in changes))


def teardown(v1: Any, name: str = QUICKSTART.name) -> SetupReport:
    """Delete the workspace named ``name`` and everything in it; ``absent`` if there is none."""
    existing = find_workspace(v1, name)
    if existing is None:
        item = SetupItem("Workspace", name, None, ABSENT, "nothing to remove")
        return SetupReport(None, (item,))
    v1.workspaces(existing.sid).delete()
    item = SetupItem(
        "Workspace", name, str(existing.sid), REMOVED, "with its workers, queues, tasks"
    )
    return SetupReport(str(existing.sid), (item,))
