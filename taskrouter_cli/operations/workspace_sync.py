"""Export a workspace to a :class:`WorkspaceDoc`, and make a workspace match one (``apply``).

``v1`` is ``client.taskrouter.v1`` of the twilio SDK (live Twilio or the sandbox)::

    doc = export_workspace(v1, workspace_sid)
    plan = plan_apply(v1, doc, prune=False)        # reads, checks every reference, writes nothing
    plan.changes                                   # Change(kind, name, action, fields, ...)
    report = apply_plan(v1, plan)                  # creates/updates/deletes in dependency order

Order: the workspace, activities, the workspace's activity settings, task channels, queues,
workers, workflows; deletions last, in reverse (workflows, workers, queues, channels,
activities). A workspace this apply creates gets exactly the file's activities: those TaskRouter
adds to every new workspace and the file does not name are removed (nothing of the user's is
lost); elsewhere only ``--prune`` deletes. Everything the file refers to (activities of queues,
workers and the workspace; queues of workflow targets) must exist in the file or the workspace,
and every expression must parse, before anything is written.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from taskrouter_cli.errors import AmbiguousNameError, UsageError
from taskrouter_cli.operations.inputs import stored_object
from taskrouter_cli.operations.workspace_doc import (
    ActivityDoc,
    QueueDoc,
    TaskChannelDoc,
    WorkerDoc,
    WorkflowDoc,
    WorkspaceDoc,
)

PAGE_SIZE = 1000
CREATE, UPDATE, DELETE, UNCHANGED, DIFFERS = "create", "update", "delete", "unchanged", "differs"
PLACEHOLDER_QUEUE_SID = "WQ" + "0" * 32
NEW_WORKSPACE_CHANNELS = frozenset({"default", "voice"})
"""TaskChannels known to exist in every new workspace (the API reference's example is
``default``; ``voice`` is built in). Which others TaskRouter adds is not documented, so a file
for a new workspace must list any other channel its workers use."""

Desired = WorkspaceDoc | ActivityDoc | TaskChannelDoc | QueueDoc | WorkerDoc | WorkflowDoc


@dataclass(frozen=True)
class FieldChange:
    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Change:
    kind: str
    """Workspace, Activity, TaskChannel, TaskQueue, Worker or Workflow."""
    name: str
    action: str
    fields: tuple[FieldChange, ...] = ()
    sid: str | None = None
    note: str = ""
    desired: Desired | None = field(default=None, compare=False)
    pruned: bool = False
    """A deletion asked for by --prune (rather than a default of a workspace created now)."""


@dataclass
class Plan:
    workspace_name: str
    workspace_sid: str | None
    changes: list[Change]
    doc: WorkspaceDoc

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action in (CREATE, UPDATE, DELETE)]

    @property
    def pruning(self) -> list[Change]:
        return [c for c in self.changes if c.action == DELETE and c.pruned]


# --------------------------------------------------------------------------------------------
# Reading the workspace


def _by_name(items: list[Any], label: str, key: str = "friendly_name") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items:
        name = str(getattr(item, key) or "")
        if name.casefold() in found:
            raise AmbiguousNameError(
                f"Two {label}s are named '{name}' ({found[name.casefold()].sid}, {item.sid})",
                "Rename or delete one of them: a workspace file refers to things by name",
            )
        found[name.casefold()] = item
    return found


class Snapshot:
    """Everything of one workspace, by case-folded friendly name (unique name for channels)."""

    def __init__(self, v1: Any, workspace: Any | None) -> None:
        self.v1 = v1
        self.workspace = workspace
        self._capacities: dict[str, dict[str, tuple[str, int]]] = {}
        self.activities: dict[str, Any] = {}
        self.channels: dict[str, Any] = {}
        self.queues: dict[str, Any] = {}
        self.workers: dict[str, Any] = {}
        self.workflows: dict[str, Any] = {}
        if workspace is None:
            return
        ws = v1.workspaces(workspace.sid)
        self.activities = _by_name(list(ws.activities.stream(page_size=PAGE_SIZE)), "Activity")
        self.channels = _by_name(
            list(ws.task_channels.stream(page_size=PAGE_SIZE)), "TaskChannel", "unique_name"
        )
        self.queues = _by_name(list(ws.task_queues.stream(page_size=PAGE_SIZE)), "TaskQueue")
        self.workers = _by_name(list(ws.workers.stream(page_size=PAGE_SIZE)), "Worker")
        self.workflows = _by_name(list(ws.workflows.stream(page_size=PAGE_SIZE)), "Workflow")

    def capacities(self, worker_sid: str) -> dict[str, tuple[str, int]]:
        """Task channel unique name → (WorkerChannel SID, configured capacity) of a worker."""
        if worker_sid not in self._capacities:
            assert self.workspace is not None, "a new workspace has no workers yet"
            channels = self.v1.workspaces(self.workspace.sid).workers(worker_sid).worker_channels
            self._capacities[worker_sid] = {
                str(c.task_channel_unique_name): (str(c.sid), int(c.configured_capacity or 0))
                for c in channels.stream(page_size=PAGE_SIZE)
            }
        return self._capacities[worker_sid]

    def extra_capacity(self, worker_sid: str) -> dict[str, int]:
        """The worker's channel capacities other than 1 (what a workspace file records)."""
        return {
            name: capacity
            for name, (_, capacity) in sorted(self.capacities(worker_sid).items())
            if capacity != 1
        }

    def queue_names(self) -> dict[str, str]:
        return {str(q.sid): str(q.friendly_name) for q in self.queues.values()}


