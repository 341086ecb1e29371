"""The callback server over real HTTP on 127.0.0.1: signatures, replays, bad input, resilience."""

from __future__ import annotations

import json
import socket

import pytest

from taskrouter_cli.callbacks.instructions import build_reply
from taskrouter_cli.errors import UsageError
from tests.helpers.stopwatch import Stopwatch
from tests.serve.conftest import FORM, TOKEN, Running, assignment_params, sign, start_server


def test_a_signed_callback_is_answered_and_logged(running: Running) -> None:
    response = running.post(assignment_params())
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.content == b"{}"
    [record] = running.records()
    assert record.signature == "valid" and record.status == 200
    assert record.reservation_sid == "WR" + "7" * 32
    assert record.task_attributes == {"selected_language": "es"}
    assert record.instruction == "defer"
    assert record.next_command == f"trcli reservation accept {record.reservation_sid}"


def test_a_forged_signature_is_refused(running: Running) -> None:
    params = assignment_params()
    forged = sign(running.url, params, token="not-the-token")
    response = running.post(params, signature=forged)
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "Invalid X-Twilio-Signature"
    assert "another auth token" in body["hint"] and "AC" + "1" * 32 in body["hint"]
    [record] = running.records()
    assert (record.status, record.signature) == (403, "invalid")


def test_a_missing_signature_is_refused(running: Running) -> None:
    response = running.post(assignment_params(), signature="")
    assert response.status_code == 403
    assert response.json()["error"] == "Missing X-Twilio-Signature header"
    assert running.records()[0].signature == "missing"


def test_a_replay_with_changed_params_is_refused(running: Running) -> None:
    params = assignment_params()
    signature = sign(running.url, params)
    assert running.post(params, signature=signature).status_code == 200
    changed = assignment_params(TaskAttributes='{"selected_language": "en"}')
    assert running.post(changed, signature=signature).status_code == 403
    extra = {**params, "Extra": "1"}
    assert running.post(extra, signature=signature).status_code == 403


def test_a_request_signed_for_another_url_gets_the_hint(running: Running) -> None:
    params = assignment_params()
    other = running.url.replace("127.0.0.1", "localhost")
    response = running.post(params, sign_url=other)
    assert response.status_code == 403
    hint = response.json()["hint"]
    assert f"The signature matches {other}" in hint
    assert running.url in hint
    assert running.records()[0].hint == hint


def test_behind_a_tunnel_the_public_url_counts_not_the_host_header(behind_tunnel: Running) -> None:
    params = assignment_params()
    headers = {"Host": "abc123.ngrok.app", "X-Forwarded-Proto": "https"}
    ok = behind_tunnel.post(params, sign_url="https://abc123.ngrok.app/assignment", headers=headers)
    assert ok.status_code == 200
    # What the SDK's validate() accepts: the URL with its default port.
    with_port = behind_tunnel.post(params, sign_url="https://abc123.ngrok.app:443/assignment")
    assert with_port.status_code == 200
    # Signed for the local URL (a learner pointed the workflow at localhost): refused.
    local = behind_tunnel.post(params, sign_url=behind_tunnel.local + "/assignment")
    assert local.status_code == 403
    assert f"matches {behind_tunnel.local}/assignment" in local.json()["hint"]


def test_http_versus_https_is_explained(behind_tunnel: Running) -> None:
    response = behind_tunnel.post(
        assignment_params(), sign_url="http://abc123.ngrok.app/assignment"
    )
    assert response.status_code == 403
    hint = response.json()["hint"]
    assert "matches http://abc123.ngrok.app/assignment" in hint
    assert "expects https://abc123.ngrok.app/assignment" in hint


def test_another_host_is_found_through_the_host_header(behind_tunnel: Running) -> None:
    headers = {"Host": "old-tunnel.ngrok.app", "X-Forwarded-Proto": "https"}
    response = behind_tunnel.post(
        assignment_params(), sign_url="https://old-tunnel.ngrok.app/assignment", headers=headers
    )
    assert response.status_code == 403
    assert "matches https://old-tunnel.ngrok.app/assignment" in response.json()["hint"]


def test_the_query_string_is_part_of_the_signed_url(running: Running) -> None:
    params = assignment_params()
    signed = running.url + "?team=es"
    response = running.http.post(
        signed,
        data=params,
        headers={**FORM, "X-Twilio-Signature": sign(signed, params)},
        timeout=5,
    )
    assert response.status_code == 200
    unsigned_query = running.post(params, sign_url=running.url, path="/assignment?team=en")
    assert unsigned_query.status_code == 403


def test_identical_replays_are_marked_and_can_be_refused(running: Running) -> None:
    params = assignment_params()
    signature = sign(running.url, params)
    assert running.post(params, signature=signature).status_code == 200
    assert running.post(params, signature=signature).status_code == 200
    running.clock.now += 301  # past the replay window
    assert running.post(params, signature=signature).status_code == 200
    assert [r.replay for r in running.records()] == [False, True, False]

    strict = start_server(reject_replays=True)
    try:
        signature = sign(strict.url, params)
        assert strict.post(params, signature=signature).status_code == 200
        refused = strict.post(params, signature=signature)
        assert refused.status_code == 409
        assert "Replayed callback" in refused.json()["error"]
    finally:
        strict.server.stop()


