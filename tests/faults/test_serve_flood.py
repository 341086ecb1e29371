"""``trcli serve`` (its CallbackServer) under a concurrent flood of garbage keeps answering valid
signed callbacks within 5 s.

Extends ``tests/serve/test_security.py`` (garbage sent one request at a time) to garbage sent at
the same time as the valid callbacks: four threads of malformed or forged HTTP requests, fifty
connections that send half a request and then stay silent (slowloris), and connections that
send bytes that are not HTTP. Bounded: each flood thread stops after its count or when the
valid callbacks are done.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.serve.conftest import FORM, Running, assignment_params, start_server

VALID_CALLBACKS = 40
LIMIT_SECONDS = 5.0
GARBAGE_BODIES = [b"\x00" * 10, b"%%%", b"a=%ZZ", b"x" * 200_000, b"=", b"\xc3\x28=1", b""]


@pytest.fixture
def serving() -> Iterator[Running]:
    handle = start_server()
    try:
        yield handle
    finally:
        handle.http.close()
        handle.server.stop()


def flood_http(url: str, done: threading.Event, sent: list[int]) -> None:
    session = requests.Session()
    count = 0
    while not done.is_set() and count < 2000:
        body = GARBAGE_BODIES[count % len(GARBAGE_BODIES)]
        try:
            session.post(
                url,
                data=body,
                headers={**FORM, "X-Twilio-Signature": "forged"},
                timeout=10,
            )
        except requests.RequestException:
            pass  # a refused garbage request is fine; the valid ones are what is measured
        count += 1
    sent.append(count)


def flood_raw(port: int, done: threading.Event, sent: list[int]) -> None:
    count = 0
    while not done.is_set() and count < 500:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                raw.sendall(b"\x16\x03\x01\x02\x00 definitely not http\r\n\r\n" * 3)
                raw.recv(1024)
        except OSError:
            pass
        count += 1
    sent.append(count)


def test_valid_callbacks_are_answered_during_a_garbage_flood(serving: Running) -> None:
    port = serving.server.port
    done = threading.Event()
    sent: list[int] = []
    idle: list[socket.socket] = []
    for _ in range(50):  # slowloris: half a request line, then silence
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection.sendall(b"POST /assignment HTTP/1.1\r\nHost: x\r\nContent-Le")
        idle.append(connection)
    threads = [
        threading.Thread(target=flood_http, args=(serving.local + "/assignment", done, sent))
        for _ in range(4)
    ] + [threading.Thread(target=flood_raw, args=(port, done, sent)) for _ in range(2)]
    for thread in threads:
        thread.start()
    latencies: list[float] = []
    try:
        time.sleep(0.2)  # let the flood get going before measuring (not a timing assertion)
        for index in range(VALID_CALLBACKS):
            params = assignment_params(ReservationSid="WR" + f"{index:032x}")
            started = time.perf_counter()
            response = serving.post(params)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            assert response.content == b"{}"
    finally:
        done.set()
        for thread in threads:
            thread.join(30)
        for connection in idle:
            connection.close()
    assert len(sent) == len(threads) and sum(sent) > VALID_CALLBACKS  # the flood really ran
    assert max(latencies) < LIMIT_SECONDS, f"slowest valid callback {max(latencies):.2f} s"
    assert serving.server.running
    valid = [r for r in serving.records() if r.status == 200]
    assert len(valid) == VALID_CALLBACKS
