"""A workspace with one TaskQueue (``1==1``) and a Workflow routing every task to it, created
through an in-process sandbox service (the set-up the scaling and memory tests share)."""

from __future__ import annotations

import json
from typing import Any, NamedTuple


class QueueWorkspace(NamedTuple):
    scope: dict[str, Any]
    queue_sid: str
    workflow_sid: str


def one_queue_workspace(
    service: Any, name: str, multi_task_enabled: bool | None = None
) -> QueueWorkspace:
    params: dict[str, Any] = {"friendly_name": name}
    if multi_task_enabled is not None:
        params["multi_task_enabled"] = multi_task_enabled
    ws = service.create("workspace", {}, params)
    scope = {"workspace_sid": ws["sid"]}
    queue = service.create("task_queue", scope, {"friendly_name": "q"})
    routing = {"task_routing": {"default_filter": {"queue": queue["sid"]}}}
    workflow = service.create(
        "workflow", scope, {"friendly_name": "wf", "configuration": json.dumps(routing)}
    )
    return QueueWorkspace(scope, queue["sid"], workflow["sid"])
