"""Tasks and Reservations: create / update / delete of tasks, reservation updates (accept,
reject, wrapping, completed, voice instructions) and applying assignment-callback replies.

State rules (§3.1, §3.2):

* Task ``AssignmentStatus``: ``canceled`` only from pending/reserved; ``wrapping`` only from
  assigned; ``completed`` from assigned or wrapping. Anything else answers 400
  ``Task WT… is already in state [X] and cannot be updated to [Y]``. Status and attributes cannot
  change in one request. ``Reason`` is required with ``canceled`` and ``completed`` (spec). A
  ``Priority`` is ignored while the task sits in a workflow target that sets one (spec).
* Reservation ``ReservationStatus``: ``accepted`` and ``rejected`` (and any instruction) only
  from pending; our reading of §3.2 for Flex-style moves: ``wrapping`` from accepted, and
  ``completed`` from accepted or wrapping, each also moving the task. Otherwise 400 (410 when the
  reservation was rescinded) with ``Reservation WR… is already in state [X] and cannot be updated
  to [Y]``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, cast

from taskrouter_cli.statuses import RESERVATION_STATUSES, TASK_STATUSES

from . import instructions, validate
from .core import Core
from .dispatch import Applied, DeliveryRequest
from .engine import Engine
from .errors import TaskRouterError, bad_request
from .events import task_fields
from .lifecycle import TASK_MOVES
from .records import Reservation, Task, TaskQueue, Workflow
from .replies import ParsedReply
from .resources import Resources
from .sids import is_sid, new_sid
from .state import Record

MAX_PRIORITY = 2_147_483_647


class Tasks:
    def __init__(self, core: Core, engine: Engine, resources: Resources) -> None:
        self.core = core
        self.engine = engine
        self.resources = resources
        self.state = core.state

    # tasks -----------------------------------------------------------------------------------
    def _channel(self, ws: str, value: Any, param: str = "TaskChannel") -> Record:
        channel = self.resources.find_task_channel(ws, str(value))
        if channel is None:
            raise bad_request(f"{param} {value!r} is not a TaskChannel SID or unique name here")
        return channel

    def _virtual_start(self, value: Any, now: datetime) -> datetime:
        if not isinstance(value, datetime):
            raise bad_request("VirtualStartTime must be a date-time")
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        if value > now:
            raise bad_request("VirtualStartTime must not be in the future")
        if value.year < 1900:
            raise bad_request("VirtualStartTime must not be before 1900")
        return value.astimezone(timezone.utc).replace(microsecond=0)

    def create_task(self, ws: str, params: dict[str, Any]) -> Record:
        workspace = self.core.workspace(ws)
        now = self.core.now()
        attributes = validate.attributes(params.get("attributes", "{}"))
        timeout = validate.integer(params.get("timeout", 86_400), 1, 1_209_600, "Timeout")
        priority = validate.integer(params.get("priority", 0), 0, MAX_PRIORITY, "Priority")
        channel = self._channel(ws, params.get("task_channel") or "default")
        workflow: Workflow | None = None
        queue: TaskQueue | None = None
        routing_target = params.get("routing_target")
        if routing_target is not None:
            routing_target = str(routing_target)
            if is_sid(routing_target, "WK"):
                if self.state.get("worker", routing_target) is None:
                    raise bad_request(f"RoutingTarget {routing_target} is not a Worker here")
            elif is_sid(routing_target, "WQ"):
                params = {**params, "task_queue_sid": params.get("task_queue_sid", routing_target)}
            elif is_sid(routing_target, "WW"):
                params = {**params, "workflow_sid": params.get("workflow_sid", routing_target)}
            else:
                raise bad_request(
                    f"RoutingTarget {routing_target!r} must be a Worker, TaskQueue or Workflow SID"
                )
        if params.get("workflow_sid") is not None:
            sid = validate.sid(params["workflow_sid"], "WW", "WorkflowSid")
            workflow = self.state.workflow(sid)
            if workflow is None or workflow["workspace_sid"] != ws:
                raise bad_request(f"WorkflowSid {sid} is not a Workflow of workspace {ws}")
        if params.get("task_queue_sid") is not None:
            sid = validate.sid(params["task_queue_sid"], "WQ", "TaskQueueSid")
            queue = self.state.task_queue(sid)
            if queue is None or queue["workspace_sid"] != ws:
                raise bad_request(f"TaskQueueSid {sid} is not a TaskQueue of workspace {ws}")
        direct = bool(routing_target and routing_target.startswith("WK"))
        if workflow is None and queue is None and not direct:
            workflows = cast(
                "list[Workflow]", list(self.state.in_workspace(ws, "workflow").values())
            )
            if len(workflows) != 1:
                raise bad_request(
                    "WorkflowSid is required when the workspace does not have exactly one Workflow"
                )
            workflow = workflows[0]
        ignore_capacity = None
        if params.get("ignore_capacity") is not None:
            if not direct:
                raise bad_request("IgnoreCapacity is only valid with a Worker RoutingTarget")
            ignore_capacity = validate.boolean(params["ignore_capacity"], "IgnoreCapacity")
        elif direct:
            ignore_capacity = True
        stamp = now.replace(microsecond=0)
        start = stamp
        if params.get("virtual_start_time") is not None:
            start = self._virtual_start(params["virtual_start_time"], now)
        task: Task = {
            "account_sid": self.core.account_sid,
            "age": 0,
            "assignment_status": "pending",
            "attributes": attributes,
            "addons": "{}",
            "date_created": stamp,
            "date_updated": stamp,
            "task_queue_entered_date": None,
            "priority": priority,
            "reason": None,
            "sid": new_sid("WT"),
            "task_queue_sid": None,
            "task_queue_friendly_name": None,
            "task_channel_sid": channel["sid"],
            "task_channel_unique_name": channel["unique_name"],
            "timeout": timeout,
            "workflow_sid": workflow["sid"] if workflow else None,
            "workflow_friendly_name": workflow["friendly_name"] if workflow else None,
            "workspace_sid": ws,
            "virtual_start_time": start,
            "ignore_capacity": ignore_capacity,
            "routing_target": routing_target,
            "_created_ts": now.timestamp(),
            "_ttl_deadline": now.timestamp() + timeout,
            "_target_deadline": None,
            "_fixed_queue": queue["sid"] if queue else None,
            "_step": None,
            "_waiting": False,
            "_assignments": 0,
            "_seq": self.state.next_seq(),
        }
        self.state.add("task", task)
        self.engine.schedule_ttl(task)
        self.core.emit(
            workspace,
            "task.created",
            "task",
            task["sid"],
            f"Task {task['sid']} created",
            task_fields(task, now),
        )
        if workflow is not None and queue is None and not direct:
            self.core.emit(
                workspace,
                "workflow.entered",
                "task",
                task["sid"],
                f"Task {task['sid']} entered Workflow {workflow['sid']}",
                task_fields(task, now),
            )
        self.engine.route_task(task)
        return cast(Record, task)

    def update_task(self, record: Record, params: dict[str, Any]) -> Record:
        task = cast(Task, record)
        ws = task["workspace_sid"]
        now = self.core.now()
        status = params.get("assignment_status")
        if status is not None:
            validate.enum(status, TASK_STATUSES, "AssignmentStatus")
            if params.get("attributes") is not None:
                raise bad_request(
                    "AssignmentStatus and Attributes cannot be changed in the same request"
                )
        attributes = None
        if params.get("attributes") is not None:
            attributes = validate.attributes(params["attributes"])
        priority = None
        if params.get("priority") is not None:
            priority = validate.integer(params["priority"], 0, MAX_PRIORITY, "Priority")
        channel = None
        if params.get("task_channel") is not None:
            channel = self._channel(ws, params["task_channel"])
        start = None
        if params.get("virtual_start_time") is not None:
            start = self._virtual_start(params["virtual_start_time"], now)
        current = task["assignment_status"]
        if status is not None and current not in TASK_MOVES.get(str(status), ()):
            raise bad_request(
                f"Task {task['sid']} is already in state [{current}] and cannot be updated "
                f"to [{status}]"
            )
        if status in ("canceled", "completed") and not params.get("reason"):
            # UpdateTask Reason: "required only if the Task is canceled or completed" (spec)
            raise bad_request(
                f"Missing required parameter Reason: it is required when AssignmentStatus "
                f"is {status}"
            )
        if priority is not None:
            target = self.engine.current_target(task)
            if target is not None and target.priority is not None:
                # UpdateTask Priority: "the Task takes on the specified priority unless it
                # matches a Workflow Target with a Priority set" (spec)
                priority = None
        task["date_updated"] = now.replace(microsecond=0)
        self.state.touch("task", task)
        reroute = False
        if attributes is not None and attributes != task["attributes"]:
            task["attributes"] = attributes
            reroute = True
        if priority is not None and priority != task["priority"]:
            task["priority"] = priority
            self.engine.reorder(task)
        if start is not None and start != task["virtual_start_time"]:
            task["virtual_start_time"] = start
            self.engine.reorder(task)
        if channel is not None and channel["sid"] != task["task_channel_sid"]:
            task["task_channel_sid"] = channel["sid"]
            task["task_channel_unique_name"] = channel["unique_name"]
            reroute = True
        if attributes is not None or priority is not None or channel is not None:
            self.core.emit(
                self.core.workspace(ws),
                "task.updated",
                "task",
                task["sid"],
                f"Task {task['sid']} updated",
                task_fields(task, now),
            )
        if status == "canceled":
            self.engine.cancel_task(task, str(params.get("reason") or ""))
        elif status in ("wrapping", "completed"):
            self.engine.finish_task(task, str(status), params.get("reason"))
        elif reroute and task["assignment_status"] == "pending":
            self.engine.route_task(task)
        elif task["assignment_status"] == "pending" and (priority is not None or start):
            self.engine.offer(task)
        return record

    def delete_task(self, record: Record) -> None:
        task = cast(Task, record)
        if task["assignment_status"] in ("pending", "reserved"):
            self.engine.cancel_task(task, "Task deleted")
        else:
            self.engine.release_assigned(task)
        self.engine.dequeue(task)
        self.core.emit(
            self.core.workspace(task["workspace_sid"]),
            "task.deleted",
            "task",
            task["sid"],
            f"Task {task['sid']} deleted",
            task_fields(task, self.core.now()),
        )
        for res in self.state.task_reservations(task["sid"]):
            self.state.remove("reservation", res)
        self.state.remove("task", task)
        self.core.forget(task["sid"])

    # reservations ----------------------------------------------------------------------------
    def _state_error(self, res: Reservation, wanted: str) -> TaskRouterError:
        current = res["reservation_status"]
        message = (
            f"Reservation {res['sid']} is already in state [{current}] and cannot be updated "
            f"to [{wanted}]"
        )
        return TaskRouterError(410 if current == "rescinded" else 400, 20001, message)

    def _activity_exists(self, ws: str) -> Callable[[str], bool]:
        def check(sid: str) -> bool:
            activity = self.state.activity(sid)
            return activity is not None and activity["workspace_sid"] == ws

        return check

    def update_reservation(self, record: Record, params: dict[str, Any]) -> Record:
        res = cast(Reservation, record)
        ws = res["workspace_sid"]
        status = params.get("reservation_status")
        instruction = params.get("instruction")
        if status is not None:
            validate.enum(status, RESERVATION_STATUSES, "ReservationStatus")
        current = res["reservation_status"]
        task = self._task_of(res)
        if instruction is not None:
            name = str(instruction)
            if name == "supervise":
                raise bad_request("Instruction supervise (Flex) is not supported by the sandbox")
            if name not in instructions.VOICE_INSTRUCTIONS:
                raise bad_request(
                    f"Instruction must be one of conference, dequeue, call, redirect; got {name!r}"
                    " (debugger 55555)"
                )
            if current != "pending":
                raise self._state_error(res, name)
            body = instructions.from_rest_params(name, params)
            result = self._validate_instruction(res, task, name, body, rest=True)
            self._record_instruction(res, result, "rest")
            if result.accept:
                self.engine.accept(res)
            return record
        if status is None:
            if params.get("worker_activity_sid") is not None:
                raise bad_request("WorkerActivitySid is only valid with ReservationStatus=rejected")
            return record
        if status == "accepted" and current == "pending":
            self.engine.accept(res)
        elif status == "rejected" and current == "pending":
            activity_sid = None
            if params.get("worker_activity_sid") is not None:
                activity = self.resources.activity_ref(
                    ws, params["worker_activity_sid"], "WorkerActivitySid"
                )
                activity_sid = activity["sid"]
            self.engine.reject(res, activity_sid)
        elif status == "wrapping" and current == "accepted":
            self.engine.finish_task(task, "wrapping", None)
        elif status == "completed" and current in ("accepted", "wrapping"):
            self.engine.finish_task(task, "completed", None)
        else:
            raise self._state_error(res, str(status))
        return record

    def _task_of(self, res: Reservation) -> Task:
        task = self.state.task(res["task_sid"])
        assert task is not None, f"reservation {res['sid']} outlived its task"
        return task

    def _validate_instruction(
        self, res: Reservation, task: Task, name: str, body: dict[str, Any], *, rest: bool
    ) -> instructions.InstructionResult:
        worker = self.state.worker(res["worker_sid"])
        assert worker is not None
        try:
            return instructions.validate(
                name,
                body,
                self.core.attrs(task),
                self.core.attrs(worker),
                self._activity_exists(res["workspace_sid"]),
            )
        except instructions.InstructionError as exc:
            if rest:
                raise bad_request(
                    f"Unable to execute {name} instruction: {exc.message} (debugger {exc.code})"
                ) from None
            raise

    def _record_instruction(
        self, res: Reservation, result: instructions.InstructionResult, via: str
    ) -> None:
        log = res.setdefault("_instructions", [])
        log.append(
            {
                "instruction": result.instruction,
                "via": via,
                "accept": result.accept,
                "post_work_activity_sid": result.post_work_activity_sid,
                "would_have": result.description,
                "time": self.core.stamp().isoformat(),
            }
        )
        self.state.touch("reservation", res)

    # assignment callback replies ---------------------------------------------------------------
    def apply_reply(self, request: DeliveryRequest, parsed: ParsedReply | None) -> Applied:
        res = self.state.reservation(request.reservation_sid or "")
        if res is None:
            return Applied("ignored: the reservation no longer exists")
        if parsed is None:
            if res["reservation_status"] != "pending":
                return Applied(
                    f"callback unreachable; reservation already {res['reservation_status']}",
                    11200,
                )
            self.engine.cancel_reservation(res)
            return Applied("callback and fallback unreachable: reservation canceled", 11200)
        if parsed.action == "defer":
            return Applied(f"deferred: {parsed.message}")
        if parsed.action == "warning":
            return Applied(f"warning: {parsed.message}", parsed.code)
        body = parsed.instruction
        name = body.get("instruction")
        if res["reservation_status"] != "pending":
            return Applied(
                f"ignored {name!r}: reservation already {res['reservation_status']}",
                {"call": 40114, "redirect": 40123, "dequeue": 40135, "conference": 40136}.get(
                    str(name)
                ),
            )
        task = self._task_of(res)
        if name == "accept":
            self.engine.accept(res)
            return Applied("accepted: reservation accepted, task assigned")
        if name == "reject":
            activity_sid = body.get("activity_sid")
            activity = self.state.activity(str(activity_sid)) if activity_sid else None
            if activity is None or activity["workspace_sid"] != res["workspace_sid"]:
                self.engine.reject(res, None, restore=False)
                reason = "missing" if not activity_sid else f"invalid ({activity_sid})"
                return Applied(f"rejected; activity_sid {reason}: worker kept its activity", 40100)
            self.engine.reject(res, activity["sid"])
            return Applied(f"rejected; worker moved to {activity['friendly_name']}")
        if name in instructions.VOICE_INSTRUCTIONS:
            try:
                result = self._validate_instruction(res, task, str(name), body, rest=False)
            except instructions.InstructionError as exc:
                return Applied(f"{name} refused: {exc.message}", exc.code)
            self._record_instruction(res, result, "callback")
            if result.accept:
                self.engine.accept(res)
            return Applied(f"{name}: {result.description}")
        return Applied(f"unknown instruction {name!r}: nothing done", 55555)

    def instruction_log(self, record: Record) -> list[dict[str, Any]]:
        res = cast(Reservation, record)
        return [dict(entry) for entry in res.get("_instructions", [])]
