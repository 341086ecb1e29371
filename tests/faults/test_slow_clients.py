"""Slow and idle clients cannot starve ``trcli serve`` or the sandbox (hardening II, item 6).

Header and idle deadlines are enforced by the connection guard's sweep, which the tests run
at a later time instead of waiting; the body timeout is configured short. The held-out check
runs each server in a child process with ``ulimit -n 1024`` (soft and hard, so raising the soft
limit cannot help) and 1,100 idle half-open connections: valid requests are each answered
within 1 s.
"""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from taskrouter_cli.guards.connections import HEADER_TIMEOUT, ConnectionGuard
from tests.helpers.guard_time import sweep_guard_later
from tests.helpers.sandbox_process import env_lines, spawn_trcli, wait_for_port
from tests.helpers.stopwatch import Stopwatch
from tests.serve.conftest import TOKEN, Running, assignment_params, sign, start_server

IDLE_CONNECTIONS = 1100
FILE_LIMIT = 1024
HALF_A_REQUEST = b"POST /assignment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"


def sweep_later(running: Running, seconds: float) -> int:
    """Run the guard's sweep on the server's loop as if ``seconds`` had passed."""
    return sweep_guard_later(running.server.guard, running.server._loop, seconds)


def is_closed(connection: socket.socket) -> bool:
    connection.settimeout(5)
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.fixture
def serving() -> Iterator[Running]:
    handle = start_server(body_timeout=0.3)
    try:
        yield handle
    finally:
        handle.http.close()
        handle.server.stop()


def test_a_connection_that_never_finishes_its_headers_is_closed(serving: Running) -> None:
    with socket.create_connection(("127.0.0.1", serving.server.port)) as slow:
        slow.sendall(HALF_A_REQUEST)
        assert serving.post(assignment_params()).status_code == 200  # the guard saw it open
        assert sweep_later(serving, HEADER_TIMEOUT / 2) == 0
        assert sweep_later(serving, HEADER_TIMEOUT + 1) >= 1
        assert is_closed(slow)


def test_an_idle_keep_alive_connection_is_closed_after_the_header_timeout(
    serving: Running,
) -> None:
    with socket.create_connection(("127.0.0.1", serving.server.port)) as idle:
        body = urlencode(assignment_params()).encode()
        idle.sendall(
            b"POST /assignment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n"
            + body
        )
        assert idle.recv(4096).startswith(b"HTTP/1.1 403")  # answered, connection kept
        sweep_later(serving, HEADER_TIMEOUT + 1)
        assert is_closed(idle)


def test_a_body_that_never_finishes_gets_408(serving: Running) -> None:
    with socket.create_connection(("127.0.0.1", serving.server.port), timeout=5) as slow:
        slow.sendall(
            b"POST /assignment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\nTaskSid=WT"
        )
        assert slow.recv(4096).startswith(b"HTTP/1.1 408")


def test_the_oldest_idle_connection_gives_way_beyond_the_cap(serving: Running) -> None:
    guard = serving.server.guard
    assert isinstance(guard, ConnectionGuard)
    guard.max_connections = 3
    first = socket.create_connection(("127.0.0.1", serving.server.port))
    others = [socket.create_connection(("127.0.0.1", serving.server.port)) for _ in range(3)]
    try:
        first.sendall(HALF_A_REQUEST)
        assert serving.post(assignment_params()).status_code == 200
        assert is_closed(first)
        assert guard.closed_over_cap >= 1
    finally:
        for connection in [first, *others]:
            connection.close()


@pytest.fixture
def slow_sandbox(fake_clock: Any) -> Iterator[Any]:
    """A sandbox whose body timeout is 0.3 s (the header deadline is swept, not waited for)."""
    from taskrouter_cli.sandbox.server import SandboxServer
    from tests.fixtures.sandbox import make_service

    server = SandboxServer(make_service(fake_clock), body_timeout=0.3).start()
    try:
        yield server
    finally:
        server.stop()