def find_workspace(v1: Any, name: str) -> Any | None:
    """The workspace named ``name`` (case-insensitive), or None."""
    workspaces = _by_name(list(v1.workspaces.stream(page_size=PAGE_SIZE)), "Workspace")
    return workspaces.get(name.casefold())


def _route_queues(configuration: Any, rename: Callable[[str], str]) -> Any:
    """A copy of a configuration document with every target's ``queue`` passed to ``rename``."""
    document = copy.deepcopy(configuration)
    routing = document.get("task_routing") if isinstance(document, dict) else None
    if not isinstance(routing, dict):
        return document
    filters = routing.get("filters")
    for flt in filters if isinstance(filters, list) else []:
        targets = flt.get("targets") if isinstance(flt, dict) else None
        for target in targets if isinstance(targets, list) else []:
            if isinstance(target, dict) and isinstance(target.get("queue"), str):
                target["queue"] = rename(target["queue"])
    default = routing.get("default_filter")
    if isinstance(default, dict) and isinstance(default.get("queue"), str):
        default["queue"] = rename(default["queue"])
    return document


def _queue_paths(configuration: Any) -> Iterator[tuple[str, str]]:
    """(path in the configuration, queue value) of every target."""
    routing = configuration.get("task_routing") if isinstance(configuration, dict) else None
    if not isinstance(routing, dict):
        return
    filters = routing.get("filters")
    for index, flt in enumerate(filters if isinstance(filters, list) else []):
        targets = flt.get("targets") if isinstance(flt, dict) else None
        for number, target in enumerate(targets if isinstance(targets, list) else []):
            if isinstance(target, dict) and isinstance(target.get("queue"), str):
                yield f"task_routing.filters[{index}].targets[{number}].queue", target["queue"]
    default = routing.get("default_filter")
    if isinstance(default, dict) and isinstance(default.get("queue"), str):
        yield "task_routing.default_filter.queue", default["queue"]


def _sorted(items: Iterator[Any] | list[Any], key: str = "name") -> tuple[Any, ...]:
    return tuple(sorted(items, key=lambda item: str(getattr(item, key)).casefold()))


