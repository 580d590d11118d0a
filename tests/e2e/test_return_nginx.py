"""``return CODE;`` without text, as nginx: an error code is an error like any other (its
page, and ``error_page`` applies); 204 has no body and no Content-Type."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import HTTPResult, ServerProcess, read_response

LOCATIONS = """
    default_type text/plain;
    error_page 403 /err.html;
    location = /err.html { return 200 "custom error"; }
    location /a { return 204; }
    location /b { return 403; }
    location /c { return 200; }
    location /d { return 404 "x"; }
    location /e { return 410; }
"""


def _get(port: int, path: str) -> HTTPResult:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        return read_response(sock)


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    base: Path = tmp_path_factory.mktemp("ret")
    ours = ServerProcess(f"server {{ listen 127.0.0.1:{{port}};\n{LOCATIONS}}}\n", cwd=base)
    with nginx_reference(base, f"server {{ listen 127.0.0.1:PORT;\n{LOCATIONS}}}") as port, ours:
        yield port, ours.port


@requires_nginx
@pytest.mark.parametrize("path", ["/a", "/b", "/c", "/d", "/e"])
def test_return_without_text_answers_like_nginx(both, path: str) -> None:
    theirs, ours = both
    want, got = _get(theirs, path), _get(ours, path)
    assert got.status == want.status
    assert (got.header("Content-Type") is None) == (want.header("Content-Type") is None)
    if path == "/e":  # the built-in error page (nginx's names nginx)
        assert got.header("Content-Type") == want.header("Content-Type") == "text/html"
        assert b"<h1>410 Gone</h1>" in got.body
    else:
        assert got.body == want.body
