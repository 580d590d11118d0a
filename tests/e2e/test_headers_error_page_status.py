"""``error_page 404 =200 /page``: the page's location adds its headers by the status the client
gets (200), as nginx does, even when the failing location has no header directive."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import HTTPResult, ServerProcess, read_response

LOCATIONS = """
    root ROOT;
    location /gone/ { error_page 404 =200 /page.html; }
    location /lost/ { error_page 404 /page.html; }
    location = /page.html { add_header X-Page yes; }
"""


def _get(port: int, path: str) -> HTTPResult:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        return read_response(sock)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("errpage")
    (base / "www").mkdir()
    (base / "www" / "page.html").write_text("page\n")
    return base


@pytest.fixture(scope="module")
def ours(base: Path) -> Iterator[ServerProcess]:
    config = f"server {{ listen 127.0.0.1:{{port}};\n{LOCATIONS.replace('ROOT', 'www')}}}\n"
    with ServerProcess(config, cwd=base) as srv:
        yield srv


@requires_nginx
@pytest.mark.parametrize(
    ("path", "status", "header"), [("/gone/x", 200, "yes"), ("/lost/x", 404, None)]
)
def test_the_page_location_adds_headers_by_the_status_sent(base, ours, path, status, header):
    servers = f"server {{ listen 127.0.0.1:PORT;\n{LOCATIONS.replace('ROOT', str(base / 'www'))}}}"
    with nginx_reference(base, servers) as port:
        want = _get(port, path)
    got = _get(ours.port, path)
    assert (got.status, got.header("X-Page")) == (want.status, want.header("X-Page"))
    assert (got.status, got.header("X-Page")) == (status, header)