def export_workspace(v1: Any, workspace_sid: str) -> WorkspaceDoc:
    """The workspace as a document (lists sorted by name, so exports compare equal)."""
    workspace = v1.workspaces(workspace_sid).fetch()
    snap = Snapshot(v1, workspace)
    queue_names = snap.queue_names()
    return WorkspaceDoc(
        name=str(workspace.friendly_name),
        multi_task_enabled=bool(workspace.multi_task_enabled),
        default_activity=workspace.default_activity_name,
        timeout_activity=workspace.timeout_activity_name,
        prioritize_queue_order=workspace.prioritize_queue_order,
        event_callback_url=workspace.event_callback_url or None,
        events_filter=workspace.events_filter or None,
        activities=_sorted(
            ActivityDoc(str(a.friendly_name), bool(a.available)) for a in snap.activities.values()
        ),
        task_channels=_sorted(
            (
                TaskChannelDoc(
                    str(c.unique_name),
                    str(c.friendly_name),
                    c.channel_optimized_routing,
                )
                for c in snap.channels.values()
            ),
            "unique_name",
        ),
        queues=_sorted(
            QueueDoc(
                name=str(q.friendly_name),
                target_workers=q.target_workers,
                reservation_activity=q.reservation_activity_name,
                assignment_activity=q.assignment_activity_name,
                max_reserved_workers=q.max_reserved_workers,
                task_order=q.task_order,
            )
            for q in snap.queues.values()
        ),
        workers=_sorted(
            WorkerDoc(
                str(w.friendly_name),
                stored_object(w.attributes),
                w.activity_name,
                snap.extra_capacity(str(w.sid)) or None,
            )
            for w in snap.workers.values()
        ),
        workflows=_sorted(
            WorkflowDoc(
                name=str(f.friendly_name),
                configuration=_route_queues(
                    stored_object(f.configuration), lambda sid: queue_names.get(sid, sid)
                ),
                task_reservation_timeout=f.task_reservation_timeout,
                assignment_callback_url=f.assignment_callback_url or None,
                fallback_assignment_callback_url=f.fallback_assignment_callback_url or None,
            )
            for f in snap.workflows.values()
        ),
    )


# --------------------------------------------------------------------------------------------
# Checking the file against the workspace (before any write)


