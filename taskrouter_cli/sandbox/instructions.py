"""Voice instructions on a reservation (``dequeue``, ``call``, ``redirect``, ``conference``).

The sandbox has no telephony: an instruction is validated the way TaskRouter would (debugger
codes of §4.6), then recorded with a sentence saying what would have happened. Effects on the
reservation (DESIGN, §4.5): ``dequeue`` and ``conference`` accept it; ``call`` and ``redirect``
accept it only when their ``accept`` flag is true.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .sids import is_sid

VOICE_INSTRUCTIONS = ("dequeue", "call", "redirect", "conference")
_CALL_EVENTS = {"initiated", "ringing", "answered", "completed"}

# REST parameter (snake_case) -> instruction key, per instruction.
_REST_KEYS: dict[str, dict[str, str]] = {
    "dequeue": {
        "dequeue_from": "from",
        "dequeue_to": "to",
        "dequeue_post_work_activity_sid": "post_work_activity_sid",
        "dequeue_record": "record",
        "dequeue_timeout": "timeout",
        "dequeue_status_callback_url": "status_callback_url",
        "dequeue_status_callback_event": "status_callback_events",
    },
    "call": {
        "call_from": "from",
        "call_to": "to",
        "call_url": "url",
        "call_accept": "accept",
        "call_record": "record",
        "call_timeout": "timeout",
        "call_status_callback_url": "status_callback_url",
    },
    "redirect": {
        "redirect_call_sid": "call_sid",
        "redirect_url": "url",
        "redirect_accept": "accept",
    },
}


class InstructionError(Exception):
    """TaskRouter would refuse the instruction; ``code`` is its debugger code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class InstructionResult:
    instruction: str
    accept: bool
    post_work_activity_sid: str | None
    description: str


def from_rest_params(instruction: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The instruction's keys taken from a reservation update's snake_case parameters."""
    if instruction == "conference":
        skip = {"reservation_status", "worker_activity_sid", "instruction", "supervisor"}
        body = {
            key: value
            for key, value in params.items()
            if key not in skip and not key.startswith(("dequeue_", "call_", "redirect_"))
        }
        if "from_" in body:
            body["from"] = body.pop("from_")
        return body
    mapping = _REST_KEYS.get(instruction, {})
    return {mapping[key]: value for key, value in params.items() if key in mapping}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def validate(
    instruction: str,
    body: Mapping[str, Any],
    task_attributes: Mapping[str, Any],
    worker_attributes: Mapping[str, Any],
    activity_exists: Callable[[str], bool],
) -> InstructionResult:
    """Check ``body`` for ``instruction``; raise :class:`InstructionError` as TaskRouter would."""
    contact = worker_attributes.get("contact_uri")
    to = body.get("to") or contact
    sender = body.get("from")
    post_work = body.get("post_work_activity_sid")
    if instruction == "dequeue":
        if not task_attributes.get("call_sid"):
            raise InstructionError(
                40140, "dequeue needs a task created by <Enqueue> (no call_sid in its attributes)"
            )
        if post_work is not None and not activity_exists(str(post_work)):
            raise InstructionError(40130, f"invalid post_work_activity_sid {post_work}")
        if not to:
            raise InstructionError(40131, "dequeue has no 'to' and the worker no contact_uri")
        if not sender:
            raise InstructionError(40132, "dequeue needs a 'from' number")
        timeout = body.get("timeout", 60)
        if not str(timeout).isdigit() or not 1 <= int(timeout) <= 999:
            raise InstructionError(40131, f"dequeue timeout must be 1..999, got {timeout!r}")
        events = body.get("status_callback_events")
        if events:
            names = events if isinstance(events, list) else str(events).split(",")
            if not {str(name).strip() for name in names} <= _CALL_EVENTS:
                raise InstructionError(40134, f"invalid status_callback_events {events!r}")
        return InstructionResult(
            "dequeue",
            True,
            str(post_work) if post_work else None,
            f"would dial {to} from {sender} and bridge the waiting call "
            f"{task_attributes.get('call_sid')}; reservation accepted (no telephony here)",
        )
    if instruction == "call":
        if not sender:
            raise InstructionError(40111, "call needs a 'from' number")
        if not body.get("url"):
            raise InstructionError(40112, "call needs a TwiML 'url'")
        if not to:
            raise InstructionError(40110, "call has no 'to' and the worker no contact_uri")
        accept = _truthy(body.get("accept", False))
        return InstructionResult(
            "call",
            accept,
            None,
            f"would call {to} from {sender} with TwiML {body.get('url')}"
            + ("; reservation accepted" if accept else "; reservation left pending"),
        )
    if instruction == "redirect":
        call_sid = body.get("call_sid")
        if not body.get("url"):
            raise InstructionError(40120, "redirect needs a TwiML 'url'")
        if not is_sid(call_sid, "CA"):
            raise InstructionError(40121, f"redirect needs a call_sid (CA...), got {call_sid!r}")
        accept = _truthy(body.get("accept", False))
        return InstructionResult(
            "redirect",
            accept,
            None,
            f"would redirect call {call_sid} to {body.get('url')}"
            + ("; reservation accepted" if accept else "; reservation left pending"),
        )
    if instruction == "conference":
        if not to:
            raise InstructionError(40137, "conference has no 'to' and the worker no contact_uri")
        if not sender:
            raise InstructionError(40138, "conference needs a 'from' number")
        if not (task_attributes.get("call_sid") or task_attributes.get("outbound_to")):
            raise InstructionError(
                40142, "conference needs a task with call_sid or outbound_to attributes"
            )
        if post_work is not None and not activity_exists(str(post_work)):
            raise InstructionError(40139, f"invalid post_work_activity_sid {post_work}")
        return InstructionResult(
            "conference",
            True,
            str(post_work) if post_work else None,
            f"would conference {to} (from {sender}) with the task's call; reservation accepted",
        )
    raise InstructionError(55555, f"unknown instruction {instruction!r}")
