"""Odd bytes in any header, path or query never get a 5xx from either server (bounded sweep).

Each request is built byte by byte (no HTTP library would send these) and sent on its own
connection; every answer must be a status below 500, and come back.
"""

from __future__ import annotations

import base64
import itertools
import socket
from typing import Any
from urllib.parse import urlencode

from tests.serve.conftest import Running, assignment_params

ODD_VALUES = [b"\xff\xfe", b"%ff", b"\x00x", b"a" * 9000, b"", b"\xc3\x28", b"=;,", b"[::1", b"x:y"]


def status_of(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


def build(method: bytes, path: bytes, headers: dict[bytes, bytes], body: bytes) -> bytes:
    lines = b"".join(name + b": " + value + b"\r\n" for name, value in headers.items())
    return method + b" " + path + b" HTTP/1.1\r\n" + lines + b"Connection: close\r\n\r\n" + body


def server_errors(port: int, cases: list[tuple[bytes, bytes, dict[bytes, bytes], bytes]]) -> list:
    found = []
    for method, path, headers, body in cases:
        status = status_of(port, build(method, path, headers, body))
        if not status.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")) or status[9:10] == b"5":
            found.append((method, path, headers, status))
    return found


def test_the_callback_server_answers_odd_headers_below_500(running: Running) -> None:
    body = urlencode(assignment_params()).encode()
    base = {
        b"Host": b"127.0.0.1",
        b"Content-Type": b"application/x-www-form-urlencoded",
        b"X-Twilio-Signature": b"bm90LWEtc2lnbmF0dXJl",
        b"Content-Length": str(len(body)).encode(),
    }
    names = [b"Host", b"X-Twilio-Signature", b"Content-Type", b"X-Forwarded-Proto", b"Origin"]
    cases = [
        (b"POST", path, {**base, name: value}, body)
        for path, name, value in itertools.product(
            [b"/assignment", b"/events", b"/assignment?a=%ff"], names, ODD_VALUES
        )
    ]
    assert server_errors(running.server.port, cases) == []


def test_the_sandbox_answers_odd_headers_below_500(sandbox: Any) -> None:
    pair = base64.b64encode(f"{sandbox.account_sid}:{sandbox.auth_token}".encode())
    workspace = f"/v1/Workspaces/{sandbox.workspace_sid}".encode()
    base = {
        b"Host": b"127.0.0.1",
        b"Authorization": b"Basic " + pair,
        b"Content-Type": b"application/x-www-form-urlencoded",
    }
    names = [b"If-Match", b"Host", b"Origin", b"Content-Type", b"Authorization"]
    paths = [workspace + b"/Tasks", workspace + b"/Workers", b"/sandbox/callbacks"]
    body = b"FriendlyName=odd&Attributes=%7B%7D"
    cases = [
        (method, path, {**base, name: value, b"Content-Length": str(len(data)).encode()}, data)
        for path, name, value, (method, data) in itertools.product(
            paths, names, ODD_VALUES, [(b"GET", b""), (b"POST", body)]
        )
    ]
    assert server_errors(int(sandbox.base_url.rsplit(":", 1)[1]), cases) == []
