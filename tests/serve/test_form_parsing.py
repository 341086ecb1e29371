"""Callback form bodies are decoded exactly as the standard library's strict parser does."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest

from taskrouter_cli.callbacks.app import parse_form
from tests.serve.conftest import Running, assignment_params

BODIES = [
    urlencode(assignment_params()),
    "TaskAttributes=%7B%22a%22%3A+%22%C3%A9%5C%5Cn%22%7D&WorkerSid=WK1",
    "Name=caf%C3%A9&Other=%41%42+c",
    "Percent=100%25&Bad=%zz&Short=%4&Tail=%",
    "Backslash=a%5Cx41b&Raw=a\\x41b&Mixed=a\\x41%20b&Trailing=%41\\&Plus=a+b%2Bc",
    "Unicode=\u00e9t\u00e9&Empty=&E%3Dq=%26amp",
]


@pytest.mark.parametrize("body", BODIES)
def test_form_bodies_decode_like_parse_qsl(body: str) -> None:
    expected = parse_qsl(body, keep_blank_values=True, strict_parsing=True, errors="strict")
    assert parse_form(body) == expected


@pytest.mark.parametrize("body", ["Bad=%C3%28", "Lone=%E9", "NoEquals", "=value"])
def test_malformed_form_bodies_raise_value_error(body: str) -> None:
    with pytest.raises(ValueError):
        parse_form(body)


def test_a_malformed_percent_escape_in_a_callback_answers_400(running: Running) -> None:
    answer = running.http.post(
        running.url,
        data=b"TaskSid=WT1&Name=%C3%28",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert "Malformed form body" in answer.json()["error"]
