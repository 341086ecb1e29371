"""Shared pieces of the serve tests: a running CallbackServer and signed-request helpers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from twilio.request_validator import RequestValidator

from taskrouter_cli.callbacks.app import CallbackServer, ServerConfig
from taskrouter_cli.callbacks.log import CallbackRecorder, callback_log_path, read_records

TOKEN = "0123456789abcdef0123456789abcdef"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def assignment_params(**overrides: str) -> dict[str, str]:
    params = {
        "AccountSid": "AC" + "1" * 32,
        "WorkspaceSid": "WS" + "2" * 32,
        "WorkflowSid": "WW" + "3" * 32,
        "TaskQueueSid": "WQ" + "4" * 32,
        "WorkerSid": "WK" + "5" * 32,
        "WorkerAttributes": '{"languages": ["en", "es"]}',
        "TaskSid": "WT" + "6" * 32,
        "TaskAttributes": '{"selected_language": "es"}',
        "TaskAge": "3",
        "TaskPriority": "0",
        "ReservationSid": "WR" + "7" * 32,
        "Timestamp": "1700000000",
    }
    params.update(overrides)
    return params


def sign(url: str, params: Mapping[str, str], token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, dict(params)))


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Running:
    server: CallbackServer
    recorder: CallbackRecorder
    clock: FakeMonotonic
    http: requests.Session

    @property
    def url(self) -> str:
        return self.server.assignment_url

    @property
    def local(self) -> str:
        return self.server.local_base()

    def post(
        self,
        params: Mapping[str, str],
        *,
        signature: str | None = None,
        sign_url: str | None = None,
        path: str = "/assignment",
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """POST a form to the local server, signed for ``sign_url`` (default: the public URL)."""
        all_headers = dict(FORM)
        if signature is None:
            signature = sign(sign_url or self.server.public_base + path, params)
        if signature:
            all_headers["X-Twilio-Signature"] = signature
        all_headers.update(headers or {})
        return self.http.post(self.local + path, data=params, headers=all_headers, timeout=5)

    def records(self) -> list[Any]:
        assert self.recorder.flush(5)
        records, broken = read_records(callback_log_path())
        assert broken == 0
        return records


def start_server(**config: Any) -> Running:
    clock = FakeMonotonic()
    recorder = CallbackRecorder(callback_log_path(), live="off")
    settings: dict[str, Any] = {"port": 0, "auth_token": TOKEN, "clock": clock}
    settings.update(config)
    server = CallbackServer(ServerConfig(**settings), recorder=recorder)
    server.start()
    return Running(server, recorder, clock, requests.Session())


@pytest.fixture
def running() -> Iterator[Running]:
    handle = start_server()
    try:
        yield handle
    finally:
        handle.http.close()
        handle.server.stop()


@pytest.fixture
def behind_tunnel() -> Iterator[Running]:
    """A server whose public URL is an https tunnel (requests still arrive on loopback)."""
    handle = start_server(public_url="https://abc123.ngrok.app")
    try:
        yield handle
    finally:
        handle.http.close()
        handle.server.stop()
