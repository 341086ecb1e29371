"""Create (or check) the quickstart's Part 1 workspace, idempotently; remove it again.

``apply_setup(v1, spec)`` looks every resource of :data:`~taskrouter_cli.quickstart.spec.QUICKSTART`
up by friendly name (case-insensitive, as TaskRouter treats names) and

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

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from taskrouter_cli.errors import AmbiguousNameError
from taskrouter_cli.quickstart.spec import QUICKSTART, WorkspaceSpec

CREATED, EXISTS, UPDATED, DIFFERS, REMOVED, ABSENT = (
    "created",
    "exists",
    "updated",
    "differs",
    "removed",
    "absent",
)
PAGE_SIZE = 1000


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


def find_by_name(resources: Iterable[Any], name: str, label: str) -> Any | None:
    """The one resource whose friendly name is ``name`` (case-insensitive), or None."""
    wanted = name.casefold()
    matches = [r for r in resources if str(r.friendly_name or "").casefold() == wanted]
    if len(matches) > 1:
        sids = ", ".join(str(r.sid) for r in matches)
        raise AmbiguousNameError(
            f"{len(matches)} {label}s are named '{name}' ({sids})",
            "Rename or delete the extra ones, or use --workspace-name for a fresh workspace",
        )
    return matches[0] if matches else None


def find_workspace(v1: Any, name: str) -> Any | None:
    return find_by_name(v1.workspaces.stream(page_size=PAGE_SIZE), name, "Workspace")


def _parsed(text: str | None) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return None


class _Applier:
    def __init__(self, v1: Any, spec: WorkspaceSpec, on_item: Callable[[SetupItem], None]):
        self.v1 = v1
        self.spec = spec
        self.items: list[SetupItem] = []
        self.on_item = on_item
        self.activity_sids: dict[str, str] = {}
        self.queue_sids: dict[str, str] = {}

    def add(self, kind: str, name: str, sid: Any, result: str, detail: str = "") -> None:
        item = SetupItem(kind, name, None if sid is None else str(sid), result, detail)
        self.items.append(item)
        self.on_item(item)

    def run(self) -> SetupReport:
        workspace = self.workspace()
        ws = self.v1.workspaces(workspace.sid)
        self.activities(ws)
        self.workspace_activities(ws, workspace)
        self.workers(ws)
        self.queues(ws)
        self.workflow(ws)
        return SetupReport(str(workspace.sid), tuple(self.items))

    def workspace(self) -> Any:
        spec = self.spec
        existing = find_workspace(self.v1, spec.name)
        if existing is None:
            created = self.v1.workspaces.create(
                friendly_name=spec.name, multi_task_enabled=spec.multi_task_enabled
            )
            mode = "multi-tasking" if spec.multi_task_enabled else "single-tasking"
            self.add("Workspace", spec.name, created.sid, CREATED, mode)
            return created
        if bool(existing.multi_task_enabled) != spec.multi_task_enabled:
            if spec.multi_task_enabled:
                self.v1.workspaces(existing.sid).update(multi_task_enabled=True)
                self.add("Workspace", spec.name, existing.sid, UPDATED, "multi-tasking enabled")
            else:
                self.add(
                    "Workspace",
                    spec.name,
                    existing.sid,
                    DIFFERS,
                    "multi-tasking is on and cannot be switched off; workers will not move "
                    "to Reserved/Busy (run 'trcli setup --teardown' and set up again)",
                )
        else:
            self.add("Workspace", spec.name, existing.sid, EXISTS)
        return existing

    def activities(self, ws: Any) -> None:
        existing = list(ws.activities.stream(page_size=PAGE_SIZE))
        for activity in self.spec.activities:
            found = find_by_name(existing, activity.name, "Activity")
            shown = "available" if activity.available else "unavailable"
            if found is None:
                found = ws.activities.create(
                    friendly_name=activity.name, available=activity.available
                )
                self.add("Activity", activity.name, found.sid, CREATED, shown)
            elif bool(found.available) != activity.available:
                self.add(
                    "Activity",
                    activity.name,
                    found.sid,
                    DIFFERS,
                    f"should be {shown}; availability cannot be changed after creation",
                )
            else:
                self.add("Activity", activity.name, found.sid, EXISTS, shown)
            self.activity_sids[activity.name] = str(found.sid)

    def workspace_activities(self, ws: Any, workspace: Any) -> None:
        wanted = {
            "default_activity_sid": self.activity_sids[self.spec.default_activity],
            "timeout_activity_sid": self.activity_sids[self.spec.timeout_activity],
        }
        changes = {key: sid for key, sid in wanted.items() if getattr(workspace, key, None) != sid}
        if changes:
            ws.update(**changes)
            detail = ", ".join(
                f"{key.removesuffix('_sid').replace('_', ' ')} → "
                f"{self.spec.default_activity if 'default' in key else self.spec.timeout_activity}"
                for key in changes
            )
            self.add("Workspace", self.spec.name, workspace.sid, UPDATED, detail)

    def workers(self, ws: Any) -> None:
        existing = list(ws.workers.stream(page_size=PAGE_SIZE))
        for worker in self.spec.workers:
            found = find_by_name(existing, worker.name, "Worker")
            if found is None:
                created = ws.workers.create(
                    friendly_name=worker.name,
                    attributes=worker.attributes_json,
                    activity_sid=self.activity_sids[worker.activity],
                )
                self.add("Worker", worker.name, created.sid, CREATED, worker.attributes_json)
            elif _parsed(found.attributes) != dict(worker.attributes):
                ws.workers(found.sid).update(attributes=worker.attributes_json)
                self.add(
                    "Worker",
                    worker.name,
                    found.sid,
                    UPDATED,
                    f"attributes {found.attributes} → {worker.attributes_json}",
                )
            else:
                self.add("Worker", worker.name, found.sid, EXISTS, worker.attributes_json)

    def queues(self, ws: Any) -> None:
        existing = list(ws.task_queues.stream(page_size=PAGE_SIZE))
        for queue in self.spec.queues:
            wanted = {
                "target_workers": queue.target_workers,
                "reservation_activity_sid": self.activity_sids[queue.reservation_activity],
                "assignment_activity_sid": self.activity_sids[queue.assignment_activity],
            }
            found = find_by_name(existing, queue.name, "TaskQueue")
            if found is None:
                created = ws.task_queues.create(friendly_name=queue.name, **wanted)
                self.add("TaskQueue", queue.name, created.sid, CREATED, queue.target_workers)
                self.queue_sids[queue.name] = str(created.sid)
                continue
            self.queue_sids[queue.name] = str(found.sid)
            changes = {k: v for k, v in wanted.items() if getattr(found, k, None) != v}
            if changes:
                ws.task_queues(found.sid).update(**changes)
                fields = ", ".join(key.removesuffix("_sid").replace("_", " ") for key in changes)
                self.add("TaskQueue", queue.name, found.sid, UPDATED, f"{fields} set")
            else:
                self.add("TaskQueue", queue.name, found.sid, EXISTS, queue.target_workers)

    def workflow(self, ws: Any) -> None:
        spec = self.spec.workflow
        configuration = spec.configuration(self.queue_sids)
        found = find_by_name(ws.workflows.stream(page_size=PAGE_SIZE), spec.name, "Workflow")
        if found is None:
            created = ws.workflows.create(
                friendly_name=spec.name,
                configuration=json.dumps(configuration),
                task_reservation_timeout=spec.task_reservation_timeout,
            )
            timeout = spec.task_reservation_timeout
            detail = f"{len(spec.filters)} filters, reservation timeout {timeout} s"
            self.add("Workflow", spec.name, created.sid, CREATED, detail)
            return
        changes: dict[str, Any] = {}
        if _parsed(found.configuration) != configuration:
            changes["configuration"] = json.dumps(configuration)
        if found.task_reservation_timeout != spec.task_reservation_timeout:
            changes["task_reservation_timeout"] = spec.task_reservation_timeout
        if changes:
            ws.workflows(found.sid).update(**changes)
            fields = " and ".join(key.replace("_", " ") for key in changes)
            self.add("Workflow", spec.name, found.sid, UPDATED, f"{fields} set")
        else:
            callback = found.assignment_callback_url or "no assignment callback yet"
            self.add("Workflow", spec.name, found.sid, EXISTS, callback)


def apply_setup(
    v1: Any,
    spec: WorkspaceSpec = QUICKSTART,
    on_item: Callable[[SetupItem], None] | None = None,
) -> SetupReport:
    """Make the workspace match ``spec`` (see the module docstring); ``on_item`` sees progress."""
    return _Applier(v1, spec, on_item or (lambda _item: None)).run()


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
