"""``trcli doctor`` against the sandbox and a real ``trcli serve`` CallbackServer."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from taskrouter_cli.callbacks.app import CallbackServer, ServerConfig
from tests.helpers.cli import Trcli, invoke

WORKFLOW = "Incoming Customer Care Requests"


def by_name(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for check in report["checks"]:
        found.setdefault(check["name"], []).append(check)
    return found


def statuses(report: dict[str, Any]) -> dict[str, list[str]]:
    return {name: [c["status"] for c in checks] for name, checks in by_name(report).items()}


@pytest.fixture
def serve(sandbox: Any) -> Iterator[CallbackServer]:
    server = CallbackServer(ServerConfig(auth_token=sandbox.auth_token, port=0))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_everything_ok_with_a_running_serve(trcli: Trcli, serve: CallbackServer) -> None:
    trcli("workflow", "point-callback", WORKFLOW, "--url", serve.assignment_url).ok()
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    answered = serve.handler.answered

    outcome = trcli("doctor", "--json")
    report = outcome.json()
    assert outcome.exit_code == 0, report
    assert report["ok"] is True
    assert statuses(report) == {
        "credentials": ["ok"],
        "workspace": ["ok"],
        "workflow": ["ok"],
        "callback": ["ok"],
        "reachable": ["ok"],
        "workers": ["ok"],
    }
    reachable = by_name(report)["reachable"][0]
    assert reachable["detail"] == f"{WORKFLOW}: signed test callback answered: defer ({{}})"
    assert serve.handler.answered == answered + 1  # the signed test request went through
    assert "available: Alice (of 2)" in by_name(report)["workers"][0]["detail"]

    human = trcli("doctor").ok()
    assert "0 failed" in human.stderr
    assert "credentials" in human.stdout and "TaskRouter Quickstart" in human.stdout


def test_no_callback_url_and_nobody_available_are_warnings(trcli: Trcli) -> None:
    outcome = trcli("doctor", "--json")
    assert outcome.exit_code == 0
    checks = by_name(outcome.json())
    callback = checks["callback"][0]
    assert callback["status"] == "warn"
    assert "no assignment callback URL" in callback["detail"]
    assert callback["fix"] == (
        f"trcli serve, then trcli workflow point-callback '{WORKFLOW}' --url URL"
    )
    assert "reachable" not in checks
    workers = checks["workers"][0]
    assert workers["status"] == "warn"
    assert workers["fix"] == "trcli worker set-activity Alice Idle"


def test_serve_with_another_auth_token_fails_the_signed_test(trcli: Trcli) -> None:
    server = CallbackServer(ServerConfig(auth_token="not-the-account-token", port=0))
    server.start()
    try:
        trcli("workflow", "point-callback", WORKFLOW, "--url", server.assignment_url).ok()
        outcome = trcli("doctor", "--json")
    finally:
        server.stop()
    assert outcome.exit_code == 6  # a failed check, not a bug
    reachable = by_name(outcome.json())["reachable"][0]
    assert reachable["status"] == "fail"
    assert "refused the signed test callback (Invalid X-Twilio-Signature)" in reachable["detail"]


def test_callback_url_nobody_listens_on_fails(trcli: Trcli) -> None:
    url = f"http://127.0.0.1:{free_port()}/assignment"
    trcli("workflow", "point-callback", WORKFLOW, "--url", url).ok()
    outcome = trcli("doctor")
    assert outcome.exit_code == 6  # a failed check, not a bug
    assert "cannot be reached" in outcome.stdout
    assert "1 failed" in outcome.stderr


def test_rejected_credentials_fail_and_skip_the_rest(sandbox: Any) -> None:
    env = {**sandbox.env, "TWILIO_AUTH_TOKEN": "wrong"}
    outcome = invoke(["doctor", "--json"], env)
    assert outcome.exit_code == 6  # a failed check, not a bug
    found = statuses(outcome.json())
    assert found["credentials"] == ["fail"]
    assert found["workflow"] == ["skip"] and found["workers"] == ["skip"]


def test_no_credentials_is_a_failed_check_with_the_fix() -> None:
    outcome = invoke(["doctor", "--json"], {})
    assert outcome.exit_code == 6  # a failed check, not a bug
    credentials = by_name(outcome.json())["credentials"][0]
    assert credentials["status"] == "fail"
    assert credentials["detail"] == "No Twilio Account SID configured"
    assert "TWILIO_ACCOUNT_SID" in credentials["fix"]


def test_the_signed_test_callback_is_marked_as_a_test_in_the_callback_log(
    trcli: Trcli, sandbox: Any
) -> None:
    from taskrouter_cli.callbacks.log import CallbackRecorder, callback_log_path

    recorder = CallbackRecorder(callback_log_path(), live="off")
    server = CallbackServer(ServerConfig(auth_token=sandbox.auth_token, port=0), recorder=recorder)
    server.start()
    try:
        trcli("workflow", "point-callback", WORKFLOW, "--url", server.assignment_url).ok()
        trcli("doctor").ok()
    finally:
        server.stop()
    logged = trcli("callbacks", "list", "--json").ok().json()
    assert [entry["doctor_test"] for entry in logged] == [True]
    assert "assignment (doctor's test)" in trcli("callbacks", "list").ok().stdout
