"""A request path byte that is no UTF-8 (``/h/%FF``) reaches a header value
(``add_header X-Uri $uri``, a regex capture) and a ``return`` text as the raw byte, as
nginx sends it -- no empty reply, no 500. Differential check against nginx."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import ServerProcess, read_until_close

SERVERS = """
server {
    listen 127.0.0.1:%s;
    location /h/ { add_header X-Uri $uri; return 200 "uri=$uri"; }
    location ~ ^/c/(.*)$ { add_header X-C $1; return 200 "c=$1"; }
}
"""

CASES = ["/h/%FF", "/h/a%E9b", "/c/%FFz"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module's tests."""
    base = tmp_path_factory.mktemp("srv")
    with ServerProcess(SERVERS % "{port}", cwd=base) as server:
        yield server


def fetch(port: int, path: str) -> tuple[bytes, list[bytes], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        data = read_until_close(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    return status, [line for line in lines if line.startswith((b"X-Uri", b"X-C"))], body


def test_non_utf8_bytes_go_out_raw(srv: ServerProcess):
    assert fetch(srv.port, "/h/%FF") == (b"HTTP/1.1 200 OK", [b"X-Uri: /h/\xff"], b"uri=/h/\xff")
    assert fetch(srv.port, "/c/%FFz") == (b"HTTP/1.1 200 OK", [b"X-C: \xffz"], b"c=\xffz")
    assert "Traceback" not in srv.stderr


@requires_nginx
def test_non_utf8_bytes_as_nginx(srv: ServerProcess, tmp_path: Path):
    ours = [fetch(srv.port, path) for path in CASES]
    with nginx_reference(tmp_path, SERVERS % "PORT") as port:
        theirs = [fetch(port, path) for path in CASES]
    assert ours == theirs