def test_replay_detection_remembers_a_bounded_number_of_callbacks() -> None:
    bounded = start_server(replay_memory=3)
    try:
        sent = [assignment_params(ReservationSid=f"WR{n:032x}") for n in range(4)]
        for params in sent:  # the fourth pushes the first out of the memory
            assert bounded.post(params).status_code == 200
        assert bounded.post(sent[3]).status_code == 200  # still remembered: a replay
        assert bounded.post(sent[0]).status_code == 200  # forgotten: taken as new
        assert [r.replay for r in bounded.records()] == [False] * 4 + [True, False]
    finally:
        bounded.http.close()
        bounded.server.stop()


def test_oversize_bodies_answer_413(running: Running) -> None:
    big = assignment_params(TaskAttributes=json.dumps({"blob": "x" * 70_000}))
    response = running.post(big)
    assert response.status_code == 413
    assert "64 KiB" in response.json()["error"]

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(20):
            yield b"a=" + b"x" * 8192 + b"&"

    chunked = running.http.post(running.local + "/assignment", data=chunks(), headers=FORM)
    assert chunked.status_code == 413


def test_malformed_bodies_answer_400_or_415(running: Running) -> None:
    url = running.local + "/assignment"
    signature = {"X-Twilio-Signature": "x"}
    cases = [
        (b"\xff\xfe\xfd", FORM, 400),
        (b"", FORM, 400),
        (b"no-equals-sign&&&", FORM, 400),
        (b'{"TaskSid": "WT1"}', {"Content-Type": "application/json"}, 415),
    ]
    for body, headers, status in cases:
        response = running.http.post(url, data=body, headers={**headers, **signature}, timeout=5)
        assert response.status_code == status, body
        assert response.json()["status"] == status


def test_signed_but_incomplete_callbacks_answer_400(running: Running) -> None:
    params = assignment_params()
    del params["ReservationSid"]
    response = running.post(params)
    assert response.status_code == 400
    assert "ReservationSid" in response.json()["error"]
    bad_json = running.post(assignment_params(TaskAttributes="{not json"))
    assert bad_json.status_code == 400
    assert "TaskAttributes" in bad_json.json()["error"]


def test_methods_paths_and_health(running: Running) -> None:
    get = running.http.get(running.local + "/assignment", timeout=5)
    assert get.status_code == 405 and get.json()["error"] == "GET is not allowed on /assignment"
    missing = running.http.post(running.local + "/assignment_callback", timeout=5)
    assert missing.status_code == 404 and "/assignment" in missing.json()["hint"]
    health = running.http.get(running.local + "/healthz", timeout=5).json()
    assert health["status"] == "ok" and health["validation"] is True
    assert health["assignment_url"] == running.url
    # A wrong method on a callback path is logged; unknown paths (scans) and health checks are not.
    assert [(r.path, r.status) for r in running.records()] == [("/assignment", 405)]


def test_event_callbacks_are_checked_and_logged(running: Running) -> None:
    params = {"EventType": "reservation.created", "Sid": "EV" + "8" * 32, "TaskSid": "WT1"}
    response = running.post(params, path="/events")
    assert response.status_code == 204
    assert running.post(params, path="/events", signature="forged").status_code == 403
    first = running.records()[0]
    assert (first.kind, first.event_type, first.status) == ("event", "reservation.created", 204)


def test_a_hundred_garbage_requests_do_not_stop_valid_ones(running: Running) -> None:
    url = running.local + "/assignment"
    garbage_bodies = [b"\x00" * 10, b"%%%", b"a=%ZZ", b"x" * 70_000, b"=", b"\xc3\x28=1"]
    for index in range(80):
        with Stopwatch() as watch:  # less the time a loaded machine kept this thread waiting
            response = running.http.post(
                url,
                data=garbage_bodies[index % len(garbage_bodies)],
                headers={**FORM, "X-Twilio-Signature": "garbage"},
                timeout=5,
            )
        assert 400 <= response.status_code < 500
        assert watch.seconds < 1.0, watch
    for _ in range(20):  # raw junk that is not even HTTP
        with socket.create_connection(("127.0.0.1", running.server.port), timeout=5) as raw:
            raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
            raw.recv(1024)
    response = running.post(assignment_params())
    assert response.status_code == 200 and response.content == b"{}"
    assert running.server.running


def test_unvalidated_mode_answers_without_a_signature() -> None:
    handle = start_server(auth_token=None, reply=build_reply("accept", {}))
    try:
        response = handle.post(assignment_params(), signature="")
        assert response.status_code == 200
        assert response.json() == {"instruction": "accept"}
        assert handle.records()[0].signature == "off"
    finally:
        handle.server.stop()


def test_a_busy_port_is_one_clear_error(running: Running) -> None:
    with pytest.raises(UsageError, match=f"Port {running.server.port} .* already in use"):
        start_server(port=running.server.port)


def test_repeated_parameters_are_signed_and_kept(running: Running) -> None:
    from multidict import MultiDict
    from twilio.request_validator import RequestValidator

    pairs = [*assignment_params().items(), ("Tag", "b"), ("Tag", "a")]
    signature = RequestValidator(TOKEN).compute_signature(running.url, MultiDict(pairs))
    response = running.http.post(
        running.url, data=pairs, headers={**FORM, "X-Twilio-Signature": signature}, timeout=5
    )
    assert response.status_code == 200
    assert running.records()[0].params["Tag"] == ["b", "a"]
