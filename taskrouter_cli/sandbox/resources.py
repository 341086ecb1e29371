"""Create / update / delete of the configuration resources: Workspaces, Activities, Workers,
WorkerChannels, TaskQueues, Workflows and TaskChannels.

Referenced resources given as parameters (``ActivitySid``, ``DefaultActivitySid`` ...) answer
400 naming the parameter both when the SID is malformed and when it names nothing in the
workspace (the 404 status is kept for the resource in the URL path).

Friendly names are unique per workspace, case-insensitively, for Activities, Workers, TaskQueues
and Workflows, and TaskChannel unique names too; Workspace names are not checked (TaskRouter's
rule is not documented).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict, cast

from taskrouter_cli.routing.expressions import ExpressionError, parse_expression
from taskrouter_cli.routing.lint import raw_expressions
from taskrouter_cli.routing.undocumented import undocumented_constructs
from taskrouter_cli.routing.workflow import WorkflowConfigError, parse_workflow_configuration

from . import validate
from .core import Core
from .engine import Engine
from .errors import bad_request
from .lifecycle import refresh_channel
from .records import (
    Activity,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
)
from .sids import new_sid
from .state import Record

log = logging.getLogger("taskrouter_cli.sandbox")

MAX_ACTIVITIES = 100
DEFAULT_CHANNELS = (
    ("Default", "default"),
    ("Voice", "voice"),
    ("SMS", "sms"),
    ("Chat", "chat"),
    ("Video", "video"),
)
"""Task channels of a new workspace: ``default`` and ``voice`` are documented/observed; ``sms``,
``chat`` and ``video`` are our choice (UNCONFIRMED in the behaviour doc, §12 item 9)."""

DEFAULT_ACTIVITIES = (("Offline", False), ("Available", True), ("Unavailable", False))


class Common(TypedDict):
    """The fields every workspace child starts with."""

    account_sid: str
    date_created: datetime
    date_updated: datetime
    sid: str
    workspace_sid: str


class Resources:
    def __init__(self, core: Core, engine: Engine) -> None:
        self.core = core
        self.engine = engine
        self.state = core.state

    # shared ----------------------------------------------------------------------------------
    def _unique(
        self, workspace_sid: str, kind: str, field: str, value: str, label: str, skip: str = ""
    ) -> None:
        lowered = value.lower()
        for record in self.state.in_workspace(workspace_sid, kind).values():
            if record["sid"] != skip and str(record[field]).lower() == lowered:
                raise bad_request(f"{label} with {field} '{value}' already exists")

    def activity_ref(self, workspace_sid: str, value: Any, param: str) -> Activity:
        sid = validate.sid(value, "WA", param)
        activity = self.state.activity(sid)
        if activity is None or activity["workspace_sid"] != workspace_sid:
            raise bad_request(f"{param} {sid} is not an Activity of workspace {workspace_sid}")
        return activity

    def _workspace(self, sid: str) -> Workspace:
        return self.core.workspace(sid)

    def _base(self, workspace_sid: str, prefix: str) -> Common:
        stamp = self.core.stamp()
        return {
            "account_sid": self.core.account_sid,
            "date_created": stamp,
            "date_updated": stamp,
            "sid": new_sid(prefix),
            "workspace_sid": workspace_sid,
        }

    def _emit(
        self,
        workspace: Workspace,
        event_type: str,
        kind: str,
        sid: str,
        verb: str,
        data: dict[str, Any],
    ) -> None:
        label = kind.replace("_", " ").title().replace(" ", "")
        self.core.emit(
            workspace,
            event_type,
            kind.replace("_", ""),
            sid,
            f"{label} {sid} {verb}",
            data,
        )

    # workspaces ------------------------------------------------------------------------------
    def create_workspace(
        self,
        params: dict[str, Any],
        activities: tuple[tuple[str, bool], ...] = DEFAULT_ACTIVITIES,
    ) -> Record:
        name = validate.friendly_name(params.get("friendly_name"))
        template = validate.enum(params.get("template", "NONE"), ("NONE", "FIFO"), "Template")
        order = validate.enum(
            params.get("prioritize_queue_order", "FIFO"), ("FIFO", "LIFO"), "PrioritizeQueueOrder"
        )
        stamp = self.core.stamp()
        workspace: Workspace = {
            "account_sid": self.core.account_sid,
            "date_created": stamp,
            "date_updated": stamp,
            "default_activity_name": None,
            "default_activity_sid": None,
            "event_callback_url": validate.url(
                params.get("event_callback_url"), "EventCallbackUrl"
            ),
            "events_filter": params.get("events_filter") or None,
            "friendly_name": name,
            "multi_task_enabled": validate.boolean(
                params.get("multi_task_enabled", True), "MultiTaskEnabled"
            ),
            "sid": new_sid("WS"),
            "timeout_activity_name": None,
            "timeout_activity_sid": None,
            "prioritize_queue_order": order,
            "_seq": self.state.next_seq(),
        }
        self.state.add("workspace", workspace)
        sid = workspace["sid"]
        self._emit(
            workspace, "workspace.created", "workspace", sid, "created", {"workspace_sid": sid}
        )
        for activity_name, available in activities:
            self.create_activity(sid, {"friendly_name": activity_name, "available": available})
        offline = next(
            a
            for a in cast("dict[str, Activity]", self.state.in_workspace(sid, "activity")).values()
            if a["friendly_name"] == "Offline"
        )
        workspace["default_activity_sid"] = offline["sid"]
        workspace["default_activity_name"] = offline["friendly_name"]
        workspace["timeout_activity_sid"] = offline["sid"]
        workspace["timeout_activity_name"] = offline["friendly_name"]
        for channel_name, unique in DEFAULT_CHANNELS:
            self.create_task_channel(
                workspace["sid"], {"friendly_name": channel_name, "unique_name": unique}
            )
        if template == "FIFO":
            queue = self.create_task_queue(
                workspace["sid"], {"friendly_name": "Sample Queue", "target_workers": "1==1"}
            )
            self.create_workflow(
                workspace["sid"],
                {
                    "friendly_name": "Default Fifo Workflow",
                    "configuration": json.dumps(
                        {"task_routing": {"filters": [], "default_filter": {"queue": queue["sid"]}}}
                    ),
                },
            )
        return cast(Record, workspace)

    def update_workspace(self, record: Record, params: dict[str, Any]) -> Record:
        workspace = cast(Workspace, record)
        sid = workspace["sid"]
        changed = workspace.copy()  # every parameter is checked before anything changes
        if "friendly_name" in params:
            changed["friendly_name"] = validate.friendly_name(params["friendly_name"])
        if params.get("default_activity_sid") is not None:
            activity = self.activity_ref(sid, params["default_activity_sid"], "DefaultActivitySid")
            changed["default_activity_sid"] = activity["sid"]
            changed["default_activity_name"] = activity["friendly_name"]
        if params.get("timeout_activity_sid") is not None:
            activity = self.activity_ref(sid, params["timeout_activity_sid"], "TimeoutActivitySid")
            changed["timeout_activity_sid"] = activity["sid"]
            changed["timeout_activity_name"] = activity["friendly_name"]
        if "event_callback_url" in params:
            changed["event_callback_url"] = validate.url(
                params["event_callback_url"], "EventCallbackUrl"
            )
        if "events_filter" in params:
            changed["events_filter"] = params["events_filter"] or None
        if "multi_task_enabled" in params:
            multi = validate.boolean(params["multi_task_enabled"], "MultiTaskEnabled")
            if workspace["multi_task_enabled"] and not multi:
                raise bad_request(
                    "MultiTaskEnabled: a multi-tasking workspace cannot be switched back to "
                    "single-tasking"
                )
            changed["multi_task_enabled"] = multi
        if "prioritize_queue_order" in params:
            changed["prioritize_queue_order"] = validate.enum(
                params["prioritize_queue_order"], ("FIFO", "LIFO"), "PrioritizeQueueOrder"
            )
        workspace.update(changed)
        workspace["date_updated"] = self.core.stamp()
        self.state.touch("workspace", workspace)
        self._emit(workspace, "workspace.updated", "workspace", sid, "updated", {})
        return record

    def delete_workspace(self, workspace: Record) -> None:
        sid = workspace["sid"]
        for kind in (
            "reservation",
            "task",
            "worker_channel",
            "worker",
            "workflow",
            "task_queue",
            "task_channel",
            "activity",
        ):
            for record in list(self.state.in_workspace(sid, kind).values()):
                if kind == "task":
                    self.engine.dequeue(record)
                if kind == "task_queue":
                    self.engine.queue_removed(record)
                self.state.remove(kind, record)
                self.core.forget(record["sid"])
        self.state.remove("workspace", workspace)
        self.state.store.delete_workspace_events(sid)

    # activities ------------------------------------------------------------------------------
    def create_activity(self, workspace_sid: str, params: dict[str, Any]) -> Record:
        name = validate.friendly_name(params.get("friendly_name"))
        existing = self.state.in_workspace(workspace_sid, "activity")
        if len(existing) >= MAX_ACTIVITIES:
            raise bad_request(f"a workspace can have at most {MAX_ACTIVITIES} Activities")
        self._unique(workspace_sid, "activity", "friendly_name", name, "Activity")
        activity: Activity = {
            **self._base(workspace_sid, "WA"),
            "friendly_name": name,
            "available": validate.boolean(params.get("available", False), "Available"),
            "_seq": self.state.next_seq(),
        }
        self.state.add("activity", activity)
        self._emit(
            self._workspace(workspace_sid),
            "activity.created",
            "activity",
            activity["sid"],
            "created",
            {
                "activity_sid": activity["sid"],
                "activity_name": name,
                "activity_available": activity["available"],
            },
        )
        return cast(Record, activity)

    def update_activity(self, record: Record, params: dict[str, Any]) -> Record:
        activity = cast(Activity, record)
        if "available" in params:
            raise bad_request("Available cannot be changed after an Activity is created")
        if "friendly_name" in params:
            name = validate.friendly_name(params["friendly_name"])
            ws = activity["workspace_sid"]
            self._unique(ws, "activity", "friendly_name", name, "Activity", activity["sid"])
            activity["friendly_name"] = name
            self._rename_activity(activity)
        activity["date_updated"] = self.core.stamp()
        self.state.touch("activity", activity)
        self._emit(
            self._workspace(activity["workspace_sid"]),
            "activity.updated",
            "activity",
            activity["sid"],
            "updated",
            {
                "activity_sid": activity["sid"],
                "activity_name": activity["friendly_name"],
                "activity_available": activity["available"],
            },
        )
        return record

    def _rename_activity(self, activity: Activity) -> None:
        sid, name = activity["sid"], activity["friendly_name"]
        ws = activity["workspace_sid"]
        workspace = self._workspace(ws)
        if workspace["default_activity_sid"] == sid:
            workspace["default_activity_name"] = name
            self.state.touch("workspace", workspace)
        if workspace["timeout_activity_sid"] == sid:
            workspace["timeout_activity_name"] = name
            self.state.touch("workspace", workspace)
        for worker in self.state.workers_in(ws).values():
            if worker["activity_sid"] == sid:
                worker["activity_name"] = name
                self.state.touch("worker", worker)
        for queue in self.state.queues_in(ws).values():
            if queue["reservation_activity_sid"] == sid:
                queue["reservation_activity_name"] = name
                self.state.touch("task_queue", queue)
            if queue["assignment_activity_sid"] == sid:
                queue["assignment_activity_name"] = name
                self.state.touch("task_queue", queue)

    def delete_activity(self, record: Record) -> None:
        activity = cast(Activity, record)
        sid, ws = activity["sid"], activity["workspace_sid"]
        workspace = self._workspace(ws)
        if sid in (workspace["default_activity_sid"], workspace["timeout_activity_sid"]):
            raise bad_request(
                f"Activity {sid} is the workspace's default or timeout activity and cannot be "
                "deleted"
            )
        if any(w["activity_sid"] == sid for w in self.state.workers_in(ws).values()):
            raise bad_request(f"Activity {sid} is in use by a Worker and cannot be deleted")
        for queue in self.state.queues_in(ws).values():
            if sid in (queue["reservation_activity_sid"], queue["assignment_activity_sid"]):
                raise bad_request(
                    f"Activity {sid} is used by TaskQueue {queue['sid']} and cannot be deleted"
                )
        self.state.remove("activity", activity)
        self._emit(
            workspace,
            "activity.deleted",
            "activity",
            sid,
            "deleted",
            {"activity_sid": sid, "activity_name": activity["friendly_name"]},
        )

    # task channels ---------------------------------------------------------------------------
    def create_task_channel(self, workspace_sid: str, params: dict[str, Any]) -> Record:
        name = validate.friendly_name(params.get("friendly_name"))
        unique = validate.friendly_name(params.get("unique_name"), "UniqueName")
        if "-" in unique:
            raise bad_request("UniqueName must not contain hyphens")
        self._unique(workspace_sid, "task_channel", "unique_name", unique, "TaskChannel")
        channel: TaskChannel = {
            **self._base(workspace_sid, "TC"),
            "friendly_name": name,
            "unique_name": unique,
            "channel_optimized_routing": validate.boolean(
                params["channel_optimized_routing"], "ChannelOptimizedRouting"
            )
            if params.get("channel_optimized_routing") is not None
            else None,
            "_seq": self.state.next_seq(),
        }
        self.state.add("task_channel", channel)
        for worker in self.state.workers_in(workspace_sid).values():
            self._add_worker_channel(worker, channel)
        self._emit(
            self._workspace(workspace_sid),
            "task-channel.created",
            "task_channel",
            channel["sid"],
            "created",
            {
                "task_channel_sid": channel["sid"],
                "task_channel_name": name,
                "task_channel_unique_name": unique,
            },
        )
        return cast(Record, channel)

    def find_task_channel(self, workspace_sid: str, sid_or_name: str) -> Record | None:
        record = self.state.get("task_channel", sid_or_name)
        if record is not None and record["workspace_sid"] == workspace_sid:
            return record
        for channel in self.state.in_workspace(workspace_sid, "task_channel").values():
            if channel["unique_name"] == sid_or_name:
                return channel
        return None

    def update_task_channel(self, record: Record, params: dict[str, Any]) -> Record:
        channel = cast(TaskChannel, record)
        changed = channel.copy()  # every parameter is checked before anything changes
        if "friendly_name" in params:
            changed["friendly_name"] = validate.friendly_name(params["friendly_name"])
        if params.get("channel_optimized_routing") is not None:
            changed["channel_optimized_routing"] = validate.boolean(
                params["channel_optimized_routing"], "ChannelOptimizedRouting"
            )
        channel.update(changed)
        channel["date_updated"] = self.core.stamp()
        self.state.touch("task_channel", channel)
        self._emit(
            self._workspace(channel["workspace_sid"]),
            "task-channel.updated",
            "task_channel",
            channel["sid"],
            "updated",
            {"task_channel_sid": channel["sid"]},
        )
        return record

    def delete_task_channel(self, record: Record) -> None:
        channel = cast(TaskChannel, record)
        ws = channel["workspace_sid"]
        for task in self._tasks_in(ws).values():
            if task["task_channel_sid"] == channel["sid"] and task["assignment_status"] in (
                "pending",
                "reserved",
                "assigned",
                "wrapping",
            ):
                raise bad_request(
                    f"TaskChannel {channel['sid']} is used by Task {task['sid']} and cannot be "
                    "deleted"
                )
        for worker_channel in list(self.state.in_workspace(ws, "worker_channel").values()):
            if worker_channel["task_channel_sid"] == channel["sid"]:
                self.state.remove("worker_channel", worker_channel)
        self.state.remove("task_channel", channel)
        self._emit(
            self._workspace(ws),
            "task-channel.deleted",
            "task_channel",
            channel["sid"],
            "deleted",
            {"task_channel_sid": channel["sid"]},
        )

    # workers ---------------------------------------------------------------------------------
    def create_worker(self, workspace_sid: str, params: dict[str, Any]) -> Record:
        workspace = self._workspace(workspace_sid)
        name = validate.friendly_name(params.get("friendly_name"))
        self._unique(workspace_sid, "worker", "friendly_name", name, "Worker")
        attributes = validate.attributes(params.get("attributes", "{}"))
        if params.get("activity_sid") is not None:
            activity = self.activity_ref(workspace_sid, params["activity_sid"], "ActivitySid")
        else:
            activity = cast(
                Activity, self.state.records["activity"][workspace["default_activity_sid"] or ""]
            )
        now = self.core.now()
        base = self._base(workspace_sid, "WK")
        worker: Worker = {
            **base,
            "activity_name": activity["friendly_name"],
            "activity_sid": activity["sid"],
            "attributes": attributes,
            "available": activity["available"],
            "date_status_changed": base["date_created"],
            "friendly_name": name,
            "_open": 0,
            "_idle_ts": now.timestamp(),
            "_created_ts": now.timestamp(),
            "_seq": self.state.next_seq(),
        }
        self.state.add("worker", worker)
        for channel in self._task_channels_in(workspace_sid).values():
            self._add_worker_channel(worker, channel)
        self.engine.worker_attributes_changed(worker)
        from .events import worker_fields

        self.core.emit(
            workspace,
            "worker.created",
            "worker",
            worker["sid"],
            f"Worker {name} created",
            worker_fields(worker),
        )
        if worker["available"]:
            self.engine.route_worker(worker)
        return cast(Record, worker)

    def _task_channels_in(self, workspace_sid: str) -> dict[str, TaskChannel]:
        return cast(
            "dict[str, TaskChannel]", self.state.in_workspace(workspace_sid, "task_channel")
        )

    def _tasks_in(self, workspace_sid: str) -> dict[str, Task]:
        return cast("dict[str, Task]", self.state.in_workspace(workspace_sid, "task"))

    def _workflows_in(self, workspace_sid: str) -> dict[str, Workflow]:
        return cast("dict[str, Workflow]", self.state.in_workspace(workspace_sid, "workflow"))

    def _add_worker_channel(self, worker: Worker, channel: TaskChannel) -> None:
        record: WorkerChannel = {
            **self._base(worker["workspace_sid"], "WC"),
            "assigned_tasks": 0,
            "available": True,
            "available_capacity_percentage": 100,
            "configured_capacity": 1,
            "task_channel_sid": channel["sid"],
            "task_channel_unique_name": channel["unique_name"],
            "worker_sid": worker["sid"],
            "_reserved": 0,
            "_seq": self.state.next_seq(),
        }
        self.state.add("worker_channel", record)

    def update_worker(self, record: Record, params: dict[str, Any]) -> Record:
        from .events import worker_fields

        worker = cast(Worker, record)
        ws = worker["workspace_sid"]
        workspace = self.core.workspace(ws)
        activity = None
        if params.get("activity_sid") is not None:
            activity = self.activity_ref(ws, params["activity_sid"], "ActivitySid")
        attributes = None
        if params.get("attributes") is not None:
            attributes = validate.attributes(params["attributes"])
        name = None
        if params.get("friendly_name") is not None:
            name = validate.friendly_name(params["friendly_name"])
            self._unique(ws, "worker", "friendly_name", name, "Worker", worker["sid"])
        reject_pending = False
        if params.get("reject_pending_reservations") is not None:
            reject_pending = validate.boolean(
                params["reject_pending_reservations"], "RejectPendingReservations"
            )
            if reject_pending and (activity is None or activity["available"]):
                raise bad_request(
                    "RejectPendingReservations is only valid with an ActivitySid of an "
                    "unavailable Activity"
                )
        worker["date_updated"] = self.core.stamp()
        self.state.touch("worker", worker)
        if name is not None:
            worker["friendly_name"] = name
        if attributes is not None and attributes != worker["attributes"]:
            worker["attributes"] = attributes
            self.engine.worker_attributes_changed(worker)
            self.core.emit(
                workspace,
                "worker.attributes.update",
                "worker",
                worker["sid"],
                f"Worker {worker['friendly_name']} attributes updated",
                worker_fields(worker),
            )
        if activity is not None:
            self.engine.set_activity(worker, activity["sid"], route=False)
            if reject_pending:
                for res in list(self.state.reservations_of_worker(worker["sid"])):
                    if res["reservation_status"] == "pending":
                        self.engine.reject(res, None, restore=False)
        if worker["available"]:
            self.engine.route_worker(worker)
        return record

    def delete_worker(self, record: Record) -> None:
        from .events import worker_fields

        worker = cast(Worker, record)
        if worker["_open"] > 0:
            raise bad_request(
                f"Worker {worker['sid']} has pending or assigned reservations and cannot be deleted"
            )
        for channel in list(self.state.channels_of(worker["sid"]).values()):
            self.state.remove("worker_channel", channel)
        self.engine.worker_removed(worker)
        self.state.remove("worker", worker)
        self.core.forget(worker["sid"])
        self.core.emit(
            self.core.workspace(worker["workspace_sid"]),
            "worker.deleted",
            "worker",
            worker["sid"],
            f"Worker {worker['friendly_name']} deleted",
            worker_fields(worker),
        )

    def worker_channel(self, worker: Worker, sid: str) -> Record | None:
        for channel in self.state.channels_of(worker["sid"]).values():
            if sid in (
                channel["sid"],
                channel["task_channel_sid"],
                channel["task_channel_unique_name"],
            ):
                return cast(Record, channel)
        return None

    def update_worker_channel(self, record: Record, params: dict[str, Any]) -> Record:
        from .events import worker_fields

        channel = cast(WorkerChannel, record)
        worker = cast(Worker, self.state.records["worker"][channel["worker_sid"]])
        workspace = self.core.workspace(channel["workspace_sid"])
        capacity = channel["configured_capacity"]
        if params.get("capacity") is not None:
            capacity = validate.integer(params["capacity"], 0, 50, "Capacity")
        available = channel["available"]
        if params.get("available") is not None:
            available = validate.boolean(params["available"], "Available")
        previous = channel["configured_capacity"]
        channel["configured_capacity"] = capacity
        channel["available"] = available
        channel["date_updated"] = self.core.stamp()
        refresh_channel(channel)
        self.state.touch("worker_channel", channel)
        data = worker_fields(worker)
        data.update(
            worker_channel_available=available,
            worker_channel_available_capacity=max(0, capacity - channel["assigned_tasks"]),
            worker_channel_previous_capacity=previous,
            task_channel_sid=channel["task_channel_sid"],
            task_channel_unique_name=channel["task_channel_unique_name"],
            worker_channel_task_count=channel["assigned_tasks"],
        )
        if "capacity" in params:
            self.core.emit(
                workspace,
                "worker.capacity.update",
                "worker",
                worker["sid"],
                f"Worker {worker['friendly_name']} capacity updated",
                data,
            )
        if "available" in params:
            self.core.emit(
                workspace,
                "worker.channel.availability.update",
                "worker",
                worker["sid"],
                f"Worker {worker['friendly_name']} channel availability updated",
                dict(data),
            )
        self.engine.route_worker(worker)
        return record

    # task queues -----------------------------------------------------------------------------
    def _queue_fields(self, ws: str, params: dict[str, Any], queue: TaskQueue) -> None:
        if params.get("friendly_name") is not None:
            name = validate.friendly_name(params["friendly_name"])
            self._unique(ws, "task_queue", "friendly_name", name, "TaskQueue", queue["sid"])
            queue["friendly_name"] = name
        if params.get("target_workers") is not None:
            text = params["target_workers"]
            if not isinstance(text, str):
                raise bad_request("TargetWorkers must be a string")
            if text.strip():
                try:
                    parse_expression(text)
                except ExpressionError as exc:
                    raise bad_request(f"TargetWorkers is not a valid expression: {exc}") from None
            queue["target_workers"] = text
            warn_undocumented(f"TaskQueue {queue['sid']}", [("TargetWorkers", text)])
        if params.get("max_reserved_workers") is not None:
            queue["max_reserved_workers"] = validate.integer(
                params["max_reserved_workers"], 1, 50, "MaxReservedWorkers"
            )
        if params.get("task_order") is not None:
            queue["task_order"] = validate.enum(params["task_order"], ("FIFO", "LIFO"), "TaskOrder")
        if params.get("reservation_activity_sid") is not None:
            activity = self.activity_ref(
                ws, params["reservation_activity_sid"], "ReservationActivitySid"
            )
            queue["reservation_activity_sid"] = activity["sid"]
            queue["reservation_activity_name"] = activity["friendly_name"]
        if params.get("assignment_activity_sid") is not None:
            activity = self.activity_ref(
                ws, params["assignment_activity_sid"], "AssignmentActivitySid"
            )
            queue["assignment_activity_sid"] = activity["sid"]
            queue["assignment_activity_name"] = activity["friendly_name"]

    def create_task_queue(self, workspace_sid: str, params: dict[str, Any]) -> Record:
        name = validate.friendly_name(params.get("friendly_name"))
        queue: TaskQueue = {
            **self._base(workspace_sid, "WQ"),
            "assignment_activity_sid": None,
            "assignment_activity_name": None,
            "max_reserved_workers": 1,
            "reservation_activity_sid": None,
            "reservation_activity_name": None,
            "target_workers": "1==1",
            "task_order": "FIFO",
            "friendly_name": name,
            "_seq": 0,  # numbered once every parameter is checked
        }
        self._queue_fields(workspace_sid, params, queue)
        queue["_seq"] = self.state.next_seq()
        self.state.add("task_queue", queue)
        self._emit(
            self._workspace(workspace_sid),
            "task-queue.created",
            "task_queue",
            queue["sid"],
            "created",
            {
                "task_queue_sid": queue["sid"],
                "task_queue_name": queue["friendly_name"],
                "task_queue_target_expression": queue["target_workers"],
            },
        )
        return cast(Record, queue)

    def update_task_queue(self, record: Record, params: dict[str, Any]) -> Record:
        queue = cast(TaskQueue, record)
        before = (queue["target_workers"], queue["task_order"], queue["max_reserved_workers"])
        updated = queue.copy()
        self._queue_fields(queue["workspace_sid"], params, updated)
        queue.update(updated)
        queue["date_updated"] = self.core.stamp()
        self.state.touch("task_queue", queue)
        for task in self._tasks_in(queue["workspace_sid"]).values():
            if task["task_queue_sid"] == queue["sid"]:
                task["task_queue_friendly_name"] = queue["friendly_name"]
                self.state.touch("task", task)
        if queue["target_workers"] != before[0]:
            self._emit(
                self._workspace(queue["workspace_sid"]),
                "task-queue.expression.updated",
                "task_queue",
                queue["sid"],
                "updated",
                {
                    "task_queue_sid": queue["sid"],
                    "task_queue_name": queue["friendly_name"],
                    "task_queue_target_expression": queue["target_workers"],
                },
            )
        if (queue["target_workers"], queue["task_order"], queue["max_reserved_workers"]) != before:
            self.engine.queue_changed(queue)
        return record

    def delete_task_queue(self, record: Record) -> None:
        queue = cast(TaskQueue, record)
        ws = queue["workspace_sid"]
        for workflow in self._workflows_in(ws).values():
            if queue["sid"] in workflow["configuration"]:
                raise bad_request(
                    f"TaskQueue {queue['sid']} is used by Workflow {workflow['sid']} and cannot "
                    "be deleted"
                )
        if self.engine.waiting.get(queue["sid"]):
            raise bad_request(f"TaskQueue {queue['sid']} has pending Tasks and cannot be deleted")
        self.engine.queue_removed(queue)
        self.state.remove("task_queue", queue)
        self._emit(
            self._workspace(ws),
            "task-queue.deleted",
            "task_queue",
            queue["sid"],
            "deleted",
            {"task_queue_sid": queue["sid"], "task_queue_name": queue["friendly_name"]},
        )

    # workflows -------------------------------------------------------------------------------
    def _configuration(self, ws: str, text: Any) -> str:
        if not isinstance(text, str):
            raise bad_request("Configuration must be a JSON document given as a string")
        if len(text) > 1_000_000:
            raise bad_request("Configuration is larger than 1 MB")
        try:
            cfg = parse_workflow_configuration(text)
        except WorkflowConfigError as exc:
            raise bad_request(f"Configuration is invalid: {exc}") from None
        for queue_sid in cfg.queue_sids():
            queue = self.state.task_queue(queue_sid)
            if queue is None or queue["workspace_sid"] != ws:
                raise bad_request(
                    f"Configuration is invalid: TaskQueue {queue_sid} does not exist in "
                    f"workspace {ws}"
                )
        return text

    def _workflow_fields(self, ws: str, params: dict[str, Any], workflow: Workflow) -> None:
        if params.get("friendly_name") is not None:
            name = validate.friendly_name(params["friendly_name"])
            self._unique(ws, "workflow", "friendly_name", name, "Workflow", workflow["sid"])
            workflow["friendly_name"] = name
        if params.get("configuration") is not None:
            workflow["configuration"] = self._configuration(ws, params["configuration"])
            document = json.loads(workflow["configuration"])
            expressions = [(p, v) for p, v in raw_expressions(document) if isinstance(v, str)]
            warn_undocumented(f"Workflow {workflow['sid']}", expressions)
        if "assignment_callback_url" in params:
            workflow["assignment_callback_url"] = validate.url(
                params["assignment_callback_url"], "AssignmentCallbackUrl"
            )
        if "fallback_assignment_callback_url" in params:
            workflow["fallback_assignment_callback_url"] = validate.url(
                params["fallback_assignment_callback_url"], "FallbackAssignmentCallbackUrl"
            )
        if params.get("task_reservation_timeout") is not None:
            workflow["task_reservation_timeout"] = validate.integer(
                params["task_reservation_timeout"], 1, 86_400, "TaskReservationTimeout"
            )

    def create_workflow(self, workspace_sid: str, params: dict[str, Any]) -> Record:
        name = validate.friendly_name(params.get("friendly_name"))
        if params.get("configuration") is None:
            raise bad_request("Configuration is required")
        workflow: Workflow = {
            **self._base(workspace_sid, "WW"),
            "assignment_callback_url": None,
            "configuration": "",
            "document_content_type": "application/json",
            "fallback_assignment_callback_url": None,
            "task_reservation_timeout": 120,
            "friendly_name": name,
            "_seq": 0,  # numbered once every parameter is checked
        }
        self._workflow_fields(workspace_sid, params, workflow)
        workflow["_seq"] = self.state.next_seq()
        self.state.add("workflow", workflow)
        self._emit(
            self._workspace(workspace_sid),
            "workflow.created",
            "workflow",
            workflow["sid"],
            "created",
            {"workflow_sid": workflow["sid"], "workflow_name": workflow["friendly_name"]},
        )
        return cast(Record, workflow)

    def update_workflow(self, record: Record, params: dict[str, Any]) -> Record:
        workflow = cast(Workflow, record)
        ws = workflow["workspace_sid"]
        updated = workflow.copy()
        self._workflow_fields(ws, params, updated)
        reevaluate = validate.boolean(params.get("re_evaluate_tasks", False), "ReEvaluateTasks")
        workflow.update(updated)
        workflow["date_updated"] = self.core.stamp()
        self.state.touch("workflow", workflow)
        for task in self._tasks_in(ws).values():
            if task["workflow_sid"] == workflow["sid"]:
                task["workflow_friendly_name"] = workflow["friendly_name"]
                self.state.touch("task", task)
        self._emit(
            self._workspace(ws),
            "workflow.updated",
            "workflow",
            workflow["sid"],
            "updated",
            {"workflow_sid": workflow["sid"], "workflow_name": workflow["friendly_name"]},
        )
        if reevaluate:
            for task in list(self._tasks_in(ws).values()):
                if task["workflow_sid"] == workflow["sid"] and (
                    task["assignment_status"] == "pending"
                ):
                    self.engine.route_task(task)
        return record

    def delete_workflow(self, record: Record) -> None:
        workflow = cast(Workflow, record)
        ws = workflow["workspace_sid"]
        for task in self._tasks_in(ws).values():
            if task["workflow_sid"] == workflow["sid"] and task["assignment_status"] in (
                "pending",
                "reserved",
                "assigned",
                "wrapping",
            ):
                raise bad_request(
                    f"Workflow {workflow['sid']} has active Tasks and cannot be deleted"
                )
        self.state.remove("workflow", workflow)
        self._emit(
            self._workspace(ws),
            "workflow.deleted",
            "workflow",
            workflow["sid"],
            "deleted",
            {"workflow_sid": workflow["sid"], "workflow_name": workflow["friendly_name"]},
        )


def warn_undocumented(owner: str, expressions: Iterable[tuple[str, str]]) -> None:
    """Accepted, but logged: constructs Twilio does not document (unary NOT, lower-case
    operators), which live TaskRouter may refuse (``trcli workflow lint`` and ``explain`` show
    the same findings)."""
    for path, text in expressions:
        for item in undocumented_constructs(text):
            log.warning("Warning: %s %s: %s, in %r", owner, path, item.message, text)
