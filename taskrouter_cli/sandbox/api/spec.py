"""The TaskRouter v1 OpenAPI spec, compiled into the sandbox's route and parameter table.

The spec (``twilio_taskrouter_v1.json``, copied from twilio/twilio-oai and shipped as package
data) is the single source of truth for which paths exist, which methods they take, which
parameters each operation accepts (name, type, format, enum, pattern, bounds, required) and
which response schema it answers with. Nothing here knows HTTP frameworks: :func:`load_spec`
returns plain dataclasses that ``routes.py`` and ``params.py`` use.

Derived per operation:

* ``kind``: the service resource kind, from the response schema's component name
  (``taskrouter.v1.workspace.task`` → ``task``); statistics operations have no kind.
* ``statistics``: for the ``*Statistics`` operations, the service's statistics target
  (``task_queue.cumulative``, see :data:`STATISTICS_TARGETS`); their action is ``statistics``.
* ``action``: list / create / fetch / update / delete, from ``x-twilio.pathType`` + method.
* scope: the path parameters that select the parent (``WorkspaceSid`` → ``workspace_sid``); the
  instance SID is the path's ``Sid`` (``/v1/Workspaces/{Sid}`` has no parent scope).
* ``list_key``: the key of the records array in a list response (``channels`` for TaskChannels).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from taskrouter_cli.sandbox.kinds import KIND_OF_COMPONENT, KINDS

SPEC_FILE = "twilio_taskrouter_v1.json"

IMPLEMENTED_KINDS = frozenset(KINDS)
"""The resource kinds the service serves."""

STATISTICS_TARGETS = {
    "FetchWorkspaceStatistics": "workspace.statistics",
    "FetchWorkspaceRealTimeStatistics": "workspace.realtime",
    "FetchWorkspaceCumulativeStatistics": "workspace.cumulative",
    "FetchTaskQueueStatistics": "task_queue.statistics",
    "FetchTaskQueueRealTimeStatistics": "task_queue.realtime",
    "FetchTaskQueueCumulativeStatistics": "task_queue.cumulative",
    "ListTaskQueuesStatistics": "task_queues.statistics",
    "CreateTaskQueueBulkRealTimeStatistics": "task_queues.realtime",
    "FetchWorkerStatistics": "workers.statistics",
    "FetchWorkersRealTimeStatistics": "workers.realtime",
    "FetchWorkersCumulativeStatistics": "workers.cumulative",
    "FetchWorkerInstanceStatistics": "worker.statistics",
    "FetchWorkflowStatistics": "workflow.statistics",
    "FetchWorkflowRealTimeStatistics": "workflow.realtime",
    "FetchWorkflowCumulativeStatistics": "workflow.cumulative",
}
"""Statistics operation id → the target ``SandboxService.statistics`` computes."""

_COMPONENT_KINDS = KIND_OF_COMPONENT

# String-typed parameters whose description says `true`, `1` or `yes` mean true and anything
# else false; the sandbox hands them to the service as bool.
LENIENT_BOOLEANS = frozenset(
    {
        ("ListActivity", "Available"),
        ("ListWorker", "Available"),
        ("CreateTask", "IgnoreCapacity"),
        ("UpdateWorkflow", "ReEvaluateTasks"),
    }
)

PAGING_PARAMS = frozenset({"PageSize", "Page", "PageToken"})

_SNAKE_1 = re.compile(r"(.)([A-Z][a-z]+)")
_SNAKE_2 = re.compile(r"([a-z0-9])([A-Z])")


@lru_cache(maxsize=1024)
def snake_case(name: str) -> str:
    """``FriendlyName`` → ``friendly_name``; ``If-Match`` → ``if_match`` (cached: every
    parameter of every request asks)."""
    name = name.replace("-", "")
    return _SNAKE_2.sub(r"\1_\2", _SNAKE_1.sub(r"\1_\2", name)).lower()


@dataclass(frozen=True)
class ParamSpec:
    """One request parameter of one operation, as the spec declares it."""

    name: str
    """Wire name (PascalCase, or the header name)."""
    location: str
    """``query``, ``body`` or ``header``."""
    type: str
    """``string``, ``integer``, ``boolean``, ``array`` (or ``lenient-boolean``)."""
    required: bool = False
    format: str | None = None
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    item_enum: tuple[str, ...] | None = None

    @property
    def snake(self) -> str:
        return snake_case(self.name)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    action: str
    """``list``, ``create``, ``fetch``, ``update``, ``delete`` or ``other``."""
    kind: str | None
    list_key: str | None
    success_status: int
    params: dict[str, ParamSpec]
    """Query/body parameters by wire name (path parameters excluded)."""
    headers: dict[str, ParamSpec]
    path_patterns: dict[str, str | None]
    """Path parameter name → its SID pattern (None when the spec types it as a free string)."""
    response_schema: dict[str, Any]
    statistics: str | None = None
    """The statistics target of a ``*Statistics`` operation (None for the others)."""

    @property
    def implemented(self) -> bool:
        return self.kind in IMPLEMENTED_KINDS or self.statistics is not None


@dataclass
class PathTemplate:
    """One spec path with every operation it supports."""

    path: str
    segments: tuple[str, ...]
    operations: dict[str, Operation] = field(default_factory=dict)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        values: dict[str, str] = {}
        for template, actual in zip(self.segments, parts, strict=True):
            if template.startswith("{"):
                if not actual:
                    return None
                values[template[1:-1]] = actual
            elif template != actual:
                return None
        return values

    @property
    def specificity(self) -> tuple[int, ...]:
        """Literal segments beat parameters (``/Workers/Statistics`` before ``/Workers/{Sid}``)."""
        return tuple(0 if s.startswith("{") else 1 for s in self.segments)


_Literals = tuple[tuple[int, ...], dict[tuple[str, ...], "PathTemplate"]]
"""Where a group of templates has literal segments, and the templates by those segments."""


@dataclass
class Spec:
    raw: dict[str, Any]
    templates: list[PathTemplate]
    _index: dict[int, list[_Literals]] | None = field(default=None, repr=False, compare=False)

    def operations(self) -> list[Operation]:
        return [op for t in self.templates for op in t.operations.values()]

    def match(self, path: str) -> tuple[PathTemplate, dict[str, str]] | None:
        parts = path.strip("/").split("/")
        for positions, templates in self._by_shape().get(len(parts), ()):
            template = templates.get(tuple([parts[at] for at in positions]))
            if template is not None:
                values = template.match(parts)
                if values is not None:
                    return template, values
        return None

    def _by_shape(self) -> dict[int, list[_Literals]]:
        """The templates by number of segments, then by where their literal segments are (most
        specific first, as :attr:`templates`), each group a dict by those segments' text: a
        request looks up one template per group (1-3) instead of comparing ~4 (3-10 µs)."""
        if self._index is None:
            index: dict[int, dict[tuple[int, ...], dict[tuple[str, ...], PathTemplate]]] = {}
            for template in self.templates:  # most specific first
                positions = tuple(
                    at for at, segment in enumerate(template.segments) if segment[:1] != "{"
                )
                literals = tuple(template.segments[at] for at in positions)
                shapes = index.setdefault(len(template.segments), {})
                shapes.setdefault(positions, {}).setdefault(literals, template)
            self._index = {length: list(shapes.items()) for length, shapes in index.items()}
        return self._index

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations():
            if op.operation_id == operation_id:
                return op
        raise KeyError(operation_id)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow a local ``$ref`` (one level) inside the spec."""
        return _resolve(self.raw, schema)


