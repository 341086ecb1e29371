"""Assignment-callback replies: build them from options or rules, and check them before serving.

A reply is what ``trcli serve`` answers to TaskRouter's assignment callback (behaviour doc §4.4,
§4.5). Every reply is built and checked once, at start, and its JSON body is kept as bytes, so
a bad reply is a start-up error and never a TaskRouter debugger alert (40000/40001/40005/40100/
55555) at run time.

Instructions and their keys (TaskRouter's JSON names)::

    defer      {}                                   nothing happens; accept later through REST
    accept     {"instruction": "accept"}
    reject     activity_sid*                        the worker's new Activity (WA...)
    dequeue    from*, to, post_work_activity_sid, record, timeout, status_callback_url,
               status_callback_events
    call       from*, url*, to, accept, record, timeout, status_callback_url
    redirect   call_sid*, url*, accept

Choices where TaskRouter's docs are silent or contradict themselves (documented here on purpose):

* ``reject`` requires ``activity_sid``. The docs mark it required on one line and optional on
  the next; without it the worker stays available and is offered the same task again at once,
  and TaskRouter raises debugger alert 40100. Refusing to start is the friendlier failure.
* ``dequeue`` requires ``from``, as in the tutorial (Twilio can fall back to the dialled number
  for ``<Enqueue>`` tasks, but a learner never means to rely on that).
* ``accept`` for ``call``/``redirect`` is sent only when given (TaskRouter's default is false).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from taskrouter_cli.errors import UsageError
from taskrouter_cli.sids import is_sid

INSTRUCTIONS = ("defer", "accept", "reject", "dequeue", "call", "redirect")

RECORD_VALUES = ("record-from-answer", "do-not-record")
STATUS_CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")
MAX_DIAL_TIMEOUT = 999

# instruction -> (required keys, optional keys), in TaskRouter's JSON names.
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "defer": ((), ()),
    "accept": ((), ()),
    "reject": (("activity_sid",), ()),
    "dequeue": (
        ("from",),
        (
            "to",
            "post_work_activity_sid",
            "record",
            "timeout",
            "status_callback_url",
            "status_callback_events",
        ),
    ),
    "call": (("from", "url"), ("to", "accept", "record", "timeout", "status_callback_url")),
    "redirect": (("call_sid", "url"), ("accept",)),
}

# JSON key -> the `trcli serve` option that sets it (for error messages).
OPTION_FOR_KEY = {
    "activity_sid": "--activity",
    "from": "--from",
    "to": "--to",
    "url": "--url",
    "post_work_activity_sid": "--post-work-activity",
    "record": "--record",
    "timeout": "--timeout",
    "status_callback_url": "--status-callback-url",
    "status_callback_events": "--status-callback-events",
    "call_sid": "--call-sid",
    "accept": "--accept",
}

# Keys whose value names an Activity: a rules file or option may give a name, resolved at start.
ACTIVITY_KEYS = ("activity_sid", "post_work_activity_sid")

_PHONE = re.compile(r"^\+[1-9]\d{1,14}$")
_ADDRESS_PREFIXES = ("client:", "sip:")

ActivityLookup = Callable[[str], str]
"""Turns an Activity friendly name or SID into a WA SID (raises a TrcliError when unknown)."""


class InstructionError(UsageError):
    """A reply that TaskRouter would not accept; the message names the key and the fix."""


@dataclass(frozen=True)
class Reply:
    """One checked reply: the instruction, its JSON document and the bytes sent on the wire."""

    instruction: str
    document: dict[str, Any] = field(default_factory=dict)
    body: bytes = b"{}"

    @property
    def accepts(self) -> bool:
        """True when TaskRouter accepts the reservation from this reply alone."""
        if self.instruction in ("accept", "dequeue"):
            return True
        return self.instruction in ("call", "redirect") and self.document.get("accept") is True

    def describe(self) -> str:
        """Short text for logs: ``defer {}`` or ``reject activity_sid=WA...``."""
        if self.instruction == "defer":
            return "defer {}"
        extras = " ".join(f"{k}={v}" for k, v in self.document.items() if k != "instruction")
        return f"{self.instruction} {extras}".strip()


def _option(key: str, where: str) -> str:
    return OPTION_FOR_KEY.get(key, key) if where == "options" else f"'{key}'"


def _check_url(value: Any, key: str, where: str) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InstructionError(
            f"{_option(key, where)} must be an absolute http(s) URL, got '{value}'",
            "TaskRouter fetches TwiML from it, e.g. https://example.com/agent.xml",
        )
    return text


def _check_address(value: Any, key: str, where: str) -> str:
    text = str(value).strip()
    if _PHONE.match(text) or (text.startswith(_ADDRESS_PREFIXES) and len(text) > 5):
        return text
    raise InstructionError(
        f"{_option(key, where)} must be a phone number in E.164 form (+15558675310), "
        f"a client: or a sip: address, got '{value}'"
    )


def _check_bool(value: Any, key: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InstructionError(f"{_option(key, where)} must be true or false, got '{value}'")


def _check_timeout(value: Any, key: str, where: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or not 1 <= number <= MAX_DIAL_TIMEOUT:
        raise InstructionError(
            f"{_option(key, where)} must be a whole number of seconds from 1 to "
            f"{MAX_DIAL_TIMEOUT}, got '{value}'"
        )
    return number


def _check_choice(value: Any, key: str, where: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InstructionError(
            f"{_option(key, where)} must be one of {', '.join(choices)}, got '{value}'"
        )
    return str(value)


def _check_events(value: Any, key: str, where: str) -> str:
    items = value if isinstance(value, list) else str(value).split(",")
    cleaned = [str(item).strip() for item in items if str(item).strip()]
    unknown = [item for item in cleaned if item not in STATUS_CALLBACK_EVENTS]
    if not cleaned or unknown:
        raise InstructionError(
            f"{_option(key, where)} must be a comma-separated list of "
            f"{', '.join(STATUS_CALLBACK_EVENTS)}, got '{value}'"
        )
    return ",".join(cleaned)


def _check_activity(value: Any, key: str, where: str, lookup: ActivityLookup | None) -> str:
    text = str(value).strip()
    if not text:
        raise InstructionError(f"{_option(key, where)} cannot be empty")
    if is_sid(text, "WA"):
        return text
    if lookup is None:
        raise InstructionError(
            f"{_option(key, where)} must be an Activity SID (WA...), got '{value}'",
            "Names can be used only when trcli can reach the API to look them up",
        )
    return lookup(text)


def _check_value(key: str, value: Any, where: str, lookup: ActivityLookup | None) -> Any:
    if key in ACTIVITY_KEYS:
        return _check_activity(value, key, where, lookup)
    if key in ("url", "status_callback_url"):
        return _check_url(value, key, where)
    if key in ("from", "to"):
        return _check_address(value, key, where)
    if key == "accept":
        return _check_bool(value, key, where)
    if key == "timeout":
        return _check_timeout(value, key, where)
    if key == "record":
        return _check_choice(value, key, where, RECORD_VALUES)
    if key == "status_callback_events":
        return _check_events(value, key, where)
    if key == "call_sid":
        text = str(value).strip()
        if not is_sid(text, "CA"):
            raise InstructionError(
                f"{_option(key, where)} must be a Call SID (CA...), got '{value}'"
            )
        return text
    raise InstructionError(f"unknown key '{key}'")  # pragma: no cover - keys are checked first


def build_reply(
    instruction: str,
    values: Mapping[str, Any],
    *,
    activity_lookup: ActivityLookup | None = None,
    where: str = "options",
) -> Reply:
    """Check ``values`` (TaskRouter JSON key -> value; ``None`` = not given) for ``instruction``.

    ``where`` is ``"options"`` (messages name ``trcli serve`` options) or anything else (messages
    name the JSON keys, e.g. for a rules file). Raises :class:`InstructionError`.
    """
    if instruction not in KEYS:
        raise InstructionError(
            f"unknown instruction '{instruction}'",
            f"Use one of {', '.join(INSTRUCTIONS)} (TaskRouter answers others with alert 55555)",
        )
    required, optional = KEYS[instruction]
    given = {key: value for key, value in values.items() if value is not None and value != ""}
    unknown = sorted(set(given) - set(required) - set(optional))
    if unknown:
        names = ", ".join(_option(key, where) for key in unknown)
        allowed = ", ".join(_option(k, where) for k in required + optional) or "no keys"
        raise InstructionError(
            f"{names} cannot be used with the {instruction} instruction",
            f"{instruction} takes {allowed}",
        )
    missing = [key for key in required if key not in given]
    if missing:
        names = " and ".join(_option(key, where) for key in missing)
        raise InstructionError(
            f"the {instruction} instruction needs {names}",
            _missing_hint(instruction),
        )
    if instruction == "defer":
        return Reply("defer", {}, b"{}")
    document: dict[str, Any] = {"instruction": instruction}
    for key in required + optional:
        if key in given:
            document[key] = _check_value(key, given[key], where, activity_lookup)
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    return Reply(instruction, document, body)


def _missing_hint(instruction: str) -> str:
    return {
        "reject": "Give the Activity the worker moves to, e.g. --activity Offline, so the same "
        "task is not offered again at once (TaskRouter alert 40100)",
        "dequeue": "Give your Twilio number as --from +1555...",
        "call": "Give --from (your Twilio number) and --url (TwiML for the worker's leg)",
        "redirect": "Give --call-sid CA... (the waiting call) and --url (the new TwiML)",
    }.get(instruction, "")


def reply_from_document(
    document: Mapping[str, Any],
    *,
    activity_lookup: ActivityLookup | None = None,
    where: str = "rules file",
) -> Reply:
    """A reply from a JSON-like document ``{"instruction": "reject", "activity_sid": ...}``.

    ``activity`` is accepted as a friendlier spelling of ``activity_sid`` and
    ``post_work_activity`` of ``post_work_activity_sid`` (both take a name or a SID).
    """
    values = dict(document)
    instruction = values.pop("instruction", "defer")
    if not isinstance(instruction, str):
        raise InstructionError(f"'instruction' must be a string, got {instruction!r}")
    aliases = (("activity", "activity_sid"), ("post_work_activity", "post_work_activity_sid"))
    for alias, key in aliases:
        if alias in values:
            if key in values:
                raise InstructionError(f"give '{alias}' or '{key}', not both")
            values[key] = values.pop(alias)
    return build_reply(instruction, values, activity_lookup=activity_lookup, where=where)


DEFER = Reply("defer", {}, b"{}")