def test_the_sandbox_closes_a_connection_that_never_finishes_its_headers(
    slow_sandbox: Any,
) -> None:
    with socket.create_connection(("127.0.0.1", slow_sandbox.port)) as slow:
        slow.sendall(b"GET /v1/Workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        requests.get(slow_sandbox.base_url + "/sandbox/health", timeout=5)  # the guard saw it
        loop = slow_sandbox._serving.loop
        assert sweep_guard_later(slow_sandbox.guard, loop, HEADER_TIMEOUT / 2) == 0
        assert sweep_guard_later(slow_sandbox.guard, loop, HEADER_TIMEOUT + 1) >= 1
        assert is_closed(slow)


def test_the_sandbox_answers_408_to_a_body_that_never_finishes(slow_sandbox: Any) -> None:
    with socket.create_connection(("127.0.0.1", slow_sandbox.port), timeout=5) as slow:
        slow.sendall(
            b"POST /sandbox/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\nseed=tr"
        )
        answer = slow.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b'"code":408' in answer


def with_file_limit(*args: str) -> list[str]:
    """``python -m taskrouter_cli ARGS`` under ``ulimit -n 1024`` (soft and hard)."""
    code = (
        "import resource, runpy, sys; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({FILE_LIMIT}, {FILE_LIMIT})); "
        "sys.argv = ['trcli', *sys.argv[1:]]; "
        "runpy.run_module('taskrouter_cli', run_name='__main__')"
    )
    return [sys.executable, "-c", code, *args]


def open_idle_connections(port: int, request: bytes) -> list[socket.socket]:
    idle = []
    for _ in range(IDLE_CONNECTIONS):
        try:
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(request)
        except OSError:
            continue  # the server may already have evicted it, or the backlog was full
        idle.append(connection)
    return idle


def close_all(connections: list[socket.socket]) -> None:
    for connection in connections:
        connection.close()


def _raise_own_file_limit() -> int:
    """The test process itself holds the 1,100 client sockets: lift its soft limit (a fresh CI
    machine often starts at 1,024) as far as the hard limit allows; the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = IDLE_CONNECTIONS + 400
    if (
        soft != resource.RLIM_INFINITY
        and soft < wanted
        and (hard == resource.RLIM_INFINITY or hard >= wanted)
    ):
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    return int(soft) if soft != resource.RLIM_INFINITY else wanted


ENOUGH_FILES = pytest.mark.skipif(
    _raise_own_file_limit() < IDLE_CONNECTIONS + 200,
    reason="the test process needs more than 1,300 open files and its hard limit is lower",
)


def spawn_limited(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return spawn_trcli(*args, env=env, argv=with_file_limit())


def each_answered_within_a_second(send: Callable[[int], requests.Response]) -> None:
    for number in range(20):
        with Stopwatch() as watch:  # less the time a loaded machine kept this thread waiting
            response = send(number)
        assert response.status_code == 200
        assert watch.seconds < 1.0, f"request {number} took {watch}"


def stop_quietly(process: subprocess.Popen[bytes], idle: list[socket.socket]) -> None:
    close_all(idle)
    process.terminate()
    _, stderr = process.communicate(timeout=20)
    assert b"Too many open files" not in stderr and b"Traceback" not in stderr, stderr


@ENOUGH_FILES
def test_serve_with_1024_files_answers_valid_callbacks_within_1s_past_1100_idle_connections() -> (
    None
):
    process = spawn_limited("serve", "--json", "--port", "0", env={"TWILIO_AUTH_TOKEN": TOKEN})
    idle: list[socket.socket] = []
    try:
        assert process.stdout is not None
        url = json.loads(process.stdout.readline())["assignment_url"]
        idle = open_idle_connections(int(url.rsplit(":", 1)[1].split("/", 1)[0]), HALF_A_REQUEST)

        def send(number: int) -> requests.Response:
            params = assignment_params(TaskSid=f"WT{number:032x}")
            signature = sign(url, params)
            headers = {"X-Twilio-Signature": signature}
            return requests.post(url, data=params, headers=headers, timeout=5)

        each_answered_within_a_second(send)
    finally:
        stop_quietly(process, idle)


@ENOUGH_FILES
def test_the_sandbox_with_1024_files_answers_within_1s_past_1100_idle_connections(
    tmp_path: Path,
) -> None:
    port_file = tmp_path / "port"
    process = spawn_limited("sandbox", "--in-memory", "--port", "0", "--port-file", str(port_file))
    idle: list[socket.socket] = []
    try:
        base_url = wait_for_port(process, port_file)
        env = env_lines(process)
        request = b"GET /v1/Workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        idle = open_idle_connections(int(base_url.rsplit(":", 1)[1]), request)
        auth = (env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])
        each_answered_within_a_second(
            lambda _: requests.get(base_url + "/v1/Workspaces", auth=auth, timeout=5)
        )
    finally:
        stop_quietly(process, idle)
