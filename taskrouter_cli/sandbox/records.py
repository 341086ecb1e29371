"""Typed records of the sandbox's kinds.

Each kind has the fields the API shows (``…Fields``, what ``state.public`` keeps) and, apart,
the bookkeeping the sandbox keeps on the same stored JSON object (``…Internal``, keys starting
with ``_``, never returned). Every record has ``_seq`` (creation order) and ``_rev`` (ETag).
``State`` hands out records of these types (``state.task(sid)``, ``state.worker(sid)`` …).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from typing_extensions import NotRequired


class Bookkeeping(TypedDict):
    _seq: int
    _rev: NotRequired[int]


class WorkspaceFields(TypedDict):
    account_sid: str
    date_created: datetime
    date_updated: datetime
    default_activity_name: str | None
    default_activity_sid: str | None
    event_callback_url: str | None
    events_filter: str | None
    friendly_name: str
    multi_task_enabled: bool
    sid: str
    timeout_activity_name: str | None
    timeout_activity_sid: str | None
    prioritize_queue_order: str


class Workspace(WorkspaceFields, Bookkeeping):
    pass


class ActivityFields(TypedDict):
    account_sid: str
    available: bool
    date_created: datetime
    date_updated: datetime
    friendly_name: str
    sid: str
    workspace_sid: str


class Activity(ActivityFields, Bookkeeping):
    pass


class TaskQueueFields(TypedDict):
    account_sid: str
    assignment_activity_name: str | None
    assignment_activity_sid: str | None
    date_created: datetime
    date_updated: datetime
    friendly_name: str
    max_reserved_workers: int
    reservation_activity_name: str | None
    reservation_activity_sid: str | None
    sid: str
    target_workers: str | None
    task_order: str
    workspace_sid: str


class TaskQueue(TaskQueueFields, Bookkeeping):
    pass


class WorkflowFields(TypedDict):
    account_sid: str
    assignment_callback_url: str | None
    configuration: str
    date_created: datetime
    date_updated: datetime
    document_content_type: str
    fallback_assignment_callback_url: str | None
    friendly_name: str
    sid: str
    task_reservation_timeout: int
    workspace_sid: str


class Workflow(WorkflowFields, Bookkeeping):
    pass


class TaskChannelFields(TypedDict):
    account_sid: str
    channel_optimized_routing: bool | None
    date_created: datetime
    date_updated: datetime
    friendly_name: str
    sid: str
    unique_name: str
    workspace_sid: str


class TaskChannel(TaskChannelFields, Bookkeeping):
    pass


class WorkerFields(TypedDict):
    account_sid: str
    activity_name: str
    activity_sid: str
    attributes: str
    available: bool
    date_created: datetime
    date_status_changed: datetime | None
    date_updated: datetime
    friendly_name: str
    sid: str
    workspace_sid: str


class WorkerInternal(Bookkeeping):
    _open: int
    """Pending and accepted reservations held against the worker."""
    _idle_ts: float
    """When the worker last changed activity (longest idle goes first)."""
    _created_ts: float


class Worker(WorkerFields, WorkerInternal):
    pass


class WorkerChannelFields(TypedDict):
    account_sid: str
    assigned_tasks: int
    available: bool
    available_capacity_percentage: int
    configured_capacity: int
    date_created: datetime
    date_updated: datetime
    sid: str
    task_channel_sid: str
    task_channel_unique_name: str
    worker_sid: str
    workspace_sid: str


class WorkerChannelInternal(Bookkeeping):
    _reserved: int
    """Pending reservations on this channel (they count against its capacity)."""


class WorkerChannel(WorkerChannelFields, WorkerChannelInternal):
    pass


class TaskFields(TypedDict):
    account_sid: str
    age: int
    assignment_status: str
    attributes: str
    addons: str
    date_created: datetime
    date_updated: datetime
    task_queue_entered_date: datetime | None
    priority: int
    reason: str | None
    sid: str
    task_queue_sid: str | None
    task_queue_friendly_name: str | None
    task_channel_sid: str
    task_channel_unique_name: str
    timeout: int
    workflow_sid: str | None
    workflow_friendly_name: str | None
    workspace_sid: str
    virtual_start_time: datetime
    ignore_capacity: bool | None
    routing_target: str | None


class TaskInternal(Bookkeeping):
    _created_ts: float
    _ttl_deadline: float
    _target_deadline: float | None
    _fixed_queue: str | None
    """The TaskQueue given at creation (TaskQueueSid or a WQ RoutingTarget): no workflow."""
    _step: list[int | None] | None
    """(filter index or None for the default filter, target index) of the current target."""
    _waiting: bool
    _assignments: int
    _purge_at: NotRequired[float]
    """When a finished task is deleted."""


class Task(TaskFields, TaskInternal):
    pass


class InstructionEntry(TypedDict):
    instruction: str
    via: str
    accept: bool
    post_work_activity_sid: str | None
    would_have: str
    time: str


class ReservationFields(TypedDict):
    account_sid: str
    date_created: datetime
    date_updated: datetime
    reservation_status: str
    sid: str
    task_sid: str
    worker_name: str
    worker_sid: str
    workspace_sid: str


class ReservationInternal(Bookkeeping):
    _queue_sid: str | None
    _workflow_sid: str | None
    _channel_sid: str
    _deadline: float
    _previous_activity_sid: str | None
    """The worker's activity before the reservation activity (restored on reject/cancel)."""
    _instructions: NotRequired[list[InstructionEntry]]


class Reservation(ReservationFields, ReservationInternal):
    pass


EventData = dict[str, Any]
"""An Event's ``event_data``: a JSON object whose keys depend on the event type."""


class Event(TypedDict):
    """An Event as the API shows it (``actor_url``/``resource_url`` are set by the HTTP layer)."""

    account_sid: str
    actor_sid: str
    actor_type: str
    actor_url: str | None
    description: str
    event_data: EventData
    event_date: datetime
    event_date_ms: int
    event_type: str
    resource_sid: str
    resource_type: str
    resource_url: str | None
    sid: str
    source: str
    source_ip_address: str
    workspace_sid: str
