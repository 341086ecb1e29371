"""`trcli serve --workers 2`: two processes answer on one port (the serve process deals the
connections in turn) and every callback, whichever process answered it, lands once in the one
log and the one --json stream."""

from __future__ import annotations

import http.client
import json
import os
import signal
import urllib.parse
from pathlib import Path

import requests

from tests.serve.conftest import FORM, TOKEN, assignment_params, sign
from tests.serve.test_cli_serve import ServeProcess

ENV = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": TOKEN}
CALLBACKS = 40


def workers(pid: int) -> list[int]:
    """The worker processes of ``pid`` (its children, but not multiprocessing's helpers)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    found = []
    for child in map(int, text.split()):
        command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"spawn_main" in command:
            found.append(child)
    return found


def send_callbacks(url: str, count: int) -> list[str]:
    """``count`` signed callbacks, each on a new connection (so both processes answer some)."""
    sids = []
    for index in range(count):
        params = assignment_params(ReservationSid=f"WR{index:032x}")
        headers = {**FORM, "X-Twilio-Signature": sign(url, params), "Connection": "close"}
        answer = requests.post(url, data=params, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        sids.append(params["ReservationSid"])
    return sids


def test_every_callback_is_logged_once_whichever_worker_answered(
    isolated_environment: Path,
) -> None:
    serve = ServeProcess(["--workers", "2", "--instruction", "accept"], ENV)
    try:
        started = serve.next_json()
        assert started["kind"] == "serving"
        assert len(workers(serve.process.pid)) == 1  # the second process
        sent = send_callbacks(started["assignment_url"], CALLBACKS)
        streamed = [serve.next_json() for _ in range(CALLBACKS)]
        code, stderr = serve.stop(signal.SIGTERM)
    finally:
        if serve.process.poll() is None:
            serve.process.kill()
    assert code == 0, stderr
    assert sorted(r["reservation_sid"] for r in streamed) == sorted(sent)
    assert all(r["signature"] == "valid" and r["instruction"] == "accept" for r in streamed)
    logged = [json.loads(line) for line in Path(started["log"]).read_text().splitlines()]
    assert sorted(r["reservation_sid"] for r in logged) == sorted(sent)
    assert f"Stopped after {CALLBACKS} callback(s)." in stderr


def test_a_worker_that_dies_stops_serve_with_one_line(isolated_environment: Path) -> None:
    serve = ServeProcess(["--workers", "2"], ENV)
    try:
        serve.next_json()
        (worker,) = workers(serve.process.pid)
        os.kill(worker, signal.SIGKILL)
        code, stderr = serve.process.wait(20), serve.process.communicate(timeout=20)[1]
    finally:
        if serve.process.poll() is None:
            serve.process.kill()
    assert code != 0
    assert "worker process stopped unexpectedly" in stderr
    assert "Traceback" not in stderr


def test_connections_are_dealt_to_the_processes_in_turn(isolated_environment: Path) -> None:
    # Connection i (kept alive) carries i + 1 callbacks; /healthz asked on a connection tells
    # how many callbacks the process serving it answered. Dealt in turn, the even connections
    # share one process (1 + 3 + 5 + 7 = 16 callbacks) and the odd ones the other (2 + 4 + 6 +
    # 8 = 20); split by a hash of the addresses (SO_REUSEPORT), they almost never are.
    serve = ServeProcess(["--workers", "2"], ENV)
    try:
        url = serve.next_json()["assignment_url"]
        target = urllib.parse.urlsplit(url)
        connections = [http.client.HTTPConnection(target.netloc, timeout=10) for _ in range(8)]
        for connection in connections:
            connection.connect()  # in order: accepted in this order
        for index, connection in enumerate(connections):
            for number in range(index + 1):
                params = assignment_params(ReservationSid=f"WR{index:016x}{number:016x}")
                body = urllib.parse.urlencode(params)
                headers = {**FORM, "X-Twilio-Signature": sign(url, params)}
                connection.request("POST", target.path, body, headers)
                answer = connection.getresponse()
                assert answer.status == 200, answer.read()
                answer.read()
        answered = []
        for connection in connections:
            connection.request("GET", "/healthz")
            answered.append(json.loads(connection.getresponse().read())["answered"])
            connection.close()
        code, stderr = serve.stop(signal.SIGTERM)
    finally:
        if serve.process.poll() is None:
            serve.process.kill()
    assert code == 0, stderr
    assert {tuple(answered[0::2]), tuple(answered[1::2])} == {(16,) * 4, (20,) * 4}, answered


def test_a_workers_log_pipe_takes_a_full_batch_without_waiting_for_the_reader() -> None:
    # ~20 ms of log lines under load (70-150 KB) must not block the worker's event loop
    # until the serve process reads: a default 64 KiB pipe blocks on this write.
    import multiprocessing
    import threading

    from taskrouter_cli.callbacks.workers import worker_pipe

    receiving, sending = worker_pipe(multiprocessing.get_context("spawn"))
    batch = b'{"kind":"assignment"}\n' * 8_000  # 176 KB
    sent = threading.Event()

    def send() -> None:
        sending.send_bytes(batch)
        sent.set()

    threading.Thread(target=send, daemon=True).start()
    try:
        assert sent.wait(5), "sending a batch waited for the reader"
        assert receiving.recv_bytes() == batch
    finally:
        if not sent.is_set():
            receiving.recv_bytes()  # let the sending thread finish
        receiving.close()
        sending.close()
