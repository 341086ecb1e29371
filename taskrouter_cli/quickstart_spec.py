"""The TaskRouter quickstart's Part 1 workspace, defined once (behaviour doc §7.1 / §10).

This is the single definition of what ``trcli setup`` creates, what the tutorial runs against
and what the sandbox's quickstart seed should contain. Standard library only, so any layer
(including ``taskrouter_cli.sandbox``, which must not import the twilio SDK) can read it.

Choices where TaskRouter's documentation is silent (UNCONFIRMED, see the behaviour doc §12):

* the workspace name ``TaskRouter Quickstart`` (only shown in a screenshot; ``trcli setup
  --workspace-name`` overrides it);
* the filter names ``Language - Spanish`` / ``Language - English``;
* the activities Offline / Idle / Reserved / Busy (today's default workspaces have
  Offline / Available / Unavailable; the tutorial's text uses Idle and Busy), with Offline as
  the default and timeout activity;
* single-tasking (``MultiTaskEnabled=false``) so a worker moves Idle → Reserved → Busy as the
  tutorial shows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class ActivitySpec:
    name: str
    available: bool


@dataclass(frozen=True)
class WorkerSpec:
    name: str
    attributes: Mapping[str, Any]
    activity: str
    """The activity a new worker starts in (an existing worker's activity is never changed)."""

    @property
    def attributes_json(self) -> str:
        return json.dumps(dict(self.attributes))


@dataclass(frozen=True)
class QueueSpec:
    name: str
    target_workers: str
    reservation_activity: str
    assignment_activity: str


@dataclass(frozen=True)
class FilterSpec:
    name: str
    expression: str
    queue: str
    """The TaskQueue's friendly name (its SID goes into the configuration)."""


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    task_reservation_timeout: int
    filters: tuple[FilterSpec, ...]

    def configuration(self, queue_sids: Mapping[str, str]) -> dict[str, Any]:
        """The workflow configuration document, with each queue name replaced by its SID."""
        return {
            "task_routing": {
                "filters": [
                    {
                        "filter_friendly_name": item.name,
                        "expression": item.expression,
                        "targets": [{"queue": queue_sids[item.queue]}],
                    }
                    for item in self.filters
                ]
            }
        }

    def configuration_json(self, queue_sids: Mapping[str, str]) -> str:
        return json.dumps(self.configuration(queue_sids))


@dataclass(frozen=True)
class WorkspaceSpec:
    name: str
    multi_task_enabled: bool
    default_activity: str
    timeout_activity: str
    activities: tuple[ActivitySpec, ...]
    workers: tuple[WorkerSpec, ...]
    queues: tuple[QueueSpec, ...]
    workflow: WorkflowSpec
    notes: tuple[str, ...] = field(default=())

    def named(self, name: str) -> WorkspaceSpec:
        """The same workspace under another friendly name."""
        return replace(self, name=name)

    def activity(self, name: str) -> ActivitySpec:
        for item in self.activities:
            if item.name == name:
                return item
        raise KeyError(name)


QUICKSTART_WORKSPACE_NAME = "TaskRouter Quickstart"
OFFLINE, IDLE, RESERVED, BUSY = "Offline", "Idle", "Reserved", "Busy"
SPANISH_QUEUE = "Customer Care Requests - Spanish"
ENGLISH_QUEUE = "Customer Care Requests - English"
WORKFLOW_NAME = "Incoming Customer Care Requests"

QUICKSTART = WorkspaceSpec(
    name=QUICKSTART_WORKSPACE_NAME,
    multi_task_enabled=False,
    default_activity=OFFLINE,
    timeout_activity=OFFLINE,
    activities=(
        ActivitySpec(OFFLINE, False),
        ActivitySpec(IDLE, True),
        ActivitySpec(RESERVED, False),
        ActivitySpec(BUSY, False),
    ),
    workers=(
        WorkerSpec("Alice", {"languages": ["en", "es"]}, OFFLINE),
        WorkerSpec("Bob", {"languages": ["en"]}, OFFLINE),
    ),
    queues=(
        QueueSpec(SPANISH_QUEUE, 'languages HAS "es"', RESERVED, BUSY),
        QueueSpec(ENGLISH_QUEUE, 'languages HAS "en"', RESERVED, BUSY),
    ),
    workflow=WorkflowSpec(
        name=WORKFLOW_NAME,
        task_reservation_timeout=1200,
        filters=(
            FilterSpec("Language - Spanish", 'selected_language == "es"', SPANISH_QUEUE),
            FilterSpec("Language - English", 'selected_language == "en"', ENGLISH_QUEUE),
        ),
    ),
)
"""Part 1 of the quickstart: what ``trcli setup`` creates (no ``default_filter``)."""

SPANISH_TASK_ATTRIBUTES: Mapping[str, Any] = {"selected_language": "es"}
"""The attributes of the tutorial's Tasks (Part 2)."""
