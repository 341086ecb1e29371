"""``trcli serve`` answers 4xx, never 5xx, to whatever a client sends (issue: hardening II)."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.security.conftest import raw_post
from tests.serve.conftest import Running, assignment_params, sign

DEEP_ATTRIBUTES = '{"a":' + "[" * 1990 + "]" * 1990 + "}"
"""Under TaskRouter's 4,096-character attributes limit, nested ~2,000 deep."""


def test_a_signature_header_with_non_ascii_bytes_is_refused_with_403(running: Running) -> None:
    body = urlencode(assignment_params()).encode()
    status = raw_post(running.server.port, body, headers=b"X-Twilio-Signature: \xc3\xa9\xff=\r\n")
    assert status == b"HTTP/1.1 403 Forbidden"
    assert running.records()[0].signature == "invalid"


def test_a_request_line_in_absolute_form_is_answered_400(running: Running) -> None:
    body = urlencode(assignment_params()).encode()
    status = raw_post(
        running.server.port,
        body,
        target=b"http://evil.example/assignment",
        headers=b"X-Twilio-Signature: bm90LWEtc2lnbmF0dXJl\r\n",
    )
    assert status == b"HTTP/1.1 400 Bad Request"


def test_a_host_header_that_makes_no_url_still_gets_a_403(running: Running) -> None:
    params = assignment_params()
    forged = sign(running.url, params, token="another-token")
    response = running.post(params, signature=forged, headers={"Host": "evil:port"})
    assert response.status_code == 403


def test_a_host_header_with_non_ascii_bytes_still_gets_a_403(running: Running) -> None:
    body = urlencode(assignment_params()).encode()
    status = raw_post(
        running.server.port,
        body,
        host=b"\xff\xfe.example",
        headers=b"X-Twilio-Signature: bm90LWEtc2lnbmF0dXJl\r\n",
    )
    assert status == b"HTTP/1.1 403 Forbidden"


def test_deeply_nested_task_attributes_in_a_signed_callback_get_400(running: Running) -> None:
    assert len(DEEP_ATTRIBUTES) < 4096
    response = running.post(assignment_params(TaskAttributes=DEEP_ATTRIBUTES))
    assert response.status_code == 400
    assert "nests deeper than" in response.json()["error"]


def test_deeply_nested_worker_attributes_in_a_signed_callback_get_400(running: Running) -> None:
    response = running.post(assignment_params(WorkerAttributes=DEEP_ATTRIBUTES))
    assert response.status_code == 400


def test_nesting_within_the_limit_is_answered(running: Running) -> None:
    attributes = '{"a":' + "[" * 50 + "]" * 50 + "}"
    assert running.post(assignment_params(TaskAttributes=attributes)).status_code == 200


def test_an_absent_signature_header_is_refused(running: Running) -> None:
    body = urlencode(assignment_params()).encode()
    assert raw_post(running.server.port, body) == b"HTTP/1.1 403 Forbidden"
    [record] = running.records()
    assert (record.status, record.signature) == (403, "missing")


def test_an_empty_signature_header_is_refused(running: Running) -> None:
    """Sent on the wire as ``X-Twilio-Signature:`` with nothing after it -- not left out."""
    body = urlencode(assignment_params()).encode()
    status = raw_post(running.server.port, body, headers=b"X-Twilio-Signature: \r\n")
    assert status == b"HTTP/1.1 403 Forbidden"
    [record] = running.records()
    assert (record.status, record.signature) == (403, "missing")


def test_an_empty_signature_header_on_an_event_callback_is_refused(running: Running) -> None:
    body = urlencode({"EventType": "task.created", "TaskSid": "WT" + "6" * 32}).encode()
    status = raw_post(
        running.server.port, body, target=b"/events", headers=b"X-Twilio-Signature:\r\n"
    )
    assert status == b"HTTP/1.1 403 Forbidden"
