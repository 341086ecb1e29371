"""Users' own assignment-callback handlers, for ``trcli serve --forward-to`` tests.

* :class:`PhpHandler`: the tutorial's ``assignment.php`` (PHP quickstart, "Set up the Assignment
  Callback URL": it sets ``Content-Type: application/json`` and echoes ``{}``; the later
  "accept via callback" step answers ``{"instruction": "accept"}``) under ``php -S``.
* :class:`ValidatingHandler`: a Python handler that checks ``X-Twilio-Signature`` with the
  twilio SDK's ``RequestValidator`` against its own URL, answers 403 when it does not match and
  ``{"instruction": "accept"}`` when it does; it can also hang until released.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

TUTORIAL_ASSIGNMENT_PHP = """<?php

header('Content-Type: application/json');
echo("{}");
"""

TUTORIAL_ACCEPT_PHP = """<?php

$assignment_instruction = [
    'instruction' => 'accept'
];

header('Content-Type: application/json');
echo json_encode($assignment_instruction);
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


class PhpHandler:
    """``php -S 127.0.0.1:<free port>`` serving a directory with the tutorial's assignment.php."""

    def __init__(self, directory: Path, source: str = TUTORIAL_ASSIGNMENT_PHP) -> None:
        php = shutil.which("php")
        if php is None:
            pytest.fail(
                "php is not installed: these tests run the tutorial's assignment.php under "
                "'php -S' (Debian package php-cli; .ci/run installs it)"
            )
        (directory / "assignment.php").write_text(source, encoding="utf-8")
        self.port = free_port()
        self.process = subprocess.Popen(
            [php, "-S", f"127.0.0.1:{self.port}", "-t", str(directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_listening(self.port)
        except AssertionError:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/assignment.php"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


class ValidatingHandler:
    """A threaded HTTP server on 127.0.0.1 checking signatures with ``RequestValidator``."""

    def __init__(self, auth_token: str, *, path: str = "/hooks/assignment?source=trcli") -> None:
        from twilio.request_validator import RequestValidator

        self.validator = RequestValidator(auth_token)
        self.path = path
        self.seen: list[dict[str, Any]] = []
        self.hang = False
        self.arrived = threading.Event()
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
                signature = self.headers.get("X-Twilio-Signature", "")
                valid = owner.validator.validate(owner.url, form, signature)
                owner.seen.append({"form": form, "valid": valid, "path": self.path})
                owner.arrived.set()
                if owner.hang:
                    owner.release.wait(30)
                status, body = (200, {"instruction": "accept"}) if valid else (403, {"no": 1})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
