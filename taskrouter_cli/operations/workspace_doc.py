"""A workspace as code: the file ``trcli workspace export`` writes and ``apply`` reads.

Everything refers to everything else by friendly name, never by SID, so a file exported from
the sandbox applies to a live account and back::

    {
      "workspace": {"name": "Support", "multi_task_enabled": false,
                    "default_activity": "Offline", "timeout_activity": "Offline",
                    "prioritize_queue_order": "FIFO"},
      "activities": [{"name": "Offline", "available": false}, ...],
      "task_channels": [{"unique_name": "voice", "name": "Voice"}, ...],
      "queues": [{"name": "Spanish", "target_workers": "languages HAS \\"es\\"",
                  "reservation_activity": "Reserved", "assignment_activity": "Busy",
                  "max_reserved_workers": 1, "task_order": "FIFO"}, ...],
      "workers": [{"name": "Alice", "activity": "Offline", "attributes": {...},
                   "channels": {"chat": 3}}, ...],
      "workflows": [{"name": "Inbound", "task_reservation_timeout": 120,
                     "configuration": {"task_routing": {"filters": [
                        {"expression": "...", "targets": [{"queue": "Spanish"}]}]}}}]
    }

The same document in TOML uses ``[workspace]``, ``[[activities]]`` ... A field that is left out
is not managed (apply leaves it as it is); a list that is left out is not managed either. A
worker's ``activity`` is only used when apply creates the worker (an existing worker's activity
is state, not set-up); its ``channels`` give the capacity per task channel where it is not 1
(multi-tasking). TOML has no null: attributes or a configuration holding one are written
as a JSON string, which the loader also accepts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskrouter_cli.errors import UsageError

__all__ = [
    "ActivityDoc",
    "QueueDoc",
    "TaskChannelDoc",
    "WorkerDoc",
    "WorkflowDoc",
    "WorkspaceDoc",
    "dump_document",
    "load_document",
    "parse_document",
]

FORMATS = ("json", "toml")


@dataclass(frozen=True)
class ActivityDoc:
    name: str
    available: bool


@dataclass(frozen=True)
class TaskChannelDoc:
    unique_name: str
    name: str | None = None
    channel_optimized_routing: bool | None = None


@dataclass(frozen=True)
class QueueDoc:
    name: str
    target_workers: str | None = None
    reservation_activity: str | None = None
    assignment_activity: str | None = None
    max_reserved_workers: int | None = None
    task_order: str | None = None


@dataclass(frozen=True)
class WorkerDoc:
    name: str
    attributes: Mapping[str, Any] | None = None
    activity: str | None = None
    """The activity a new worker starts in (an existing worker's activity is left alone)."""
    channels: Mapping[str, int] | None = None
    """Capacity per task channel (unique name) where it is not 1, for multi-tasking."""


@dataclass(frozen=True)
class WorkflowDoc:
    name: str
    configuration: Mapping[str, Any] | None = None
    """The routing configuration with queue friendly names where TaskRouter has SIDs."""
    task_reservation_timeout: int | None = None
    assignment_callback_url: str | None = None
    fallback_assignment_callback_url: str | None = None


@dataclass(frozen=True)
class WorkspaceDoc:
    name: str
    multi_task_enabled: bool | None = None
    default_activity: str | None = None
    timeout_activity: str | None = None
    prioritize_queue_order: str | None = None
    event_callback_url: str | None = None
    events_filter: str | None = None
    activities: tuple[ActivityDoc, ...] | None = None
    task_channels: tuple[TaskChannelDoc, ...] | None = None
    queues: tuple[QueueDoc, ...] | None = None
    workers: tuple[WorkerDoc, ...] | None = None
    workflows: tuple[WorkflowDoc, ...] | None = None
    source: str = field(default="the file", compare=False)
    """Where it was read from (named in error messages)."""

    def renamed(self, name: str) -> WorkspaceDoc:
        from dataclasses import replace

        return replace(self, name=name)


# --------------------------------------------------------------------------------------------
# Reading


class _Reader:
    """Turns parsed JSON/TOML into typed records; every problem names its place in the file."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> UsageError:
        return UsageError(
            f"{self.source}: {path}: {problem}",
            "Fix the file (see 'trcli workspace export' for the format)",
        )

    def table(self, value: Any, path: str, allowed: Iterable[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "must be an object (a table)")
        allowed = tuple(allowed)
        for key in value:
            if key not in allowed:
                raise self.fail(f"{path}.{key}", f"unknown field (expected: {', '.join(allowed)})")
        return value

    def text(self, data: Mapping[str, Any], key: str, path: str, required: bool = False) -> Any:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(f"{path}.{key}", "missing")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(f"{path}.{key}", "must be a non-empty string")
        return value

    def flag(self, data: Mapping[str, Any], key: str, path: str, required: bool = False) -> Any:
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, bool):
            raise self.fail(f"{path}.{key}", "must be true or false")
        return value

    def number(self, data: Mapping[str, Any], key: str, path: str) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise self.fail(f"{path}.{key}", "must be a positive integer")
        return value

    def choice(
        self, data: Mapping[str, Any], key: str, path: str, choices: tuple[str, ...]
    ) -> str | None:
        value = self.text(data, key, path)
        if value is not None and value not in choices:
            raise self.fail(f"{path}.{key}", f"must be one of {', '.join(choices)}")
        return value

    def json_object(self, data: Mapping[str, Any], key: str, path: str) -> Any:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as error:
                raise self.fail(f"{path}.{key}", f"is a string but not JSON ({error})") from None
        if not isinstance(value, dict):
            raise self.fail(f"{path}.{key}", "must be an object")
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise self.fail(
                f"{path}.{key}", "must hold JSON values only (TOML dates and times are not)"
            ) from None
        return value

    def items(self, document: Mapping[str, Any], key: str, id_field: str) -> list[Any] | None:
        value = document.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.fail(key, "must be a list")
        seen: dict[str, int] = {}
        for index, item in enumerate(value):
            if isinstance(item, dict) and isinstance(item.get(id_field), str):
                folded = item[id_field].casefold()
                if folded in seen:
                    raise self.fail(
                        f"{key}[{index}].{id_field}",
                        f"'{item[id_field]}' is also {key}[{seen[folded]}]"
                        " (names are case-insensitive)",
                    )
                seen[folded] = index
        return value

    def document(self, raw: Any) -> WorkspaceDoc:
        top = self.table(
            raw,
            "(top level)",
            ("workspace", "activities", "task_channels", "queues", "workers", "workflows"),
        )
        if "workspace" not in top:
            raise self.fail("workspace", "missing (a table with at least the workspace's name)")
        ws = self.table(
            top["workspace"],
            "workspace",
            (
                "name",
                "multi_task_enabled",
                "default_activity",
                "timeout_activity",
                "prioritize_queue_order",
                "event_callback_url",
                "events_filter",
            ),
        )
        activities = self.items(top, "activities", "name")
        channels = self.items(top, "task_channels", "unique_name")
        queues = self.items(top, "queues", "name")
        workers = self.items(top, "workers", "name")
        workflows = self.items(top, "workflows", "name")
        return WorkspaceDoc(
            name=self.text(ws, "name", "workspace", required=True),
            multi_task_enabled=self.flag(ws, "multi_task_enabled", "workspace"),
            default_activity=self.text(ws, "default_activity", "workspace"),
            timeout_activity=self.text(ws, "timeout_activity", "workspace"),
            prioritize_queue_order=self.choice(
                ws, "prioritize_queue_order", "workspace", ("FIFO", "LIFO")
            ),
            event_callback_url=self.text(ws, "event_callback_url", "workspace"),
            events_filter=self.text(ws, "events_filter", "workspace"),
            activities=None
            if activities is None
            else tuple(self.activity(a, f"activities[{i}]") for i, a in enumerate(activities)),
            task_channels=None
            if channels is None
            else tuple(self.channel(c, f"task_channels[{i}]") for i, c in enumerate(channels)),
            queues=None
            if queues is None
            else tuple(self.queue(q, f"queues[{i}]") for i, q in enumerate(queues)),
            workers=None
            if workers is None
            else tuple(self.worker(w, f"workers[{i}]") for i, w in enumerate(workers)),
            workflows=None
            if workflows is None
            else tuple(self.workflow(w, f"workflows[{i}]") for i, w in enumerate(workflows)),
            source=self.source,
        )

    def activity(self, raw: Any, path: str) -> ActivityDoc:
        data = self.table(raw, path, ("name", "available"))
        return ActivityDoc(
            self.text(data, "name", path, True), self.flag(data, "available", path, True)
        )

    def channel(self, raw: Any, path: str) -> TaskChannelDoc:
        data = self.table(raw, path, ("unique_name", "name", "channel_optimized_routing"))
        return TaskChannelDoc(
            unique_name=self.text(data, "unique_name", path, True),
            name=self.text(data, "name", path),
            channel_optimized_routing=self.flag(data, "channel_optimized_routing", path),
        )

    def queue(self, raw: Any, path: str) -> QueueDoc:
        data = self.table(
            raw,
            path,
            (
                "name",
                "target_workers",
                "reservation_activity",
                "assignment_activity",
                "max_reserved_workers",
                "task_order",
            ),
        )
        target_workers = data.get("target_workers")
        if target_workers is not None and not isinstance(target_workers, str):
            raise self.fail(f"{path}.target_workers", "must be a string (an expression)")
        return QueueDoc(
            name=self.text(data, "name", path, True),
            target_workers=target_workers,
            reservation_activity=self.text(data, "reservation_activity", path),
            assignment_activity=self.text(data, "assignment_activity", path),
            max_reserved_workers=self.number(data, "max_reserved_workers", path),
            task_order=self.choice(data, "task_order", path, ("FIFO", "LIFO")),
        )

    def worker(self, raw: Any, path: str) -> WorkerDoc:
        data = self.table(raw, path, ("name", "activity", "attributes", "channels"))
        channels = data.get("channels")
        if channels is not None:
            channels = self.table(
                channels, f"{path}.channels", channels.keys() if isinstance(channels, dict) else ()
            )
            for unique_name in channels:
                self.number(channels, unique_name, f"{path}.channels")
        return WorkerDoc(
            name=self.text(data, "name", path, True),
            attributes=self.json_object(data, "attributes", path),
            activity=self.text(data, "activity", path),
            channels=channels,
        )

    def workflow(self, raw: Any, path: str) -> WorkflowDoc:
        data = self.table(
            raw,
            path,
            (
                "name",
                "configuration",
                "task_reservation_timeout",
                "assignment_callback_url",
                "fallback_assignment_callback_url",
            ),
        )
        return WorkflowDoc(
            name=self.text(data, "name", path, True),
            configuration=self.json_object(data, "configuration", path),
            task_reservation_timeout=self.number(data, "task_reservation_timeout", path),
            assignment_callback_url=self.text(data, "assignment_callback_url", path),
            fallback_assignment_callback_url=self.text(
                data, "fallback_assignment_callback_url", path
            ),
        )


def parse_document(raw: Any, source: str = "the file") -> WorkspaceDoc:
    """Typed records from parsed JSON or TOML; a problem is a UsageError naming its place."""
    return _Reader(source).document(raw)


def format_of(path: str) -> str:
    return "toml" if path.lower().endswith(".toml") else "json"


def load_document(path: str) -> WorkspaceDoc:
    """Read a workspace file (TOML when the name ends in .toml, JSON otherwise)."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"File not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"Cannot read {path}: {error}") from None
    if format_of(path) == "toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on Python 3.10 only
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
        try:
            raw: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise UsageError(f"{path}: not valid TOML: {error}") from None
    else:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise UsageError(
                f"{path}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
            ) from None
    return parse_document(raw, path)


