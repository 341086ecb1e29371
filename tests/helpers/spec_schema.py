"""Validate sandbox responses against the response schemas of the TaskRouter OpenAPI spec.

OpenAPI 3.0 schemas are turned into JSON Schema (draft 2020-12) for ``jsonschema``:

* ``nullable: true`` → the type also admits ``null`` (and ``null`` joins an ``enum``);
* ``$ref: #/components/schemas/X`` → ``#/$defs/X`` with every component copied into ``$defs``;
* formats are checked: ``date-time`` must be TaskRouter's ``YYYY-MM-DDTHH:MM:SSZ`` (the only
  shape the twilio SDK parses into a datetime), ``uri`` an absolute http(s) URL, ``uri-map`` an
  object whose values are such URLs (or null);
* strict by default: objects with declared ``properties`` admit no other keys, so a field the
  spec does not know fails the check.

Paths are matched against the spec's path templates here, independently of the sandbox's own
router, so a routing bug in the sandbox cannot hide a schema mismatch.
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema

SPEC_PATH = (
    Path(__file__).resolve().parents[2]
    / "taskrouter_cli"
    / "sandbox"
    / "api"
    / "twilio_taskrouter_v1.json"
)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "format": "uri"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "details": {"type": "object"},
    },
    "additionalProperties": False,
}

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class SpecViolation(AssertionError):
    """A response that does not match the spec."""


@lru_cache(maxsize=1)
def load_raw_spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return data


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(_DATE_TIME.match(value))

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        return _is_uri(value)

    @checker.checks("uri-map")
    def _uri_map(value: object) -> bool:
        if not isinstance(value, dict):
            return True
        return all(v is None or (isinstance(v, str) and _is_uri(v)) for v in value.values())

    return checker


FORMAT_CHECKER = _format_checker()


def to_json_schema(node: Any, *, strict: bool = True) -> Any:
    """One OpenAPI 3.0 schema node → JSON Schema (recursively)."""
    if isinstance(node, list):
        return [to_json_schema(item, strict=strict) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("nullable", "example", "examples", "x-twilio", "description", "default"):
            continue
        if key == "$ref" and isinstance(value, str):
            out["$ref"] = value.replace("#/components/schemas/", "#/$defs/")
        elif key == "properties":
            out["properties"] = {
                name: to_json_schema(prop, strict=strict) for name, prop in value.items()
            }
        elif key in ("items", "additionalProperties", "not"):
            out[key] = to_json_schema(value, strict=strict)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(v, strict=strict) for v in value]
        else:
            out[key] = copy.deepcopy(value)
    if node.get("nullable"):
        if "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
        elif "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    if strict and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@lru_cache(maxsize=1)
def _defs() -> dict[str, Any]:
    schemas = load_raw_spec()["components"]["schemas"]
    return {name: to_json_schema(schema) for name, schema in schemas.items()}


@lru_cache(maxsize=1)
def _templates() -> list[tuple[re.Pattern[str], str, int]]:
    compiled = []
    for path in load_raw_spec()["paths"]:
        literal = sum(1 for seg in path.split("/") if seg and not seg.startswith("{"))
        regex = "^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"
        compiled.append((re.compile(regex), path, literal))
    compiled.sort(key=lambda item: -item[2])
    return compiled


def match_path(path: str) -> str | None:
    """The spec path template of a concrete path (literal segments win), or None."""
    for regex, template, _ in _templates():
        if regex.match(path):
            return template
    return None


def response_schema(method: str, template: str, status: int) -> dict[str, Any] | None:
    operation = load_raw_spec()["paths"][template].get(method.lower())
    if operation is None:
        return None
    response = operation["responses"].get(str(status))
    if response is None:
        return None
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    return {"$defs": _defs(), **to_json_schema(schema)}


def validate_response(method: str, url: str, status: int, text: str) -> str:
    """Check one response; returns what was checked (``"ListTask 200"``-like) or raises."""
    path = urlsplit(url).path
    body: Any = None
    if text:
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise SpecViolation(
                f"{method} {path} → {status}: body is not JSON: {text[:200]!r}"
            ) from exc
    if status >= 400:
        _check(ERROR_SCHEMA, body, f"{method} {path} → {status} (error body)")
        if body["status"] != status:
            raise SpecViolation(f"{method} {path}: body status {body['status']} != HTTP {status}")
        return f"error {status}"
    template = match_path(path)
    if template is None:
        raise SpecViolation(f"{method} {path} → {status}: path not in the spec")
    operation = load_raw_spec()["paths"][template].get(method.lower())
    if operation is None:
        raise SpecViolation(f"{method} {template}: method not in the spec")
    if str(status) not in operation["responses"]:
        raise SpecViolation(
            f"{method} {template}: status {status} not in the spec "
            f"({', '.join(operation['responses'])})"
        )
    validator = _validator(method, template, status)
    if validator is None:
        if text:
            raise SpecViolation(f"{method} {template} → {status}: the spec declares no body")
        return f"{operation['operationId']} {status}"
    _report(validator, body, f"{method} {template} → {status}")
    return f"{operation['operationId']} {status}"


@lru_cache(maxsize=256)
def _validator(method: str, template: str, status: int) -> jsonschema.Draft202012Validator | None:
    schema = response_schema(method, template, status)
    if schema is None:
        return None
    return jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def _check(schema: dict[str, Any], body: Any, where: str) -> None:
    _report(jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER), body, where)


def _report(validator: jsonschema.Draft202012Validator, body: Any, where: str) -> None:
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [
            f"  at /{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:300]}"
            for e in errors[:10]
        ]
        raise SpecViolation(f"{where} does not match the spec:\n" + "\n".join(lines))
