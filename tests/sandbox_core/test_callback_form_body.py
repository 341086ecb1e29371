"""A callback's form body is exactly what ``urllib.parse.urlencode`` makes of its parameters
(what Twilio's servers and every form parser read), whatever the names and values hold."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given
from hypothesis import strategies as st

from taskrouter_cli.sandbox.dispatch import form_encode

TRICKY = [
    ("Sid", "EV0006617234f0158142072bcf0b55982f"),
    ("EventDescription", "Reservation WR1 accepted for Worker WK2"),
    ("TaskAttributes", '{"selected_language": "es", "note": "a+b=c&d%e"}'),
    ("WorkerName", "Zoë ☕"),
    ("Empty", ""),
    ("Name with space", "~._-"),
    ("ÄName", "every ascii: " + "".join(map(chr, range(128)))),
]


def test_the_body_is_what_urlencode_makes_of_awkward_parameters() -> None:
    assert form_encode(TRICKY) == urlencode(TRICKY).encode()
    assert parse_qsl(form_encode(TRICKY).decode(), keep_blank_values=True) == TRICKY


@given(st.lists(st.tuples(st.text(), st.text())))
def test_the_body_is_what_urlencode_makes_of_any_parameters(
    params: list[tuple[str, str]],
) -> None:
    assert form_encode(params) == urlencode(params).encode()
