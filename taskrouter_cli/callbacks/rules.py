"""Rules files: TaskRouter expressions over a callback's attributes, mapped to replies.

A rules file (TOML or JSON) lists rules; the first rule whose ``when`` expression matches wins,
and ``default`` (itself defaulting to ``defer``) answers when none matches::

    # rules.toml
    [[rules]]
    name = "Spanish to Alice"
    when = 'selected_language == "es"'
    instruction = "accept"

    [[rules]]
    when = 'type == "spam"'
    instruction = "reject"
    activity = "Offline"          # a name or a WA SID, resolved once at start

    [default]
    instruction = "defer"

The JSON form is the same document: ``{"rules": [{"when": ..., "instruction": ...}],
"default": {...}}``. Each rule takes ``name`` (optional), ``when`` (required) and the reply's
keys (see :mod:`taskrouter_cli.callbacks.instructions`).

What ``when`` sees (the workflow-filter convention, plus prefixes): bare keys are the task's
attributes; ``task.<key>`` is the same; ``worker.<key>`` is the worker's attributes;
``task.sid``/``task.priority``/``task.age``/``task.queue_sid``/``worker.sid`` are the callback's
TaskSid/TaskPriority/TaskAge/TaskQueueSid/WorkerSid. A task attribute literally called ``task``
or ``worker`` shadows the prefix.

Everything is checked at start: a bad file is one error naming the file, the line and the
problem (TOML/JSON syntax, an unknown key, an expression error with its column, a reply that
TaskRouter would refuse).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskrouter_cli.callbacks.instructions import (
    DEFER,
    ActivityLookup,
    InstructionError,
    Reply,
    reply_from_document,
)
from taskrouter_cli.errors import TrcliError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

RULE_KEYS = frozenset({"name", "when"})
TOP_LEVEL_KEYS = frozenset({"rules", "default"})


class RulesError(UsageError):
    """A rules file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Rule:
    name: str
    when: str
    expression: Any  # routing.expressions.Expression
    reply: Reply
    line: int | None = None

    def matches(self, context: Mapping[str, Any]) -> bool:
        return bool(self.expression.evaluate(context))


@dataclass(frozen=True)
class RuleSet:
    """Ordered rules and the default reply; :meth:`choose` picks the reply for a callback."""

    rules: tuple[Rule, ...]
    default: Reply = DEFER
    source: str = ""

    def choose(self, context: Mapping[str, Any]) -> tuple[Reply, str | None]:
        """The first matching rule's reply and name, else the default reply and ``None``."""
        for rule in self.rules:
            if rule.matches(context):
                return rule.reply, rule.name
        return self.default, None


def evaluation_context(
    task_attributes: Mapping[str, Any],
    worker_attributes: Mapping[str, Any],
    params: Mapping[str, str],
) -> dict[str, Any]:
    """The mapping a rule's ``when`` is evaluated against (see the module docstring)."""
    task: dict[str, Any] = dict(task_attributes)
    task.setdefault("sid", params.get("TaskSid"))
    task.setdefault("queue_sid", params.get("TaskQueueSid"))
    for key, param in (("priority", "TaskPriority"), ("age", "TaskAge")):
        raw = params.get(param)
        if raw is not None and key not in task:
            try:
                task[key] = int(raw)
            except ValueError:
                task[key] = raw
    worker: dict[str, Any] = dict(worker_attributes)
    worker.setdefault("sid", params.get("WorkerSid"))
    context: dict[str, Any] = dict(task_attributes)
    context.setdefault("task", task)
    context.setdefault("worker", worker)
    return context


def _load_document(path: Path, text: str) -> dict[str, Any]:
    is_json = path.suffix.lower() == ".json" or (
        path.suffix.lower() != ".toml" and text.lstrip().startswith("{")
    )
    if is_json:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RulesError(
                f"{path} line {exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"
            ) from None
    else:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(f"{path}: not valid TOML ({exc})") from None
    if not isinstance(document, dict):
        raise RulesError(f"{path}: the file must hold a table/object with a 'rules' list")
    return document


