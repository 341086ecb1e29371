"""Control characters in outside data never reach the terminal raw (hardening II, item 8).

An unsigned request's ``AccountSid``, a Worker's name or a Task's attributes can carry ESC
sequences that clear the screen, recolour it or set the window title. Everything trcli prints
from outside data shows them as visible escapes (``\\x1b``) instead. Output here is not a
terminal, so rich adds no escape sequences of its own: any ESC in it came from the data.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from taskrouter_cli.callbacks.app import CallbackServer, ServerConfig
from taskrouter_cli.callbacks.log import CallbackRecord, CallbackRecorder, callback_log_path
from tests.helpers.cli import Trcli, invoke
from tests.serve.conftest import TOKEN, assignment_params, sign

CLEAR_AND_RETITLE = "\x1b[2J\x1b]0;pwned\x07\x9b31m"


@pytest.fixture
def trcli(sandbox: Any) -> Trcli:
    def run(*args: str) -> Any:
        return invoke(list(args), sandbox.env)

    return run


def assert_inert(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text, repr(text)


def post_to_live_log(params: dict[str, str], token: str) -> int:
    """POST ``params`` signed with ``token`` to a server whose live log is on; the status."""
    import requests

    recorder = CallbackRecorder(callback_log_path(), live="rich")
    server = CallbackServer(ServerConfig(port=0, auth_token=TOKEN), recorder=recorder)
    server.start()
    try:
        signature = sign(server.assignment_url, params, token=token)
        response = requests.post(
            server.assignment_url, data=params, headers={"X-Twilio-Signature": signature}, timeout=5
        )
        assert recorder.flush(5)
    finally:
        server.stop()
    return response.status_code


def test_the_serve_live_log_escapes_a_forged_account_sid(
    capsys: pytest.CaptureFixture[str],
) -> None:
    params = assignment_params(AccountSid=CLEAR_AND_RETITLE, WorkerName=CLEAR_AND_RETITLE)
    status = post_to_live_log(params, token="another-token")
    assert status == 403
    shown = capsys.readouterr().out
    assert "\\x1b[2J" in shown  # the hint names the account, visibly escaped
    assert_inert(shown)


def test_the_serve_live_log_escapes_a_signed_worker_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    params = assignment_params(
        WorkerName=CLEAR_AND_RETITLE, TaskAttributes=json.dumps({"x": CLEAR_AND_RETITLE})
    )
    status = post_to_live_log(params, token=TOKEN)
    assert status == 200
    shown = capsys.readouterr().out
    assert "\\x1b" in shown
    assert_inert(shown)


def test_callbacks_list_and_show_escape_logged_request_data() -> None:
    recorder = CallbackRecorder(callback_log_path(), live="off")
    recorder.start()
    recorder.record(
        CallbackRecord(
            time="2026-01-01T12:00:00.000Z",
            kind="assignment",
            path="/assignment",
            status=403,
            signature="invalid",
            error="Invalid X-Twilio-Signature",
            hint=f"account {CLEAR_AND_RETITLE}",
            task_sid=CLEAR_AND_RETITLE,
            worker_name=CLEAR_AND_RETITLE,
        )
    )
    recorder.stop()
    for args in (["callbacks", "list"], ["callbacks", "show", "1"]):
        outcome = invoke(args, {})
        assert outcome.exit_code == 0, outcome.stderr
        assert "\\x1b" in outcome.stdout
        assert_inert(outcome.stdout + outcome.stderr)


@pytest.fixture
def hostile_worker(trcli: Trcli, sandbox: Any) -> str:
    """A Spanish-speaking Worker whose name would clear the screen, made available."""
    created = trcli(
        "worker",
        "create",
        CLEAR_AND_RETITLE,
        "--attributes",
        '{"languages": ["es"]}',
        "--json",
    ).ok()
    return str(created.json()["sid"])


def test_worker_list_and_show_escape_a_hostile_name(trcli: Trcli, hostile_worker: str) -> None:
    for args in (["worker", "list"], ["worker", "show", hostile_worker]):
        outcome = trcli(*args).ok()
        assert "\\x1b" in outcome.stdout
        assert_inert(outcome.stdout + outcome.stderr)


def test_task_show_and_explain_escape_attributes_and_names(
    trcli: Trcli, hostile_worker: str
) -> None:
    attributes = json.dumps({"selected_language": "es", "note": CLEAR_AND_RETITLE})
    task = trcli("task", "create", "--attributes", attributes, "--json").ok().json()["sid"]
    for args in (["task", "show", task], ["explain", task]):
        outcome = trcli(*args).ok()
        assert_inert(outcome.stdout + outcome.stderr)
    explained = trcli("explain", task).ok().stdout
    assert "\\x1b" in explained  # the hostile worker is listed among the queue's workers


def test_events_list_and_tail_escape_descriptions(trcli: Trcli, hostile_worker: str) -> None:
    listed = trcli("events", "list").ok()
    assert "\\x1b" in listed.stdout
    assert_inert(listed.stdout + listed.stderr)
    tailed = trcli("events", "tail", "--since", "1d", "--timeout", "0.3", "--interval", "0.1")
    assert_inert(tailed.stdout + tailed.stderr)