# --------------------------------------------------------------------------------------------
# Writing


def _without_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _has_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, Mapping):
        return any(_has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    return False


def document_to_data(doc: WorkspaceDoc) -> dict[str, Any]:
    """The file's content as plain data (fields that are not managed are left out)."""
    data: dict[str, Any] = {
        "workspace": _without_none(
            {
                "name": doc.name,
                "multi_task_enabled": doc.multi_task_enabled,
                "default_activity": doc.default_activity,
                "timeout_activity": doc.timeout_activity,
                "prioritize_queue_order": doc.prioritize_queue_order,
                "event_callback_url": doc.event_callback_url,
                "events_filter": doc.events_filter,
            }
        )
    }
    for key, items in (
        ("activities", doc.activities),
        ("task_channels", doc.task_channels),
        ("queues", doc.queues),
        ("workers", doc.workers),
        ("workflows", doc.workflows),
    ):
        if items is not None:
            data[key] = [_without_none(vars(item)) for item in items]
    return data


def dump_document(doc: WorkspaceDoc, fmt: str = "json") -> str:
    """The file's text in ``fmt`` (``json`` or ``toml``)."""
    data = document_to_data(doc)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    import tomli_w

    for key, json_field in (("workers", "attributes"), ("workflows", "configuration")):
        for item in data.get(key, []):
            if json_field in item and _has_null(item[json_field]):
                item[json_field] = json.dumps(item[json_field])
    # [workspace] first, then one [[list]] table per item (tomli_w alone would put short lists
    # inline above [workspace]); an item's objects follow it as [list.field] tables.
    parts = [tomli_w.dumps({"workspace": data.pop("workspace")})]
    for key, items in data.items():
        for item in items:
            simple = {k: v for k, v in item.items() if not isinstance(v, dict)}
            text = f"[[{key}]]\n" + tomli_w.dumps(simple)
            for field_name, value in item.items():
                if isinstance(value, dict):
                    text += "\n" + tomli_w.dumps({key: {field_name: value}})
            parts.append(text)
    return "\n".join(parts)