class _Checker:
    def __init__(self, doc: WorkspaceDoc, snap: Snapshot, prune: bool, live: bool) -> None:
        self.doc = doc
        self.snap = snap
        self.prune = prune
        self.live = live

    def fail(self, path: str, problem: str, hint: str) -> UsageError:
        return UsageError(f"{self.doc.source}: {path}: {problem}", hint)

    def names(self, listed: tuple[Any, ...] | None, existing: dict[str, Any]) -> set[str]:
        names = {item.name.casefold() for item in listed or ()}
        if not (self.prune and listed is not None):
            names |= set(existing)
        return names

    def activity(self, value: str | None, path: str) -> None:
        if value is not None and value.casefold() not in self.names(
            self.doc.activities, self.snap.activities
        ):
            raise self.fail(
                path,
                f"no Activity named '{value}' in the file or the workspace",
                "Add it to 'activities' or use one that exists",
            )

    def expression(self, text: str | None, path: str) -> None:
        from taskrouter_cli.routing.expressions import ExpressionError, parse_expression

        if text is None or not text.strip():
            return
        try:
            parse_expression(text)
        except ExpressionError as error:
            raise self.fail(
                path,
                f"{error.message} at column {error.position + 1} of {text!r}",
                "Check it with 'trcli workflow lint --file' or the expression docs",
            ) from None

    def run(self) -> None:
        doc = self.doc
        self.activity(doc.default_activity, "workspace.default_activity")
        self.activity(doc.timeout_activity, "workspace.timeout_activity")
        for index, queue in enumerate(doc.queues or ()):
            self.activity(queue.reservation_activity, f"queues[{index}].reservation_activity")
            self.activity(queue.assignment_activity, f"queues[{index}].assignment_activity")
            self.expression(queue.target_workers, f"queues[{index}].target_workers")
        channels = {c.unique_name.casefold() for c in doc.task_channels or ()}
        channels |= set(self.snap.channels) if self.snap.workspace else NEW_WORKSPACE_CHANNELS
        for index, worker in enumerate(doc.workers or ()):
            self.activity(worker.activity, f"workers[{index}].activity")
            for name in worker.channels or {}:
                if name.casefold() not in channels:
                    raise self.fail(
                        f"workers[{index}].channels.{name}",
                        f"no TaskChannel with unique name '{name}' in the file or the workspace",
                        "Add it to 'task_channels' or use one that exists",
                    )
        queues = self.names(doc.queues, self.snap.queues)
        for index, workflow in enumerate(doc.workflows or ()):
            if workflow.configuration is not None:
                self.workflow(workflow.configuration, f"workflows[{index}]", queues)
            for key in ("assignment_callback_url", "fallback_assignment_callback_url"):
                self.url(getattr(workflow, key), f"workflows[{index}].{key}")
        self.url(doc.event_callback_url, "workspace.event_callback_url")

    def url(self, value: str | None, path: str) -> None:
        """Live Twilio cannot call this machine: a sandbox URL in a file bound for a live
        account is refused (like 'workflow create' does), not written to be failing later."""
        from taskrouter_cli.operations.workflows import check_callback_url

        if value is None:
            return
        try:
            check_callback_url(value, live=self.live, option=path)
        except UsageError as error:
            raise self.fail(
                path,
                error.message.removeprefix(f"{path} "),
                "Leave the field out (the workspace keeps its own) or give a public URL",
            ) from None

    def workflow(self, configuration: Mapping[str, Any], path: str, queues: set[str]) -> None:
        from taskrouter_cli.routing.lint import ERROR, lint_configuration

        for where, value in _queue_paths(configuration):
            if value.casefold() not in queues:
                raise self.fail(
                    f"{path}.configuration.{where}",
                    f"no TaskQueue named '{value}' in the file or the workspace",
                    "Add it to 'queues' or name one that exists",
                )
        text = json.dumps(_route_queues(configuration, lambda _name: PLACEHOLDER_QUEUE_SID))
        for finding in lint_configuration(text):
            if finding.severity == ERROR and finding.code in ("schema", "expression"):
                raise self.fail(
                    f"{path}.configuration.{finding.path}",
                    finding.message,
                    "Check it with 'trcli workflow lint --file'",
                )


# --------------------------------------------------------------------------------------------
# Planning


def _differences(pairs: Mapping[str, tuple[Any, Any]]) -> tuple[FieldChange, ...]:
    """Fields whose wanted value (not None: None means "not managed") differs."""
    return tuple(
        FieldChange(name, old, new)
        for name, (old, new) in pairs.items()
        if new is not None and old != new
    )


def _same_name(old: Any, new: str | None) -> Any:
    """``old`` unchanged when it names the same thing as ``new`` case-insensitively."""
    if isinstance(old, str) and new is not None and old.casefold() == new.casefold():
        return new
    return old


