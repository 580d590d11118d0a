"""``return`` codes nginx 1.22 accepts beyond the usual ones, answered as nginx answers them:
``return 999;`` (600-999: the status, an empty body, no Content-Type), ``return 999 TEXT;``
(the text), ``return 301;`` and ``return 302 "";`` (the page with an empty ``Location``).
Each case runs against the real nginx and the real webserv, side by side."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import HTTPResult, ServerProcess, read_response

LOCATIONS = """
    default_type text/plain;
    location /r999 { return 999; }
    location /r600 { return 600; }
    location /t999 { return 999 "over nine hundred"; }
    location /r301 { return 301; }
    location /r302 { return 302 ""; }
    location /r308 { return 308; }
"""


def _ask(port: int, path: str, method: str = "GET") -> HTTPResult:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        request = f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        return read_response(sock, head_only=method == "HEAD")


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    base: Path = tmp_path_factory.mktemp("ret-codes")
    ours = ServerProcess(f"server {{ listen 127.0.0.1:{{port}};\n{LOCATIONS}}}\n", cwd=base)
    with nginx_reference(base, f"server {{ listen 127.0.0.1:PORT;\n{LOCATIONS}}}") as port, ours:
        yield port, ours.port


@requires_nginx
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", ["/r999", "/r600"])
def test_a_code_over_599_without_text_is_an_empty_untyped_answer(both, path, method) -> None:
    theirs, ours = both
    want, got = _ask(theirs, path, method), _ask(ours, path, method)
    assert got.status == want.status == int(path[2:])
    assert got.header("Content-Type") is None and want.header("Content-Type") is None
    assert got.header("Content-Length") == want.header("Content-Length") == "0"
    assert got.body == want.body == b""


@requires_nginx
def test_a_code_over_599_with_text_sends_the_text(both) -> None:
    theirs, ours = both
    want, got = _ask(theirs, "/t999"), _ask(ours, "/t999")
    assert got.status == want.status == 999
    assert got.body == want.body == b"over nine hundred"
    assert (got.header("Content-Type") or "").startswith("text/plain")
    assert (want.header("Content-Type") or "").startswith("text/plain")


@requires_nginx
@pytest.mark.parametrize("path", ["/r301", "/r302", "/r308"])
def test_a_redirect_without_url_sends_its_page_and_an_empty_location(both, path) -> None:
    theirs, ours = both
    want, got = _ask(theirs, path), _ask(ours, path)
    assert got.status == want.status == int(path[2:])
    assert want.header("Location") == "" and got.header("Location") == ""
    assert got.header("Content-Type") == want.header("Content-Type") == "text/html"
    title = f"<title>{want.status} ".encode()
    assert title in want.body and title in got.body
