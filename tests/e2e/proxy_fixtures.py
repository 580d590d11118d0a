"""Helpers for the proxy tests: ``Backend``, a real upstream server process
(``proxy_backend.py``), and small HTTP helpers over ``http.client``."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framework.testing import free_port

BACKEND = Path(__file__).with_name("proxy_backend.py")


@dataclass
class Backend:
    """``proxy_backend.py`` on a free port (and a WebSocket echo port with ``ws=True``)."""

    name: str
    ws: bool = False
    port: int = 0
    ws_port: int = 0
    proc: subprocess.Popen[str] | None = field(default=None, repr=False)

    def launch(self) -> Backend:
        """Start the process (``ready`` waits until it listens)."""
        self.port = self.port or free_port()
        args = [sys.executable, str(BACKEND), str(self.port), self.name]
        if self.ws:
            self.ws_port = self.ws_port or free_port()
            args.append(str(self.ws_port))
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        return self

    def ready(self) -> Backend:
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "ready" once it listens (EOF if it died)
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"backend {self.name} did not start")
        return self

    def start(self) -> Backend:
        return self.launch().ready()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        self.kill()

    def stats(self) -> dict[str, Any]:
        return json.loads(fetch(self.port, "GET", "/stats")[2])


def start_all(backends: list[Backend]) -> None:
    """Start several backends side by side (each Python start-up takes a while)."""
    for backend in backends:
        backend.launch()
    for backend in backends:
        backend.ready()


STARTUP_TIMEOUT = 60.0  # webserv's start on a loaded machine; only matters on failure


def fetch(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a new connection: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.msg, resp.read()
    finally:
        conn.close()


def echo(port: int, path: str, **kw: Any) -> dict[str, Any]:
    """What the backend saw for ``path`` (its JSON answer), asserting a 200."""
    status, _, body = fetch(port, kw.pop("method", "GET"), path, **kw)
    assert status == 200, (status, body[:300])
    return json.loads(body)


def header_map(seen: dict[str, Any]) -> dict[str, str]:
    """The request headers the backend saw, by lower-cased name (values joined by ", ")."""
    out: dict[str, str] = {}
    for name, value in seen["headers"]:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out
