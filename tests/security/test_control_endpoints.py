"""The sandbox's /sandbox controls refuse web pages: a foreign Origin, a non-loopback Host.

A page the user opens can POST to 127.0.0.1 (a simple form needs no preflight) and, through
DNS rebinding, read answers with ``Host: evil.example``. Command-line clients send no Origin
and a loopback Host, and keep working.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

CONTROLS = [
    ("POST", "/sandbox/reset"),
    ("GET", "/sandbox/callbacks"),
    ("POST", "/sandbox/clock/advance?seconds=1"),
]


def send(sandbox: Any, method: str, path: str, **headers: str) -> requests.Response:
    return requests.request(method, sandbox.base_url + path, headers=headers, timeout=5)


def workspace_count(sandbox: Any) -> int:
    return len(sandbox.service.list("workspace", {}, {}, 50, None).records)


@pytest.mark.parametrize(("method", "path"), CONTROLS)
def test_a_foreign_origin_is_refused(sandbox: Any, method: str, path: str) -> None:
    response = send(sandbox, method, path, Origin="http://evil.example")
    assert response.status_code == 403
    assert "Origin" in response.json()["message"]
    assert workspace_count(sandbox) == 1


@pytest.mark.parametrize(("method", "path"), CONTROLS)
def test_a_rebound_host_is_refused(sandbox: Any, method: str, path: str) -> None:
    port = sandbox.base_url.rsplit(":", 1)[1]
    response = send(sandbox, method, path, Host=f"evil.example:{port}")
    assert response.status_code == 403
    assert "loopback" in response.json()["message"]
    assert workspace_count(sandbox) == 1


def test_a_browser_shaped_reset_leaves_the_database_alone(sandbox: Any) -> None:
    response = requests.post(
        sandbox.base_url + "/sandbox/reset",
        data={"seed": "false"},
        headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
        timeout=5,
    )
    assert response.status_code == 403
    assert workspace_count(sandbox) == 1


def test_origin_null_is_refused(sandbox: Any) -> None:
    assert send(sandbox, "POST", "/sandbox/reset", Origin="null").status_code == 403


def test_credentials_do_not_let_a_foreign_origin_through(sandbox: Any) -> None:
    response = requests.post(
        sandbox.base_url + "/sandbox/reset",
        auth=(sandbox.account_sid, sandbox.auth_token),
        headers={"Origin": "http://evil.example"},
        timeout=5,
    )
    assert response.status_code == 403


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_the_sandboxs_own_origin_and_loopback_hosts_are_answered(sandbox: Any, host: str) -> None:
    port = sandbox.base_url.rsplit(":", 1)[1]
    own = f"{host}:{port}"
    response = send(sandbox, "GET", "/sandbox/callbacks", Host=own, Origin=f"http://{own}")
    assert response.status_code == 200


def test_command_line_clients_without_origin_are_answered(sandbox: Any) -> None:
    assert send(sandbox, "POST", "/sandbox/reset").status_code == 200
    assert workspace_count(sandbox) == 0
