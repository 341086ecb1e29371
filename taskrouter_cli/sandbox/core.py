"""Context shared by the service's parts: state, clock, options, events and the outbox of
callbacks to send once the current operation is committed."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, cast, overload

from .clock import Clock
from .dispatch import DeliveryRequest
from .errors import not_found
from .events import (
    EventFacts,
    callback_params,
    events_filter_allows,
    public_event,
    stored_event,
)
from .kinds import KINDS
from .options import SandboxOptions
from .records import Task, TaskQueue, Worker, Workflow, Workspace
from .sids import new_sid
from .state import Record, State

ATTRIBUTE_CACHE_SIZE = 2_048
"""Parsed attributes kept by :meth:`Core.attrs` (least recently used dropped first). Unbounded,
the cache held ~450 bytes for every task ever routed: 45 MB of a sandbox with 100,000 tasks.
An entry is used while its record's ``attributes`` string is the same object, i.e. while the
record is held whole (``task_table.HOT_SIZE`` tasks), so a larger cache gains nothing."""


class Core:
    def __init__(
        self, state: State, clock: Clock, options: SandboxOptions, account_sid: str
    ) -> None:
        self.state = state
        self.clock = clock
        self.options = options
        self.account_sid = account_sid
        self.outbox: list[DeliveryRequest] = []
        self._attributes: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()
        self.attribute_cache_size = ATTRIBUTE_CACHE_SIZE

    # time ------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def stamp(self) -> datetime:
        """Now at second precision (what records show)."""
        return self.clock.now().replace(microsecond=0)

    # records ---------------------------------------------------------------------------------
    def attrs(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record's ``attributes`` parsed (read-only; cached per SID while the text is
        unchanged, for the :data:`ATTRIBUTE_CACHE_SIZE` records used last)."""
        text = record.get("attributes") or "{}"
        sid = record["sid"]
        cache = self._attributes
        cached = cache.get(sid)
        if cached is not None and cached[0] is text:
            cache.move_to_end(sid)
            return cached[1]
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = {}
        if not isinstance(parsed, dict):
            parsed = {}
        cache[sid] = (text, parsed)
        cache.move_to_end(sid)
        if len(cache) > self.attribute_cache_size:
            cache.popitem(last=False)
        return parsed

    def clear_attributes(self) -> None:
        """Forget every parsed attributes (after the records were reloaded)."""
        self._attributes.clear()

    def forget(self, sid: str) -> None:
        self._attributes.pop(sid, None)

    def workspace(self, sid: str) -> Workspace:
        record = self.state.get("workspace", sid)
        if record is None:
            raise not_found(f"/v1/Workspaces/{sid}")
        return cast(Workspace, record)

    @overload
    def child(self, kind: Literal["task"], workspace_sid: str, sid: str) -> Task: ...
    @overload
    def child(self, kind: Literal["worker"], workspace_sid: str, sid: str) -> Worker: ...
    @overload
    def child(self, kind: Literal["task_queue"], workspace_sid: str, sid: str) -> TaskQueue: ...
    @overload
    def child(self, kind: Literal["workflow"], workspace_sid: str, sid: str) -> Workflow: ...
    def child(
        self, kind: str, workspace_sid: str, sid: str
    ) -> Task | Worker | TaskQueue | Workflow:
        """The ``kind`` record ``sid`` of the workspace, typed (404 when it is missing or
        belongs to another workspace)."""
        return cast(
            "Task | Worker | TaskQueue | Workflow", self.child_record(kind, workspace_sid, sid)
        )

    def child_record(self, kind: str, workspace_sid: str, sid: str) -> Record:
        """:meth:`child` of any kind, untyped (for the service, which serves every kind)."""
        record = self.state.get(kind, sid)
        if record is None or record.get("workspace_sid") != workspace_sid:
            raise not_found(f"/v1/Workspaces/{workspace_sid}/{KINDS[kind].collection}/{sid}")
        return record

    # events ----------------------------------------------------------------------------------
    def emit(
        self,
        workspace: Workspace,
        event_type: str,
        resource_type: str,
        resource_sid: str,
        description: str,
        data: dict[str, Any],
        *,
        actor_type: str = "workspace",
        actor_sid: str | None = None,
    ) -> None:
        """Store an Event, and hand it to the foreground log and the workspace's event
        callback when they want it (only then is the public record built)."""
        facts = EventFacts(
            sid=new_sid("EV"),
            account_sid=self.account_sid,
            workspace=workspace,
            event_type=event_type,
            resource_type=resource_type,
            resource_sid=resource_sid,
            description=description,
            data=data,
            now=self.now(),
            actor_type=actor_type,
            actor_sid=actor_sid,
        )
        self.state.append_event(stored_event(facts))
        url = workspace.get("event_callback_url")
        deliver = bool(url) and events_filter_allows(workspace.get("events_filter"), event_type)
        if self.options.on_event is None and not deliver:
            return
        event = public_event(facts)
        if self.options.on_event is not None:
            self.options.on_event(cast(Record, event))
        if deliver:
            self.outbox.append(
                DeliveryRequest(
                    kind="event",
                    url=str(url),
                    params=callback_params(event),
                    timeout=self.options.event_callback_timeout,
                    workspace_sid=workspace["sid"],
                    event_type=event_type,
                )
            )
