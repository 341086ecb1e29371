"""``trcli workflow test``: read the workspace through the API and route a task on paper.

Everything is fetched with the twilio SDK (live TaskRouter or the sandbox alike) and evaluated
with :func:`taskrouter_cli.routing.dry_run.dry_run`; no task is created and nothing is changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from taskrouter_cli.errors import UsageError
from taskrouter_cli.operations.inputs import stored_object
from taskrouter_cli.routing.dry_run import (
    DEFAULT_TASK_TIMEOUT,
    DryRun,
    QueueState,
    WorkerState,
    dry_run,
    queue_members,
)
from taskrouter_cli.routing.lint import WARNING, lint_configuration
from taskrouter_cli.routing.workflow import (
    WorkflowConfigError,
    WorkflowConfiguration,
    parse_workflow_configuration,
)

PAGE_SIZE = 1000
SANDBOX_HEALTH_URL = "https://taskrouter.twilio.com/sandbox/health"
"""Rewritten to the API URL override like every other request (see ``client.py``)."""


def parse_at(value: str) -> datetime:
    """``--at``: an ISO-8601 time such as ``2026-12-01T09:30Z``; no zone means UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--at '{value}' is not an ISO-8601 time", "Use e.g. 2026-12-01T09:30Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def server_now(client: Any, uses_sandbox: bool) -> datetime:
    """The time routing would see: the sandbox's clock (it may be a FakeClock or time-travel)
    when talking to a sandbox, this machine's clock otherwise (live TaskRouter runs on UTC)."""
    if uses_sandbox:
        try:
            response = client.request("GET", SANDBOX_HEALTH_URL)
            body = json.loads(response.text) if response.status_code == 200 else None
        except (OSError, ValueError):  # not a sandbox that reports its clock: use ours
            body = None
        now = body.get("now") if isinstance(body, dict) else None
        if isinstance(now, str):
            return parse_at(now)
    return datetime.now(timezone.utc)


def parse_configuration(text: str, what: str) -> WorkflowConfiguration:
    try:
        return parse_workflow_configuration(text or "")
    except WorkflowConfigError as exc:
        raise UsageError(
            f"{what}'s configuration cannot be evaluated: {exc}",
            f"Check it with 'trcli workflow lint {json.dumps(what)}'",
        ) from None


class WorkspaceReader:
    """Queues and workers of a workspace as the dry run needs them (a few list requests,
    then one or two per worker that could serve the task)."""

    def __init__(self, workspace_api: Any) -> None:
        self.ws = workspace_api
        self.workspace = workspace_api.fetch()
        self.multi_tasking = bool(self.workspace.multi_task_enabled)

    def queues(self) -> dict[str, QueueState]:
        return {
            str(q.sid): QueueState(
                sid=str(q.sid),
                name=str(q.friendly_name),
                target_workers=q.target_workers,
                max_reserved_workers=int(q.max_reserved_workers or 1),
            )
            for q in self.ws.task_queues.stream(page_size=PAGE_SIZE)
        }

    def workers(
        self, queues: Mapping[str, QueueState], referenced: tuple[str, ...], channel: str
    ) -> tuple[WorkerState, ...]:
        raw = list(self.ws.workers.stream(page_size=PAGE_SIZE))
        bare = tuple(self._worker(w, 0, 1) for w in raw)
        relevant: set[str] = set()
        for sid in referenced:
            if sid in queues:
                relevant |= queue_members(queues[sid], bare)
        return tuple(
            self._with_capacity(worker, channel) if worker.sid in relevant else bare[index]
            for index, worker in enumerate(raw)
        )

    def all_workers(self) -> tuple[WorkerState, ...]:
        """Every worker with its attributes and activity (capacity not read)."""
        return tuple(self._worker(w, 0, 1) for w in self.ws.workers.stream(page_size=PAGE_SIZE))

    @staticmethod
    def _worker(worker: Any, used: int, capacity: int, **extra: Any) -> WorkerState:
        return WorkerState(
            sid=str(worker.sid),
            name=str(worker.friendly_name),
            attributes=stored_object(worker.attributes),
            activity_sid=str(worker.activity_sid),
            activity=str(worker.activity_name),
            available=bool(worker.available),
            used=used,
            capacity=capacity,
            idle_since=worker.date_status_changed,
            created=worker.date_created,
            **extra,
        )

    def _with_capacity(self, worker: Any, channel: str) -> WorkerState:
        api = self.ws.workers(worker.sid)
        channels = list(api.worker_channels.list(page_size=PAGE_SIZE))
        pending = list(api.reservations.list(reservation_status="pending", page_size=PAGE_SIZE))
        if not self.multi_tasking:
            used = sum(int(c.assigned_tasks or 0) for c in channels) + len(pending)
            return self._worker(worker, used, 1, capacity_note=f"{used}/1 (single-tasking)")
        mine = next(
            (c for c in channels if channel in (c.task_channel_unique_name, c.task_channel_sid)),
            None,
        )
        if mine is None:
            return self._worker(
                worker, 0, 0, channel_available=False, capacity_note=f"no {channel} channel"
            )
        on_channel = sum(
            1
            for r in pending
            if channel
            in {
                str((task := self.ws.tasks(r.task_sid).fetch()).task_channel_unique_name),
                str(task.task_channel_sid),
            }
        )
        used = int(mine.assigned_tasks or 0) + on_channel
        total = int(mine.configured_capacity or 0)
        note = f"{used}/{total} on {mine.task_channel_unique_name}"
        if not mine.available:
            note += " (channel unavailable)"
        return self._worker(
            worker, used, total, channel_available=bool(mine.available), capacity_note=note
        )


