"""A stand-in for the ngrok agent, at the edge where ngrok's servers cannot exist offline.

pyngrok runs it exactly as it runs ngrok (``PYNGROK_NGROK_PATH`` or ``PyngrokConfig.ngrok_path``
names an executable that execs this file): ``ngrok start --none --log stdout [--config F]``.
It answers what pyngrok's process manager relies on:

* log lines in ngrok's logfmt on stdout: ``msg="starting web service" obj=web addr=...`` (the
  local agent API's address), ``msg="client session established"`` and ``msg="tunnel session
  started"``; without ``NGROK_AUTHTOKEN`` (or ``--authtoken``) it logs ngrok's
  ``ERR_NGROK_4018`` error line instead and exits 1, as the real agent does;
* the local agent API (config version 3): ``GET /api/endpoints``, ``POST /api/endpoints`` with
  ``{"name", "upstream": {"url"}}`` → an endpoint whose public URL is a new listener on
  127.0.0.1 that forwards every request to the upstream (path, headers and body kept, plus
  ``X-Forwarded-For``/``-Proto``/``-Host`` as ngrok adds them), ``DELETE /api/endpoints/NAME``.

``TRCLI_FAKE_NGROK_FAIL`` makes it log that error line and exit 1 instead of starting.
``TRCLI_FAKE_NGROK_LOG`` names a file where every invocation's arguments and whether the token
came through the environment are appended (tests check the token never reaches the command line).
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"}


def log(message: str, level: str = "info", **fields: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    extra = " ".join(f"{key}={value}" for key, value in fields.items())
    sys.stdout.write(f't={stamp} lvl={level} msg="{message}" {extra}\n')
    sys.stdout.flush()


def forwarder(upstream: str) -> ThreadingHTTPServer:
    """A listener on 127.0.0.1 that relays every request to ``upstream``."""
    target = urlsplit(upstream)

    class Relay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["X-Forwarded-For"] = self.client_address[0]
            headers["X-Forwarded-Proto"] = "http"
            headers["X-Forwarded-Host"] = self.headers.get("Host", "")
            connection = http.client.HTTPConnection(
                target.hostname or "localhost", target.port or 80, timeout=30
            )
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(key, value)
            except OSError:
                data = b"ERR_NGROK_8012: upstream unreachable"
                self.send_response(502)
            finally:
                connection.close()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = relay

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Agent:
    def __init__(self) -> None:
        self.endpoints: dict[str, tuple[dict[str, Any], ThreadingHTTPServer]] = {}
        self.lock = threading.Lock()

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        name = str(options.get("name") or f"endpoint-{len(self.endpoints)}")
        upstream = str((options.get("upstream") or {}).get("url") or "http://localhost:80")
        relay = forwarder(upstream)
        url = f"http://127.0.0.1:{relay.server_address[1]}"
        record = {
            "id": f"ep_{name}",
            "name": name,
            "url": url,
            "public_url": url,
            "uri": f"/api/endpoints/{name}",
            "upstream": {"url": upstream, "protocol": "http1"},
        }
        with self.lock:
            self.endpoints[name] = (record, relay)
        return record

    def delete(self, name: str) -> bool:
        with self.lock:
            found = self.endpoints.pop(name, None)
        if found is None:
            return False
        found[1].shutdown()
        found[1].server_close()
        return True

    def listing(self) -> dict[str, Any]:
        with self.lock:
            return {"endpoints": [record for record, _ in self.endpoints.values()]}


def api(agent: Agent) -> ThreadingHTTPServer:
    class Api(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/api/endpoints", "/api/tunnels"):
                self.answer(200, agent.listing())
            else:
                self.answer(404, {"error_code": 100, "msg": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            options = json.loads(self.rfile.read(length) or b"{}")
            self.answer(201, agent.create(options))

        def do_DELETE(self) -> None:
            name = self.path.rstrip("/").rsplit("/", 1)[-1]
            self.answer(204) if agent.delete(name) else self.answer(404, {"msg": "not found"})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str]) -> int:
    record = os.environ.get("TRCLI_FAKE_NGROK_LOG")
    token = os.environ.get("NGROK_AUTHTOKEN")
    if record:
        with open(record, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"argv": argv, "token_in_env": bool(token)}) + "\n")
    if argv[:1] == ["--version"] or argv[:1] == ["version"]:
        print("ngrok version 3.99.0")
        return 0
    if argv[:2] != ["start", "--none"]:
        print(f"ERROR: the stand-in agent only answers 'start --none', not {argv}")
        return 2
    if "--authtoken" in argv:
        token = argv[argv.index("--authtoken") + 1]
    failure = os.environ.get("TRCLI_FAKE_NGROK_FAIL")
    if failure:
        log("session closing", "eror", obj="tunnels.session", err=json.dumps(failure))
        return 1
    if not token:
        log(
            "session closing",
            "eror",
            obj="tunnels.session",
            err='"authentication failed: The authtoken you specified does not look like a '
            'proper ngrok tunnel authtoken. ERR_NGROK_4018"',
        )
        return 1
    server = api(Agent())
    log("no configuration paths supplied")
    log("starting web service", obj="web", addr=f"127.0.0.1:{server.server_address[1]}")
    log("client session established", obj="tunnels.session")
    log("tunnel session started", obj="tunnels.session")
    parent = os.getppid()
    while os.getppid() == parent:  # a killed trcli serve cannot stop it: leave with it
        time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
