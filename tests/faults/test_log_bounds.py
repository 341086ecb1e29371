"""The callback log stays bounded under floods, and stderr stays quiet (hardening II, item 7).

Refused requests are one compact line without their body, at most
``REFUSED_LOGGED_PER_SECOND`` a second, the rest summarised; a replayed signed request is logged
compactly after the first; the log rotates at ``LOG_ROTATE_BYTES`` keeping
``LOG_ROTATED_KEPT`` files. Held: forged 50 KB requests for some seconds leave at most 20 MB.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from taskrouter_cli.callbacks.log import (
    LOG_ROTATE_BYTES,
    LOG_ROTATED_KEPT,
    REFUSED_LOGGED_PER_SECOND,
    CallbackRecorder,
    callback_log_path,
    read_records,
    rotated_path,
)
from tests.helpers.sandbox_process import REPO
from tests.serve.conftest import FORM, TOKEN, assignment_params, sign, start_server
from tests.serve.test_log import record

FLOOD_SECONDS = 3.0
HELD_TOTAL_BYTES = 20 * 1024 * 1024


def log_files() -> list[Path]:
    path = callback_log_path()
    candidates = [path] + [rotated_path(path, n) for n in range(1, LOG_ROTATED_KEPT + 2)]
    return [candidate for candidate in candidates if candidate.exists()]


def total_size() -> int:
    return sum(path.stat().st_size for path in log_files())


def flood(url: str, until: float, body: bytes, sent: list[int]) -> None:
    session = requests.Session()
    count = 0
    while time.monotonic() < until:
        try:
            session.post(
                url, data=body, headers={**FORM, "X-Twilio-Signature": "forged"}, timeout=5
            )
        except requests.RequestException:
            pass
        count += 1
    sent.append(count)


def test_forged_50kb_requests_leave_a_bounded_log_with_a_summary() -> None:
    running = start_server()
    try:
        params = assignment_params(TaskAttributes='{"padding": "' + "x" * 50_000 + '"}')
        body = "&".join(f"{k}={v}" for k, v in params.items()).encode()
        until = time.monotonic() + FLOOD_SECONDS
        sent: list[int] = []
        threads = [
            threading.Thread(target=flood, args=(running.url, until, body, sent)) for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(FLOOD_SECONDS + 10)
        records = running.records()
    finally:
        running.http.close()
        running.server.stop()
    assert sum(sent) > 3 * REFUSED_LOGGED_PER_SECOND  # a flood, not a trickle
    assert total_size() <= HELD_TOTAL_BYTES
    refused = [r for r in records if r.status == 403]
    assert len(refused) <= REFUSED_LOGGED_PER_SECOND * (FLOOD_SECONDS + 2)
    summaries = [r for r in records if r.kind == "summary"]
    assert summaries and "not logged one by one" in (summaries[0].error or "")
    logged = len(refused) + sum(int((s.error or "0").split()[0]) for s in summaries)
    assert logged == sum(sent)  # every refused request is counted, one by one or summarised
    assert max(len(line) for line in callback_log_path().read_text().splitlines()) < 2048


def test_a_replayed_signed_request_is_logged_compactly_after_the_first(
    tmp_path: Path,
) -> None:
    running = start_server()
    try:
        params = assignment_params(TaskAttributes='{"padding": "' + "x" * 55_000 + '"}')
        signature = sign(running.url, params)
        for _ in range(20):
            assert running.post(params, signature=signature).status_code == 200
        lines = callback_log_path().read_text().splitlines() if running.recorder.flush(5) else []
    finally:
        running.http.close()
        running.server.stop()
    assert len(lines) == 20
    assert len(lines[0]) > 55_000
    assert all(len(line) < 2048 for line in lines[1:])


def test_the_log_rotates_and_keeps_a_bounded_number_of_files() -> None:
    recorder = CallbackRecorder(callback_log_path(), live="off")
    recorder.start()
    padding = {"padding": "x" * 60_000}
    for number in range(int(LOG_ROTATE_BYTES * (LOG_ROTATED_KEPT + 2) / 60_000)):
        recorder.record(record(number, task_attributes=padding))
        if number % 50 == 0:
            recorder.flush()
    recorder.stop()
    files = log_files()
    assert files == [callback_log_path()] + [
        rotated_path(callback_log_path(), n) for n in range(1, LOG_ROTATED_KEPT + 1)
    ]
    assert total_size() <= HELD_TOTAL_BYTES
    dropped = callback_log_path().with_name(callback_log_path().name + ".dropped")
    assert not dropped.exists()  # the oldest, renamed aside, is deleted by stop() at the latest
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        _, broken = read_records(path)
        assert broken == 0


def test_serve_keeps_stderr_quiet_under_garbage(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "taskrouter_cli", "serve", "--json", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO), "TWILIO_AUTH_TOKEN": TOKEN},
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        url = json.loads(process.stdout.readline())["assignment_url"]
        port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
        garbage = [
            b"\x16\x03\x01\x02\x00 not http\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            b"POST /assignment HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"GET /\x00\x01 HTTP/1.1\r\n\r\n",
        ]
        for payload in garbage * 5:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                connection.sendall(payload)
                connection.recv(1024)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    text = stderr.decode()
    assert "Traceback" not in text, text
    assert len(text.splitlines()) <= 3, text