class _Planner:
    def __init__(self, doc: WorkspaceDoc, snap: Snapshot, prune: bool) -> None:
        self.doc = doc
        self.snap = snap
        self.prune = prune
        self.changes: list[Change] = []

    def add(self, change: Change) -> None:
        self.changes.append(change)

    def run(self) -> list[Change]:
        self.workspace()
        for item in self.doc.activities or ():
            self.activity(item)
        self.workspace_settings()
        for channel in self.doc.task_channels or ():
            self.channel(channel)
        for queue in self.doc.queues or ():
            self.queue(queue)
        for worker in self.doc.workers or ():
            self.worker(worker)
        for workflow in self.doc.workflows or ():
            self.workflow(workflow)
        self.deletions()
        return self.changes

    def workspace(self) -> None:
        doc, found = self.doc, self.snap.workspace
        if found is None:
            self.add(Change("Workspace", doc.name, CREATE, desired=doc))
            return
        if doc.multi_task_enabled is False and found.multi_task_enabled:
            self.add(
                Change(
                    "Workspace",
                    str(found.friendly_name),
                    DIFFERS,
                    sid=str(found.sid),
                    note="multi-tasking is on and cannot be switched off",
                )
            )
        else:  # replaced by an update once the activities it may refer to are planned
            self.add(Change("Workspace", str(found.friendly_name), UNCHANGED, sid=str(found.sid)))

    def workspace_settings(self) -> None:
        doc, found = self.doc, self.snap.workspace
        old: dict[str, Any] = {}
        if found is not None:
            old = {
                "multi_task_enabled": bool(found.multi_task_enabled),
                "default_activity": _same_name(found.default_activity_name, doc.default_activity),
                "timeout_activity": _same_name(found.timeout_activity_name, doc.timeout_activity),
                "prioritize_queue_order": found.prioritize_queue_order,
                "event_callback_url": found.event_callback_url or None,
                "events_filter": found.events_filter or None,
            }
        wanted = {
            "multi_task_enabled": doc.multi_task_enabled or None,  # only ever switched on
            "default_activity": doc.default_activity,
            "timeout_activity": doc.timeout_activity,
            "prioritize_queue_order": doc.prioritize_queue_order,
            "event_callback_url": doc.event_callback_url,
            "events_filter": doc.events_filter,
        }
        if found is None:
            # a new workspace: creation sets the rest; its activities follow once they exist
            changes = _differences(
                {k: (None, wanted[k]) for k in ("default_activity", "timeout_activity")}
            )
        else:
            changes = _differences({k: (old.get(k), v) for k, v in wanted.items()})
        sid = str(found.sid) if found is not None else None
        if changes:
            self.changes = [
                c for c in self.changes if not (c.kind == "Workspace" and c.action == UNCHANGED)
            ]
            self.add(Change("Workspace", doc.name, UPDATE, changes, sid, desired=doc))

    def activity(self, item: ActivityDoc) -> None:
        found = self.snap.activities.get(item.name.casefold())
        shown = "available" if item.available else "unavailable"
        if found is None:
            self.add(Change("Activity", item.name, CREATE, note=shown, desired=item))
        elif bool(found.available) != item.available:
            self.add(
                Change(
                    "Activity",
                    item.name,
                    DIFFERS,
                    sid=str(found.sid),
                    note=f"should be {shown}; availability cannot be changed after creation",
                )
            )
        else:
            self.add(Change("Activity", item.name, UNCHANGED, sid=str(found.sid), note=shown))

    def channel(self, item: TaskChannelDoc) -> None:
        found = self.snap.channels.get(item.unique_name.casefold())
        if found is None:
            self.add(Change("TaskChannel", item.unique_name, CREATE, desired=item))
            return
        changes = _differences(
            {
                "name": (found.friendly_name, item.name),
                "channel_optimized_routing": (
                    found.channel_optimized_routing,
                    item.channel_optimized_routing,
                ),
            }
        )
        action = UPDATE if changes else UNCHANGED
        self.add(Change("TaskChannel", item.unique_name, action, changes, str(found.sid), "", item))

    def queue(self, item: QueueDoc) -> None:
        found = self.snap.queues.get(item.name.casefold())
        if found is None:
            self.add(
                Change("TaskQueue", item.name, CREATE, note=item.target_workers or "", desired=item)
            )
            return
        changes = _differences(
            {
                "target_workers": (found.target_workers, item.target_workers),
                "reservation_activity": (
                    _same_name(found.reservation_activity_name, item.reservation_activity),
                    item.reservation_activity,
                ),
                "assignment_activity": (
                    _same_name(found.assignment_activity_name, item.assignment_activity),
                    item.assignment_activity,
                ),
                "max_reserved_workers": (found.max_reserved_workers, item.max_reserved_workers),
                "task_order": (found.task_order, item.task_order),
            }
        )
        action = UPDATE if changes else UNCHANGED
        self.add(Change("TaskQueue", item.name, action, changes, str(found.sid), "", item))

    def worker(self, item: WorkerDoc) -> None:
        found = self.snap.workers.get(item.name.casefold())
        attributes = dict(item.attributes) if item.attributes is not None else None
        if found is None:
            note = json.dumps(attributes or {})
            self.add(Change("Worker", item.name, CREATE, note=note, desired=item))
            return
        channels = dict(item.channels) if item.channels is not None else None
        changes = _differences(
            {
                "attributes": (stored_object(found.attributes), attributes),
                "channels": (
                    self.snap.extra_capacity(str(found.sid)) if channels is not None else None,
                    channels,
                ),
            }
        )
        action = UPDATE if changes else UNCHANGED
        self.add(Change("Worker", item.name, action, changes, str(found.sid), "", item))

    def workflow(self, item: WorkflowDoc) -> None:
        found = self.snap.workflows.get(item.name.casefold())
        if found is None:
            self.add(Change("Workflow", item.name, CREATE, desired=item))
            return
        names = self.snap.queue_names()
        current = _route_queues(stored_object(found.configuration), lambda s: names.get(s, s))
        wanted = (
            _route_queues(item.configuration, lambda n: self._queue_name(n))
            if item.configuration is not None
            else None
        )
        changes = _differences(
            {
                "configuration": (current, wanted),
                "task_reservation_timeout": (
                    found.task_reservation_timeout,
                    item.task_reservation_timeout,
                ),
                "assignment_callback_url": (
                    found.assignment_callback_url or None,
                    item.assignment_callback_url,
                ),
                "fallback_assignment_callback_url": (
                    found.fallback_assignment_callback_url or None,
                    item.fallback_assignment_callback_url,
                ),
            }
        )
        action = UPDATE if changes else UNCHANGED
        self.add(Change("Workflow", item.name, action, changes, str(found.sid), "", item))

    def _queue_name(self, value: str) -> str:
        """A queue reference as the workspace spells the name (names match case-insensitively)."""
        for queue in self.doc.queues or ():
            if queue.name.casefold() == value.casefold():
                return queue.name
        found = self.snap.queues.get(value.casefold())
        return str(found.friendly_name) if found is not None else value

    def deletions(self) -> None:
        if not self.prune:
            return
        for kind, listed, existing, key in (
            ("Workflow", self.doc.workflows, self.snap.workflows, "name"),
            ("Worker", self.doc.workers, self.snap.workers, "name"),
            ("TaskQueue", self.doc.queues, self.snap.queues, "name"),
            ("TaskChannel", self.doc.task_channels, self.snap.channels, "unique_name"),
            ("Activity", self.doc.activities, self.snap.activities, "name"),
        ):
            if listed is None:
                continue
            named = {str(getattr(item, key)).casefold() for item in listed}
            for folded, resource in existing.items():
                if folded not in named:
                    label = (
                        resource.unique_name if kind == "TaskChannel" else resource.friendly_name
                    )
                    self.add(Change(kind, str(label), DELETE, sid=str(resource.sid), pruned=True))


