"""Callbacks that arrive together are answered together, once all of them are handled.

Under load, `trcli serve` lets its event loop go round once before it writes an answer, so that
every request read in one loop turn is handled before any answer goes out (fewer wake-ups of
the client and of the server per callback; see the comment in CallbackServer's handler). Time
is the edge here: the server's replay clock (injectable) holds the loop at chosen moments.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlencode

from taskrouter_cli.callbacks.app import CallbackServer, ServerConfig
from tests.serve.conftest import TOKEN, assignment_params, sign

SLOW_HANDLING = 0.3


class HoldingClock:
    """A monotonic clock the handler reads once per signed callback: the first reading waits
    for ``release`` (holding the server's loop), the third takes SLOW_HANDLING seconds."""

    def __init__(self) -> None:
        self.readings = 0
        self.holding = threading.Event()
        self.release = threading.Event()
        self.slow_reading_done = 0.0

    def __call__(self) -> float:
        self.readings += 1
        if self.readings == 1:
            self.holding.set()
            self.release.wait(10)
        elif self.readings == 3:
            time.sleep(SLOW_HANDLING)
            self.slow_reading_done = time.monotonic()
        return 1000.0


def signed_request(server: CallbackServer, number: int) -> bytes:
    params = assignment_params(TaskSid=f"WT{number:032x}", ReservationSid=f"WR{number:032x}")
    body = urlencode(params)
    return (
        "POST /assignment HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {sign(server.assignment_url, params)}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_callbacks_read_in_one_loop_turn_are_answered_after_all_of_them_are_handled() -> None:
    clock = HoldingClock()
    server = CallbackServer(ServerConfig(auth_token=TOKEN, port=0, clock=clock))
    server.start()
    connections = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
    try:
        assert server.guard is not None
        guard = server.guard
        wait_for(lambda: guard.open_connections == 3)
        # The first callback's handling holds the loop while two more arrive: the next loop
        # turn reads both.
        connections[0].sendall(signed_request(server, 0))
        assert clock.holding.wait(10)
        connections[1].sendall(signed_request(server, 1))
        connections[2].sendall(signed_request(server, 2))
        time.sleep(0.05)
        clock.release.set()

        selector = selectors.DefaultSelector()
        for connection in connections[1:]:
            selector.register(connection, selectors.EVENT_READ)
        ready = selector.select(timeout=10)
        first_answer_at = time.monotonic()
        selector.close()

        assert ready, "no answer"
        # Whichever of the two was handled first, its answer waited for the other's handling.
        handled_both_at = clock.slow_reading_done
        assert handled_both_at, "an answer went out before the other callback was handled"
        assert first_answer_at >= handled_both_at
        for connection in connections:
            connection.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head:
                head += connection.recv(4096)
            assert head.startswith(b"HTTP/1.1 200 "), head[:80]
        assert clock.readings == 3
    finally:
        for connection in connections:
            connection.close()
        server.stop()
