"""A tiny upstream app for the proxy example (standard library only).

    python app.py PORT NAME

Answers ``/`` and anything below with a JSON document naming the app instance, the path
it was asked for and the client address the proxy forwarded; ``/health`` answers ``ok``.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the proxy's pool can reuse connections
    name = "app"

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path == "/health":
            body = b"ok\n"
            content_type = "text/plain"
        else:
            body = json.dumps(
                {
                    "app": self.name,
                    "path": self.path,
                    "client": self.headers.get("X-Real-IP"),
                    "forwarded_for": self.headers.get("X-Forwarded-For"),
                    "host": self.headers.get("Host"),
                }
            ).encode()
            content_type = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # webserv's access log has the requests


def main() -> None:
    port, App.name = int(sys.argv[1]), sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", port), App)
    print(f"{App.name} listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