def plan_apply(
    v1: Any,
    doc: WorkspaceDoc,
    *,
    prune: bool = False,
    live: bool = False,
    workspace: Any | None = None,
) -> Plan:
    """What apply would do (reads the workspace, checks the file; writes nothing).

    ``workspace`` is the SDK Workspace to apply to; by default the one named in the file.
    ``live``: the API is live Twilio, so callback URLs must be reachable from the internet."""
    found = workspace if workspace is not None else find_workspace(v1, doc.name)
    snap = Snapshot(v1, found)
    _Checker(doc, snap, prune, live).run()
    changes = _Planner(doc, snap, prune).run()
    return Plan(doc.name, str(found.sid) if found is not None else None, changes, doc)


# --------------------------------------------------------------------------------------------
# Applying


class _Applier:
    def __init__(self, v1: Any, plan: Plan, on_change: Callable[[Change], None]) -> None:
        self.v1 = v1
        self.plan = plan
        self.on_change = on_change
        self.ws: Any = None
        self.created_workspace = False
        self.activity_sids: dict[str, str] = {}
        self.queue_sids: dict[str, str] = {}
        self.done: list[Change] = []

    def record(self, change: Change, sid: Any = None) -> None:
        if sid is not None and change.sid is None:
            from dataclasses import replace

            change = replace(change, sid=str(sid))
        self.done.append(change)
        self.on_change(change)

    def refresh(self) -> None:
        self.activity_sids = {
            str(a.friendly_name).casefold(): str(a.sid)
            for a in self.ws.activities.stream(page_size=PAGE_SIZE)
        }
        self.queue_sids = {
            str(q.friendly_name).casefold(): str(q.sid)
            for q in self.ws.task_queues.stream(page_size=PAGE_SIZE)
        }

    def activity_sid(self, name: str | None) -> Any:
        from twilio.base import values

        return values.unset if name is None else self.activity_sids[name.casefold()]

    def run(self) -> list[Change]:
        from twilio.base import values

        unset = values.unset
        doc = self.plan.doc
        changes = self.plan.changes
        if self.plan.workspace_sid is None:
            created = self.v1.workspaces.create(
                friendly_name=doc.name,
                multi_task_enabled=unset
                if doc.multi_task_enabled is None
                else doc.multi_task_enabled,
                prioritize_queue_order=doc.prioritize_queue_order or unset,
                event_callback_url=doc.event_callback_url or unset,
                events_filter=doc.events_filter or unset,
            )
            self.created_workspace = True
            self.record(Change("Workspace", doc.name, CREATE), created.sid)
            self.plan.workspace_sid = str(created.sid)
            # TaskRouter fills a new workspace with default activities and channels: plan again
            changes = [
                change
                for change in _Planner(doc, Snapshot(self.v1, created), prune=False).run()
                if not (change.kind == "Workspace" and change.action == UNCHANGED)
            ]
        self.ws = self.v1.workspaces(self.plan.workspace_sid)
        self.refresh()
        for change in changes:
            if change.action in (UNCHANGED, DIFFERS):
                self.record(change)
            elif change.action in (CREATE, UPDATE):
                self.record(change, self.write(change, unset))
        for change in changes:
            if change.action == DELETE:
                self.delete(change)
        if self.created_workspace:
            self.remove_defaults()
        return self.done

    def write(self, change: Change, unset: Any) -> Any:
        item = change.desired
        ws = self.ws
        if isinstance(item, WorkspaceDoc):
            ws.update(
                default_activity_sid=self.activity_sid(item.default_activity),
                timeout_activity_sid=self.activity_sid(item.timeout_activity),
                multi_task_enabled=True if item.multi_task_enabled else unset,
                prioritize_queue_order=item.prioritize_queue_order or unset,
                event_callback_url=item.event_callback_url or unset,
                events_filter=item.events_filter or unset,
            )
            return None
        if isinstance(item, ActivityDoc):
            created = ws.activities.create(friendly_name=item.name, available=item.available)
            self.activity_sids[item.name.casefold()] = str(created.sid)
            return created.sid
        if isinstance(item, TaskChannelDoc):
            fields = {
                "friendly_name": item.name or unset,
                "channel_optimized_routing": unset
                if item.channel_optimized_routing is None
                else item.channel_optimized_routing,
            }
            if change.action == CREATE:
                return ws.task_channels.create(
                    unique_name=item.unique_name,
                    **{**fields, "friendly_name": item.name or item.unique_name},
                ).sid
            ws.task_channels(change.sid).update(**fields)
            return None
        if isinstance(item, QueueDoc):
            fields = {
                "target_workers": unset if item.target_workers is None else item.target_workers,
                "reservation_activity_sid": self.activity_sid(item.reservation_activity),
                "assignment_activity_sid": self.activity_sid(item.assignment_activity),
                "max_reserved_workers": item.max_reserved_workers or unset,
                "task_order": item.task_order or unset,
            }
            if change.action == CREATE:
                created = ws.task_queues.create(friendly_name=item.name, **fields)
                self.queue_sids[item.name.casefold()] = str(created.sid)
                return created.sid
            ws.task_queues(change.sid).update(**fields)
            return None
        if isinstance(item, WorkerDoc):
            attributes = json.dumps(dict(item.attributes)) if item.attributes is not None else unset
            if change.action == CREATE:
                sid = ws.workers.create(
                    friendly_name=item.name,
                    attributes=attributes,
                    activity_sid=self.activity_sid(item.activity),
                ).sid
            else:
                sid = change.sid
                ws.workers(sid).update(attributes=attributes)
            if item.channels is not None:
                self.set_capacities(str(sid), item.channels)
            return sid if change.action == CREATE else None
        if isinstance(item, WorkflowDoc):
            configuration = (
                json.dumps(
                    _route_queues(item.configuration, lambda n: self.queue_sids[n.casefold()])
                )
                if item.configuration is not None
                else unset
            )
            fields = {
                "configuration": configuration,
                "task_reservation_timeout": item.task_reservation_timeout or unset,
                "assignment_callback_url": item.assignment_callback_url or unset,
                "fallback_assignment_callback_url": item.fallback_assignment_callback_url or unset,
            }
            if change.action == CREATE:
                return ws.workflows.create(friendly_name=item.name, **fields).sid
            ws.workflows(change.sid).update(**fields)
            return None
        raise AssertionError(f"nothing to write for {change.kind}")

    def set_capacities(self, worker_sid: str, wanted: Mapping[str, int]) -> None:
        """Each channel of the worker at its capacity in ``wanted`` (1 when not named)."""
        channels = self.ws.workers(worker_sid).worker_channels
        for channel in channels.stream(page_size=PAGE_SIZE):
            capacity = wanted.get(str(channel.task_channel_unique_name), 1)
            if int(channel.configured_capacity or 0) != capacity:
                channels(channel.sid).update(capacity=capacity)

    def delete(self, change: Change) -> None:
        collection = {
            "Workflow": "workflows",
            "Worker": "workers",
            "TaskQueue": "task_queues",
            "TaskChannel": "task_channels",
            "Activity": "activities",
        }[change.kind]
        getattr(self.ws, collection)(change.sid).delete()
        self.record(change)

    def remove_defaults(self) -> None:
        """A workspace created now gets exactly the file's activities."""
        if self.plan.doc.activities is None:
            return
        named = {a.name.casefold() for a in self.plan.doc.activities}
        workspace = self.ws.fetch()
        in_use = {workspace.default_activity_sid, workspace.timeout_activity_sid}
        for activity in list(self.ws.activities.stream(page_size=PAGE_SIZE)):
            if str(activity.friendly_name).casefold() not in named and activity.sid not in in_use:
                self.ws.activities(activity.sid).delete()
                self.record(
                    Change(
                        "Activity",
                        str(activity.friendly_name),
                        DELETE,
                        sid=str(activity.sid),
                        note="added by TaskRouter to the new workspace; not in the file",
                    )
                )


def apply_plan(
    v1: Any, plan: Plan, on_change: Callable[[Change], None] | None = None
) -> list[Change]:
    """Carry the plan out in dependency order; returns every change as done (with SIDs)."""
    return _Applier(v1, plan, on_change or (lambda _change: None)).run()
