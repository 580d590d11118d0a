"""What an upstream sends beyond its response, against a real upstream process: bytes after
a complete answer (a whole second response, smuggled in the same write) are dropped and the
connection is not reused; trailer fields of a chunked answer are dropped, never merged into
the response's header fields."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from proxy_fixtures import STARTUP_TIMEOUT, Backend, fetch

from framework.testing import ServerProcess, wait_until

CONFIG = """
error_log stderr info;
upstream raw {
    server 127.0.0.1:RAW;
    keepalive 4;
}
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://raw;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Backend]]:
    base = tmp_path_factory.mktemp("proxy-framing")
    backend = Backend("raw")
    server = None
    try:
        backend.start()
        config = CONFIG.replace("RAW", str(backend.port))
        server = ServerProcess(config, cwd=base, startup_timeout=STARTUP_TIMEOUT).start()
        yield server, backend
    finally:
        if server is not None:
            server.stop()
        backend.stop()


def _exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` on one connection; everything read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


@pytest.mark.parametrize(
    ("name", "status", "body"), [("extra", 200, b"hello"), ("204extra", 204, b"")]
)
def test_bytes_after_the_response_are_dropped(
    proxy: tuple[ServerProcess, Backend], name: str, status: int, body: bytes
) -> None:
    server, backend = proxy
    before = server.stderr.count("upstream sent more data than specified")
    connections = backend.stats()["connections"]
    out = _exchange(
        server.port,
        f"GET /raw?r={name} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        + b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    first, _, rest = out.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 %d " % status)
    assert b"X-Smuggled" not in out and b"SECRET" not in out and b"bad" not in out
    assert rest[: len(body)] == body
    second = rest[len(body) :]
    # the next request got its own answer, on a new upstream connection (not the tainted one)
    assert second.startswith(b"HTTP/1.1 200 "), out
    assert b'"target": "/next"' in second
    seen = json.loads(second.partition(b"\r\n\r\n")[2])
    assert seen["conn"] > connections  # opened after /raw's: the tainted one was not pooled
    assert wait_until(
        lambda: server.stderr.count("upstream sent more data than specified") > before
    )


@pytest.mark.parametrize("name", ["trailers", "trailers2"])
def test_trailers_are_dropped(proxy: tuple[ServerProcess, Backend], name: str) -> None:
    server, _ = proxy
    status, headers, body = fetch(server.port, "GET", f"/raw?r={name}")
    assert status == 200
    assert body == b"hello"
    assert headers.get_all("Set-Cookie") is None
    assert headers.get("Location") is None
    assert headers.get("X-Trailer") is None
    assert headers.get("Content-Length") is None
