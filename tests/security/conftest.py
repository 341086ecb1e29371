"""Shared pieces of the security tests: a running callback server and raw HTTP on loopback."""

from __future__ import annotations

import socket

from tests.serve.conftest import running

__all__ = ["raw_exchange", "raw_post", "running"]


def raw_exchange(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send ``request`` as-is on a new connection and return the status line of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


def raw_post(
    port: int,
    body: bytes,
    *,
    target: bytes = b"/assignment",
    headers: bytes = b"",
    host: bytes = b"127.0.0.1",
) -> bytes:
    """A form POST built byte by byte (headers may carry bytes no HTTP library would send)."""
    request = (
        b"POST " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        + headers
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    return raw_exchange(port, request)