def _rule_lines(text: str, count: int, is_toml: bool) -> list[int | None]:
    """Best-effort line numbers (1-based) of each rule's ``when`` key, in file order."""
    pattern = re.compile(r"^[ \t]*when[ \t]*=" if is_toml else r'"when"\s*:', re.MULTILINE)
    lines = [text.count("\n", 0, match.start()) + 1 for match in pattern.finditer(text)]
    padded: list[int | None] = list(lines[:count])
    return padded + [None] * (count - len(padded))


def _where(path: Path, line: int | None) -> str:
    return f"{path} line {line}" if line else str(path)


def parse_rules(
    text: str,
    path: Path,
    *,
    activity_lookup: ActivityLookup | None = None,
) -> RuleSet:
    """Parse and check a rules document; raises :class:`RulesError` naming file and line."""
    from taskrouter_cli.routing.expressions import ExpressionError, parse_expression

    document = _load_document(path, text)
    unknown = sorted(set(document) - TOP_LEVEL_KEYS)
    if unknown:
        raise RulesError(
            f"{path}: unknown top-level key '{unknown[0]}'",
            "A rules file holds a 'rules' list and an optional 'default' table",
        )
    raw_rules = document.get("rules", [])
    if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
        raise RulesError(f"{path}: 'rules' must be a list of tables ([[rules]] in TOML)")
    is_toml = not text.lstrip().startswith("{")
    lines = _rule_lines(text, len(raw_rules), is_toml)
    rules: list[Rule] = []
    for index, raw in enumerate(raw_rules, start=1):
        line = lines[index - 1]
        where = _where(path, line)
        named = raw.get("name")
        label = f"rule {index}" + (f" ({named!r})" if isinstance(named, str) else "")
        when = raw.get("when")
        if not isinstance(when, str) or not when.strip():
            raise RulesError(
                f"{where}: {label} has no 'when' expression",
                "Add e.g. when = 'selected_language == \"es\"' (use '1==1' to match everything)",
            )
        try:
            expression = parse_expression(when)
        except ExpressionError as exc:
            raise RulesError(
                f"{where}: {label}: {exc.message} at column {exc.position + 1} of '{when}'"
            ) from None
        reply_document = {k: v for k, v in raw.items() if k not in RULE_KEYS}
        try:
            reply = reply_from_document(reply_document, activity_lookup=activity_lookup)
        except TrcliError as exc:
            raise RulesError(f"{where}: {label}: {exc.one_line()}") from None
        name = raw.get("name")
        rules.append(
            Rule(
                name=name if isinstance(name, str) and name else f"rule {index}",
                when=when,
                expression=expression,
                reply=reply,
                line=line,
            )
        )
    default = DEFER
    raw_default = document.get("default")
    if raw_default is not None:
        if not isinstance(raw_default, dict):
            raise RulesError(f"{path}: 'default' must be a table, e.g. {{instruction = 'defer'}}")
        if "when" in raw_default:
            raise RulesError(f"{path}: 'default' takes no 'when' (it answers when no rule matches)")
        try:
            default = reply_from_document(raw_default, activity_lookup=activity_lookup)
        except TrcliError as exc:
            raise RulesError(f"{path}: default: {exc.one_line()}") from None
    if not rules:
        raise RulesError(
            f"{path}: no rules",
            "Add at least one [[rules]] table with 'when' and 'instruction'",
        )
    return RuleSet(tuple(rules), default, str(path))


def load_rules(path: Path, *, activity_lookup: ActivityLookup | None = None) -> RuleSet:
    """Read and parse a rules file (``.toml`` or ``.json``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(f"Rules file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"Cannot read rules file {path}: {exc}") from None
    return parse_rules(text, path, activity_lookup=activity_lookup)


__all__ = [
    "InstructionError",
    "Rule",
    "RuleSet",
    "RulesError",
    "evaluation_context",
    "load_rules",
    "parse_rules",
]
