"""The resource kinds of the sandbox, in one table: the store, the service, the serializer, the
SID checks and the HTTP layer all read what they need to know about a kind from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    """The service's name for the kind (``task_queue``)."""
    prefix: str
    """SID prefix (``WQ``)."""
    label: str
    """TaskRouter's name for one (``TaskQueue``)."""
    collection: str
    """The URL segment of its list under the workspace (``TaskQueues``)."""
    components: tuple[str, ...]
    """The spec's schema component names of its responses."""
    status_field: str | None = None
    """The field holding its lifecycle status, if it has one."""
    stored: bool = True
    """Kept in memory and in the ``records`` table (Events have a table of their own)."""
    path_names: bool = False
    """Its path segment also accepts a unique name (``default``), so no SID prefix check."""


_V1 = "taskrouter.v1.workspace"

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("workspace", "WS", "Workspace", "Workspaces", ("taskrouter.v1.workspace",)),
        Kind("activity", "WA", "Activity", "Activities", (f"{_V1}.activity",)),
        Kind("task_channel", "TC", "TaskChannel", "TaskChannels", (f"{_V1}.task_channel",), None,
             True, True),
        Kind("worker", "WK", "Worker", "Workers", (f"{_V1}.worker",)),
        Kind("worker_channel", "WC", "WorkerChannel", "Channels",
             (f"{_V1}.worker.worker_channel",), None, True, True),
        Kind("task_queue", "WQ", "TaskQueue", "TaskQueues", (f"{_V1}.task_queue",)),
        Kind("workflow", "WW", "Workflow", "Workflows", (f"{_V1}.workflow",)),
        Kind("task", "WT", "Task", "Tasks", (f"{_V1}.task",), "assignment_status"),
        Kind("reservation", "WR", "Reservation", "Reservations",
             (f"{_V1}.task.task_reservation", f"{_V1}.worker.worker_reservation"),
             "reservation_status"),
        Kind("event", "EV", "Event", "Events", (f"{_V1}.event",), stored=False),
    )
}  # fmt: skip

STORED_KINDS = tuple(name for name, kind in KINDS.items() if kind.stored)
"""Kinds held by ``State`` (in this order when loading)."""

KIND_OF_COMPONENT = {name: kind.name for kind in KINDS.values() for name in kind.components}
"""Spec schema component name → kind."""


def prefix(kind: str) -> str:
    return KINDS[kind].prefix