def _resolve(raw: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    node: Any = raw
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return dict(node)


def _param_spec(
    raw: dict[str, Any],
    operation_id: str,
    name: str,
    location: str,
    schema: dict[str, Any],
    required: bool,
) -> ParamSpec:
    schema = _resolve(raw, schema)
    kind = schema.get("type", "string")
    item_enum = None
    if kind == "array":
        items = _resolve(raw, schema.get("items", {}))
        if items.get("enum"):
            item_enum = tuple(items["enum"])
    if (operation_id, name) in LENIENT_BOOLEANS:
        kind = "lenient-boolean"
    enum = schema.get("enum")
    if schema.get("format") == "http-method":
        enum = enum or ["GET", "POST"]
    return ParamSpec(
        name=name,
        location=location,
        type=kind,
        required=required,
        format=schema.get("format"),
        enum=tuple(enum) if enum else None,
        pattern=schema.get("pattern"),
        minimum=schema.get("minimum"),
        maximum=schema.get("maximum"),
        item_enum=item_enum,
    )


def _schema_kind(raw: dict[str, Any], schema: dict[str, Any]) -> tuple[str | None, str | None]:
    """(kind, list key) of a 2xx response schema."""
    ref = schema.get("$ref")
    if ref:
        return _COMPONENT_KINDS.get(ref.rsplit("/", 1)[-1]), None
    for key, prop in schema.get("properties", {}).items():
        if key == "meta" or prop.get("type") != "array":
            continue
        item_ref = prop.get("items", {}).get("$ref", "")
        return _COMPONENT_KINDS.get(item_ref.rsplit("/", 1)[-1]), key
    return None, None


def _action(path_type: str, method: str, kind: str | None, list_key: str | None) -> str:
    if kind is None:
        return "other"
    if path_type == "list":
        if method == "GET" and list_key:
            return "list"
        if method == "POST":
            return "create"
    if path_type == "instance":
        return {"GET": "fetch", "POST": "update", "DELETE": "delete"}.get(method, "other")
    return "other"


def _build_operation(
    raw: dict[str, Any], path: str, path_item: dict[str, Any], method: str
) -> Operation:
    op = path_item[method.lower()]
    operation_id = op["operationId"]
    params: dict[str, ParamSpec] = {}
    headers: dict[str, ParamSpec] = {}
    path_patterns: dict[str, str | None] = {}
    for prm in op.get("parameters", []):
        where = prm["in"]
        if where == "path":
            path_patterns[prm["name"]] = _resolve(raw, prm["schema"]).get("pattern")
            continue
        spec = _param_spec(
            raw, operation_id, prm["name"], where, prm["schema"], bool(prm.get("required"))
        )
        (headers if where == "header" else params)[prm["name"]] = spec
    body = op.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded")
    if body:
        schema = body["schema"]
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params[name] = _param_spec(raw, operation_id, name, "body", prop, name in required)
    status_text, response = next((s, r) for s, r in op["responses"].items() if s.startswith("2"))
    content = response.get("content", {}).get("application/json", {})
    response_schema = content.get("schema", {})
    kind, list_key = _schema_kind(raw, response_schema)
    if kind is None and method == "DELETE":
        kind = _delete_kind(raw, path_item)
    path_type = path_item.get("x-twilio", {}).get("pathType", "")
    statistics = STATISTICS_TARGETS.get(operation_id)
    return Operation(
        operation_id=operation_id,
        method=method,
        path=path,
        action="statistics" if statistics else _action(path_type, method, kind, list_key),
        kind=kind,
        list_key=list_key,
        success_status=int(status_text),
        params=params,
        headers=headers,
        path_patterns=path_patterns,
        response_schema=response_schema,
        statistics=statistics,
    )


def _delete_kind(raw: dict[str, Any], path_item: dict[str, Any]) -> str | None:
    """A DELETE has no response schema: take the kind from the GET of the same path."""
    get = path_item.get("get")
    if not get:
        return None
    response = get["responses"].get("200", {})
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return _schema_kind(raw, schema)[0]


def _load_raw() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(SPEC_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@lru_cache(maxsize=1)
def load_spec() -> Spec:
    """Parse the packaged spec once per process."""
    raw = _load_raw()
    templates: list[PathTemplate] = []
    for path, item in raw["paths"].items():
        template = PathTemplate(path=path, segments=tuple(path.strip("/").split("/")))
        for method in ("GET", "POST", "DELETE"):
            if method.lower() in item:
                template.operations[method] = _build_operation(raw, path, item, method)
        templates.append(template)
    templates.sort(key=lambda t: t.specificity, reverse=True)
    return Spec(raw=raw, templates=templates)
