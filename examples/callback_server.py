"""A minimal TaskRouter assignment callback server: the standard library plus the twilio SDK.

It checks X-Twilio-Signature with the SDK's RequestValidator and answers every assignment
callback with ``{}`` (defer: accept later over the REST API) or, with ``--accept``,
``{"instruction": "accept"}`` -- the two answers of the quickstart's Part 2.

    TWILIO_AUTH_TOKEN=... python examples/callback_server.py --port 8000 [--accept]
        [--public-url https://example.ngrok.app]

``--public-url`` is the base URL TaskRouter calls (your tunnel); signatures are computed over
that URL, not over localhost. The route is ``POST /assignment_callback``. ``--port 0`` picks a
free port; the first line printed says where it listens.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

PATH = "/assignment_callback"
MAX_BODY = 64 * 1024


def make_handler(validator: RequestValidator, public_base: str, answer: dict) -> type:
    class Handler(BaseHTTPRequestHandler):
        def reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != PATH:
                self.reply(404, {"error": f"POST {PATH} only"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.reply(413, {"error": "body too large"})
                return
            try:
                params = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
            except (UnicodeDecodeError, ValueError):
                self.reply(400, {"error": "not a form body"})
                return
            url = public_base + self.path
            signature = self.headers.get("X-Twilio-Signature", "")
            if not validator.validate(url, params, signature):
                self.reply(403, {"error": "invalid X-Twilio-Signature"})
                return
            print(
                f"reservation {params.get('ReservationSid')} of task {params.get('TaskSid')}"
                f" for worker {params.get('WorkerSid')}: answering {json.dumps(answer)}",
                flush=True,
            )
            self.reply(200, answer)

        def log_message(self, format: str, *args: object) -> None:
            return  # keep the output to one line per callback

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--accept", action="store_true", help='answer {"instruction": "accept"}')
    parser.add_argument("--public-url", help="the base URL TaskRouter calls (your tunnel)")
    options = parser.parse_args(argv)
    token = os.environ.get("TWILIO_AUTH_TOKEN")
    if not token:
        print("Error: set TWILIO_AUTH_TOKEN (signatures are checked with it)", file=sys.stderr)
        return 3
    answer = {"instruction": "accept"} if options.accept else {}
    server = ThreadingHTTPServer((options.host, options.port), BaseHTTPRequestHandler)
    port = server.server_address[1]
    public_base = (options.public_url or f"http://{options.host}:{port}").rstrip("/")
    server.RequestHandlerClass = make_handler(RequestValidator(token), public_base, answer)
    print(f"listening on {public_base}{PATH}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