def dry_run_workflow(
    workspace_api: Any,
    workflow: Any,
    attributes: Mapping[str, Any],
    *,
    at: datetime,
    priority: int = 0,
    channel: str = "default",
    task_timeout: int = DEFAULT_TASK_TIMEOUT,
) -> DryRun:
    """The dry run of ``workflow`` (an SDK Workflow instance) for a task with ``attributes``."""
    config = parse_configuration(workflow.configuration or "", str(workflow.friendly_name))
    reader = WorkspaceReader(workspace_api)
    queues = reader.queues()
    workers = reader.workers(queues, config.queue_sids(), channel)
    return dry_run(
        config, attributes, queues, workers, at=at, priority=priority, task_timeout=task_timeout
    )


def configuration_warnings(configuration: str) -> list[str]:
    """The lint's warnings for a configuration (undocumented constructs and the like), one line
    each with the JSON path."""
    return [
        f"{f.path}: {f.message}" for f in lint_configuration(configuration) if f.severity == WARNING
    ]


def dry_run_to_dict(result: DryRun, workflow: Any, warnings: list[str]) -> dict[str, Any]:
    """``--json``: the dry run as data."""
    return {
        "workflow": {"sid": str(workflow.sid), "name": str(workflow.friendly_name)},
        "at": result.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "attributes": dict(result.attributes),
        "priority": result.priority,
        "filter": None
        if result.filter is None
        else {
            "index": result.filter.index,
            "name": result.filter.name,
            "expression": result.filter.expression,
        },
        "default_filter": result.uses_default_filter,
        "filters": [
            {
                "index": f.index,
                "name": f.name,
                "expression": f.expression,
                "matched": f.matched,
                "trace": [{"comparison": c, "result": r} for c, r in f.trace],
            }
            for f in result.filters
        ],
        "targets": [
            {
                "index": t.index,
                "queue": t.queue,
                "queue_sid": t.queue_sid,
                "expression": t.expression,
                "priority": t.priority,
                "timeout": t.timeout,
                "starts_at": t.starts_at,
                "ends_at": t.ends_at,
                "skip_if": t.skip_if,
                "order_by": t.order_by,
                "known_worker": t.known_worker,
                "problem": t.problem,
                "workers": [
                    {
                        "name": w.name,
                        "sid": w.sid,
                        "matches": w.matches,
                        "available": w.available,
                        "activity": w.activity,
                        "capacity": w.capacity,
                        "has_capacity": w.has_capacity,
                        "eligible": w.eligible,
                    }
                    for w in t.workers
                ],
                "would_reserve": list(t.would_reserve),
            }
            for t in result.targets
        ],
        "reserved_now": list(result.reserved_now),
        "timeline": [
            {
                "age": step.age,
                "at": step.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "event": step.event,
                "queue": step.target.queue if step.target is not None else None,
                "priority": step.target.priority if step.target is not None else None,
                "would_reserve": list(step.target.would_reserve) if step.target else [],
                "message": step.message,
            }
            for step in result.timeline
        ],
        "outcome": result.outcome,
        "warnings": warnings,
    }
