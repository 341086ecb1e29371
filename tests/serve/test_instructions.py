"""Replies: what each instruction needs, what TaskRouter would refuse, the bytes sent."""

from __future__ import annotations

import json

import pytest

from taskrouter_cli.callbacks.instructions import (
    InstructionError,
    build_reply,
    reply_from_document,
)

WA = "WA" + "1" * 32
CA = "CA" + "2" * 32


def test_defer_answers_an_empty_document() -> None:
    reply = build_reply("defer", {})
    assert reply.body == b"{}"
    assert not reply.accepts


def test_accept_body_is_compact_json() -> None:
    reply = build_reply("accept", {})
    assert json.loads(reply.body) == {"instruction": "accept"}
    assert reply.accepts


def test_reject_needs_an_activity_and_resolves_names() -> None:
    with pytest.raises(InstructionError, match="needs --activity"):
        build_reply("reject", {})
    looked_up: list[str] = []

    def lookup(name: str) -> str:
        looked_up.append(name)
        return WA

    reply = build_reply("reject", {"activity_sid": "Offline"}, activity_lookup=lookup)
    assert json.loads(reply.body) == {"instruction": "reject", "activity_sid": WA}
    assert looked_up == ["Offline"]


def test_activity_names_need_a_lookup() -> None:
    with pytest.raises(InstructionError, match="Activity SID"):
        build_reply("reject", {"activity_sid": "Offline"})


@pytest.mark.parametrize(
    ("instruction", "values", "message"),
    [
        ("dequeue", {}, "needs --from"),
        ("call", {"from": "+15551234567"}, "needs --url"),
        ("redirect", {"url": "https://example.com/t.xml"}, "needs --call-sid"),
        ("call", {"from": "5551234", "url": "https://example.com/t.xml"}, "E.164"),
        ("call", {"from": "+15551234567", "url": "ftp://x/y"}, "absolute http"),
        ("dequeue", {"from": "+15551234567", "timeout": 0}, "1 to 999"),
        ("dequeue", {"from": "+15551234567", "record": "always"}, "record-from-answer"),
        ("dequeue", {"from": "+15551234567", "status_callback_events": "rung"}, "initiated"),
        ("redirect", {"call_sid": "WT" + "0" * 32, "url": "https://e.com/t"}, "Call SID"),
        ("accept", {"activity_sid": WA}, "--activity cannot be used with the accept"),
        ("jump", {}, "unknown instruction"),
    ],
)
def test_refused_replies_name_the_problem(
    instruction: str, values: dict[str, object], message: str
) -> None:
    with pytest.raises(InstructionError, match=message):
        build_reply(instruction, values)


def test_dequeue_with_every_key() -> None:
    reply = build_reply(
        "dequeue",
        {
            "from": "+15551234567",
            "to": "client:alice",
            "post_work_activity_sid": WA,
            "record": "record-from-answer",
            "timeout": "30",
            "status_callback_url": "https://example.com/status",
            "status_callback_events": "initiated, completed",
        },
    )
    assert json.loads(reply.body) == {
        "instruction": "dequeue",
        "from": "+15551234567",
        "to": "client:alice",
        "post_work_activity_sid": WA,
        "record": "record-from-answer",
        "timeout": 30,
        "status_callback_url": "https://example.com/status",
        "status_callback_events": "initiated,completed",
    }
    assert reply.accepts


def test_call_and_redirect_accept_only_when_asked() -> None:
    url = "https://example.com/agent.xml"
    call = build_reply("call", {"from": "+15551234567", "url": url})
    assert not call.accepts and "accept" not in call.document
    redirect = build_reply("redirect", {"call_sid": CA, "url": url, "accept": True})
    assert redirect.accepts and redirect.document["accept"] is True


def test_documents_from_files_use_json_key_names() -> None:
    reply = reply_from_document({"instruction": "reject", "activity": WA})
    assert reply.document == {"instruction": "reject", "activity_sid": WA}
    with pytest.raises(InstructionError, match="'from'"):
        reply_from_document({"instruction": "call", "url": "https://e.com/x"})
    with pytest.raises(InstructionError, match="not both"):
        reply_from_document({"instruction": "reject", "activity": WA, "activity_sid": WA})
