"""Reads of the sandbox service: scopes, list selection with TaskRouter's list filters, the
Events query and the bulk statistics queue list. Nothing here changes a record."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from . import listing
from .core import Core
from .engine import Engine
from .errors import TaskRouterError, bad_request
from .events import load_event
from .kinds import KINDS
from .listing import ListPage
from .records import Reservation, Task, TaskQueue, Worker
from .resources import Resources
from .sids import is_sid
from .state import Record
from .statistics import MAX_BULK_QUEUES
from .store import EventQuery, SqliteStore
from .tasks import RESERVATION_STATUSES, TASK_STATUSES

Records = list[Record]
AnyFields = Mapping[str, object]
"""A record of any kind, read by field name (filters shared by several kinds)."""
RecordT = TypeVar("RecordT")
Tests = list[Callable[[RecordT], bool]]


def _field_equals(field: str, value: object) -> Callable[[AnyFields], bool]:
    return lambda record: record.get(field) == value


class Queries:
    def __init__(
        self, core: Core, engine: Engine, resources: Resources, store: SqliteStore
    ) -> None:
        self.core = core
        self.engine = engine
        self.resources = resources
        self.store = store
        self.state = core.state

    def workspace_sid(self, scope: dict[str, Any]) -> str:
        sid = scope.get("workspace_sid")
        if not isinstance(sid, str):
            raise bad_request("workspace_sid is missing from the scope")
        self.core.workspace(sid)
        return sid

    def parent(self, scope: dict[str, Any]) -> tuple[str, Task | Worker]:
        ws = self.workspace_sid(scope)
        if scope.get("task_sid") is not None:
            return "task", self.core.child("task", ws, str(scope["task_sid"]))
        if scope.get("worker_sid") is not None:
            return "worker", self.core.child("worker", ws, str(scope["worker_sid"]))
        raise bad_request("a task_sid or worker_sid scope is required")

    def select(self, kind: str, scope: dict[str, Any], f: dict[str, Any]) -> Records:
        if kind not in KINDS:
            raise bad_request(f"unknown resource kind {kind!r}")
        if kind == "workspace":
            items = list(self.state.records["workspace"].values())
        elif kind == "reservation":
            parent_kind, parent = self.parent(scope)
            if parent_kind == "task":
                items = self.state.reservations_of_task(parent["sid"])
            else:
                items = self.state.reservations_of_worker(parent["sid"])
        elif kind == "worker_channel":
            ws = self.workspace_sid(scope)
            worker = self.core.child("worker", ws, str(scope.get("worker_sid")))
            items = list(self.state.channels_by_worker.get(worker["sid"], {}).values())
        else:
            items = list(self.state.in_workspace(self.workspace_sid(scope), kind).values())
        keep = self._filter(kind, scope, f)
        items = [r for r in items if keep(r)]
        orderings = {
            "worker": ("DateCreated", "DateUpdated", "DateStatusChanged", "FriendlyName"),
            "task_queue": ("DateCreated", "DateUpdated", "FriendlyName"),
            "task": ("DateCreated", "Priority", "VirtualStartTime"),
        }
        return listing.order(items, f.get("ordering"), orderings.get(kind, ()))

    def _filter(
        self, kind: str, scope: dict[str, Any], f: dict[str, Any]
    ) -> Callable[[Record], bool]:
        tests: Tests[AnyFields] = []
        if "friendly_name" in f:
            name = str(f["friendly_name"]).lower()
            tests.append(lambda r: str(r.get("friendly_name", "")).lower() == name)
        if kind in ("activity", "worker") and "available" in f:
            wanted = listing.truthy(f["available"])
            tests.append(lambda r: bool(r["available"]) == wanted)
        # the kind's own filters read the kind's typed record (the tables hold that kind only)
        if kind == "worker":
            tests += cast("Tests[AnyFields]", self._worker_filters(scope, f))
        elif kind == "task_queue":
            tests += cast("Tests[AnyFields]", self._queue_filters(scope, f))
        elif kind == "task":
            tests += cast("Tests[AnyFields]", self._task_filters(f))
        elif kind == "reservation":
            tests += cast("Tests[AnyFields]", self._reservation_filters(f))
        return lambda record: all(test(record) for test in tests)

    @staticmethod
    def _reservation_filters(f: dict[str, Any]) -> Tests[Reservation]:
        tests: Tests[Reservation] = []
        if "reservation_status" in f:
            wanted_status = listing.statuses(
                f["reservation_status"], RESERVATION_STATUSES, "ReservationStatus"
            )
            tests.append(lambda r: r["reservation_status"] in wanted_status)
        if "worker_sid" in f:
            tests.append(lambda r: r["worker_sid"] == f["worker_sid"])
        return tests

    def _worker_filters(self, scope: dict[str, Any], f: dict[str, Any]) -> Tests[Worker]:
        tests: Tests[Worker] = []
        ws = self.workspace_sid(scope)
        if "activity_name" in f:
            tests.append(lambda r: r["activity_name"] == f["activity_name"])
        if "activity_sid" in f:
            tests.append(lambda r: r["activity_sid"] == f["activity_sid"])
        if "target_workers_expression" in f:
            matches = listing.expression_filter(
                f["target_workers_expression"], "TargetWorkersExpression"
            )
            tests.append(lambda r: matches(self.engine.worker_view(r)))
        queue: TaskQueue | None = None
        if "task_queue_sid" in f:
            queue = self.state.task_queue(str(f["task_queue_sid"]))
            if queue is None or queue["workspace_sid"] != ws:
                raise bad_request(f"TaskQueueSid {f['task_queue_sid']} is not a TaskQueue here")
        if "task_queue_name" in f:
            queue = next(
                (
                    q
                    for q in self.state.queues_in(ws).values()
                    if q["friendly_name"] == f["task_queue_name"]
                ),
                None,
            )
            if queue is None:
                tests.append(lambda r: False)
        if queue is not None:
            members = self.engine.members(queue)
            tests.append(lambda r: r["sid"] in members)
        return tests

    def _queue_filters(self, scope: dict[str, Any], f: dict[str, Any]) -> Tests[TaskQueue]:
        tests: Tests[TaskQueue] = []
        ws = self.workspace_sid(scope)
        if "evaluate_worker_attributes" in f:
            attrs = listing.json_object(f["evaluate_worker_attributes"], "EvaluateWorkerAttributes")

            def matches(queue: TaskQueue) -> bool:
                text = queue.get("target_workers") or ""
                if not text.strip():
                    return False
                try:
                    return bool(listing.expression_filter(text, "TargetWorkers")(attrs))
                except TaskRouterError:
                    return False

            tests.append(matches)
        if "worker_sid" in f:
            worker = self.state.worker(str(f["worker_sid"]))
            if worker is None or worker["workspace_sid"] != ws:
                raise bad_request(f"WorkerSid {f['worker_sid']} is not a Worker here")
            worker_sid = worker["sid"]
            tests.append(lambda q: worker_sid in self.engine.members(q))
        return tests

    def _task_filters(self, f: dict[str, Any]) -> Tests[Task]:
        tests: Tests[Task] = []
        if "priority" in f:
            tests.append(lambda r: r["priority"] == f["priority"])
        if "assignment_status" in f:
            wanted = listing.statuses(f["assignment_status"], TASK_STATUSES, "AssignmentStatus")
            tests.append(lambda r: r["assignment_status"] in wanted)
        for key, field in (
            ("workflow_sid", "workflow_sid"),
            ("workflow_name", "workflow_friendly_name"),
            ("task_queue_sid", "task_queue_sid"),
            ("task_queue_name", "task_queue_friendly_name"),
            ("routing_target", "routing_target"),
        ):
            if key in f:
                tests.append(_field_equals(field, f[key]))
        if "evaluate_task_attributes" in f:
            matches = listing.expression_filter(
                f["evaluate_task_attributes"], "EvaluateTaskAttributes"
            )
            tests.append(lambda r: matches(self.core.attrs(r)))
        if "has_addons" in f:
            wanted_addons = listing.truthy(f["has_addons"])
            tests.append(lambda r: (r.get("addons") not in (None, "{}", "")) == wanted_addons)
        return tests

    def events(
        self, scope: dict[str, Any], f: dict[str, Any], size: int, token: str | None
    ) -> ListPage:
        ws = self.workspace_sid(scope)
        now = self.core.now()

        def ms(value: Any, param: str) -> int:
            if not isinstance(value, datetime):
                raise bad_request(f"{param} must be a date-time")
            return int(value.timestamp() * 1000)

        start_ms = end_ms = None
        if "start_date" in f:
            start_ms = ms(f["start_date"], "StartDate")
        elif "minutes" in f:
            minutes = f["minutes"]
            if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
                raise bad_request(f"Minutes must be a positive integer; got {minutes!r}")
            try:
                start_ms = int((now - timedelta(minutes=minutes)).timestamp() * 1000)
            except OverflowError:
                raise bad_request(f"Minutes={minutes} reaches back before year 1") from None
        elif "end_date" not in f and self.core.options.events_default_minutes is not None:
            window = timedelta(minutes=self.core.options.events_default_minutes)
            start_ms = int((now - window).timestamp() * 1000)
        if "end_date" in f:
            end_ms = ms(f["end_date"], "EndDate")
        channels = None
        if "task_channel" in f:
            channel = self.resources.find_task_channel(ws, str(f["task_channel"]))
            channels = [channel["unique_name"]] if channel else [str(f["task_channel"])]
        for key, kind in (
            ("task_sid", "task"),
            ("worker_sid", "worker"),
            ("reservation_sid", "reservation"),
            ("task_queue_sid", "task_queue"),
            ("workflow_sid", "workflow"),
            ("sid", "event"),
        ):
            prefix = KINDS[kind].prefix
            if key in f and not is_sid(f[key], prefix):
                raise bad_request(f"{key} {f[key]!r} is not a valid {prefix} SID")
        query = EventQuery(
            workspace_sid=ws,
            event_type=f.get("event_type"),
            start_ms=start_ms,
            end_ms=end_ms,
            task_sid=f.get("task_sid"),
            worker_sid=f.get("worker_sid"),
            reservation_sid=f.get("reservation_sid"),
            task_queue_sid=f.get("task_queue_sid"),
            workflow_sid=f.get("workflow_sid"),
            task_channel=channels,
            sid=f.get("sid"),
        )
        offset = listing.decode_token(token)
        found = self.store.query_events(query, offset, size + 1)
        return ListPage(
            records=[load_event(stored) for stored in found[:size]],
            page=offset // size,
            next_page_token=listing.encode_token(offset + size) if len(found) > size else None,
            previous_page_token=listing.encode_token(max(0, offset - size), "PB")
            if offset
            else None,
            page_size=size,
        )

    def bulk_queues(self, ws: str, sids: Any) -> Records:
        if (
            not isinstance(sids, list)
            or not 1 <= len(sids) <= MAX_BULK_QUEUES
            or not all(isinstance(s, str) for s in sids)
        ):
            raise bad_request(
                f"TaskQueueSids must be a list of 1 to {MAX_BULK_QUEUES} TaskQueue SIDs"
            )
        queues: list[TaskQueue] = []
        for sid in sids:
            queue = self.state.task_queue(sid)
            if queue is None or queue["workspace_sid"] != ws:
                raise bad_request(f"TaskQueue {sid} is not a TaskQueue of Workspace {ws}")
            queues.append(queue)
        return cast(Records, queues)
