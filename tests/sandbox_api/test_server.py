"""SandboxServer life cycle, control endpoints, and the never-crash guarantee."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest
import requests

from taskrouter_cli.guards.origin import is_loopback_address as is_loopback
from taskrouter_cli.sandbox.clock import SystemClock
from taskrouter_cli.sandbox.server import SandboxServer, ServerStartError
from tests.fixtures.sandbox import make_service


def test_health_and_handle(sandbox: Any) -> None:
    health = requests.get(sandbox.base_url + "/sandbox/health", timeout=10).json()
    assert health == {
        "status": "ok",
        "account_sid": sandbox.account_sid,
        "fake_clock": True,
        "now": "2024-01-01T12:00:00Z",
    }
    assert sandbox.env["TRCLI_API_URL"] == sandbox.base_url
    assert sandbox.env["TRCLI_WORKSPACE"] == sandbox.workspace_sid


def test_start_stop_and_port_in_use(fake_clock: Any) -> None:
    service = make_service(fake_clock)
    with SandboxServer(service) as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert requests.get(server.base_url + "/sandbox/health", timeout=10).ok
        clash = SandboxServer(make_service(fake_clock), port=server.port)
        with pytest.raises(ServerStartError, match=f"Port {server.port} .* already in use"):
            clash.start()
        clash.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(server.base_url + "/sandbox/health", timeout=2)


def test_clock_advance_needs_a_fake_clock() -> None:
    with SandboxServer(make_service(SystemClock())) as server:
        answer = requests.post(server.base_url + "/sandbox/clock/advance", data={"seconds": "5"})
        assert answer.status_code == 409
        assert "FakeClock" in answer.json()["message"]


def test_clock_advance_rejects_bad_seconds(sandbox: Any) -> None:
    for bad in ("-1", "soon", "nan", "inf"):
        answer = requests.post(sandbox.base_url + "/sandbox/clock/advance", data={"seconds": bad})
        assert answer.status_code == 400, bad
        assert "seconds" in answer.json()["message"]


def test_reset_control(sandbox: Any) -> None:
    answer = requests.post(sandbox.base_url + "/sandbox/reset", timeout=10)
    assert answer.json() == {"reset": True, "seeded": False}
    assert sandbox.service.list("workspace", {}, {}, 50, None).records == []
    answer = requests.post(sandbox.base_url + "/sandbox/reset", data={"seed": "true"}, timeout=10)
    assert answer.json()["seeded"] is True
    assert len(sandbox.service.list("workspace", {}, {}, 50, None).records) == 1


def test_control_access_is_loopback_or_authenticated() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("127.8.9.10")
    assert not is_loopback("192.168.1.20") and not is_loopback(None) and not is_loopback("x")


def test_unexpected_failure_is_a_generic_500_and_the_server_lives_on(
    sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    session = requests.Session()
    session.auth = (sandbox.account_sid, sandbox.auth_token)
    url = f"{sandbox.base_url}/v1/Workspaces/{sandbox.workspace_sid}/Activities"
    sandbox.service.store.close()  # a real failure: the database is gone under the service
    with caplog.at_level(logging.ERROR, logger="taskrouter_cli.sandbox.api"):
        answer = session.post(url, data={"FriendlyName": "Lunch"}, timeout=10)
    assert answer.status_code == 500
    assert answer.json() == {
        "code": 500,
        "message": "Internal error in the sandbox (see its log)",
        "more_info": "https://www.twilio.com/docs/errors/500",
        "status": 500,
    }
    assert "Traceback" not in answer.text
    assert any(record.exc_info for record in caplog.records)
    assert requests.get(sandbox.base_url + "/sandbox/health", timeout=10).ok


def test_port_zero_picks_a_free_port(fake_clock: Any) -> None:
    with SandboxServer(make_service(fake_clock), port=0) as server, socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) == 0
