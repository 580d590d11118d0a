"""An ``error_page`` whose own target fails (the page file is missing, the page lies in a
denied location, a 401 page inside the protected location) is sent as that failure: the
page's failure status and built-in body, with the ``add_header ... always`` headers and
the headers of the error it answers for (``WWW-Authenticate``). Differential check
against nginx."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import (
    HTTPResult,
    ServerProcess,
    parse_response,
    read_until_close,
    write_files,
)

SERVERS = """
server {
    listen 127.0.0.1:%s;
    root www;
    add_header X-Frame-Options DENY always;
    add_header X-Only-Ok yes;
    error_page 404 /missing404.html;
    location /p/ { error_page 403 /private/403.html; deny all; }
    location /private/ { deny all; }
    location /ep/ { error_page 404 /private/x.html; }
    location /ov/ { error_page 404 =200 /private/x.html; }
    location /auth/ {
        auth_basic "R";
        auth_basic_user_file ht;
        error_page 401 /auth/login.html;
    }
}
"""

FILES: dict[str, str | bytes] = {
    "www/index.html": "i",
    "www/private/403.html": "private 403 page",
    "www/private/x.html": "private page",
    "www/auth/f": "F",
    "www/auth/login.html": "LOGIN",
    "ht": "a:{PLAIN}b\n",
}

CASES = [
    ("GET", "/nope"),
    ("HEAD", "/nope"),
    ("GET", "/p/x"),
    ("GET", "/ep/missing"),
    ("GET", "/ov/missing"),
    ("GET", "/auth/f"),
]

COMPARED = ("x-frame-options", "x-only-ok", "www-authenticate")


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module's tests."""
    base = tmp_path_factory.mktemp("srv")
    write_files(base, FILES)
    with ServerProcess(SERVERS % "{port}", cwd=base) as server:
        yield server


def fetch(port: int, method: str, path: str) -> tuple[int, list[tuple[str, str]], bool]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        result: HTTPResult
        result, _ = parse_response(read_until_close(sock), head_only=method == "HEAD")
    headers = sorted({(n.lower(), v) for n, v in result.headers if n.lower() in COMPARED})
    builtin = f"<h1>{result.status} ".encode() in result.body or method == "HEAD"
    return result.status, headers, builtin


def test_a_failing_error_page_keeps_the_always_headers(srv: ServerProcess):
    got = {(m, p): fetch(srv.port, m, p) for m, p in CASES}
    for _status, headers, builtin in got.values():
        assert ("x-frame-options", "DENY") in headers
        assert ("x-only-ok", "yes") not in headers
        assert builtin
    # the page's own failure status, as nginx
    assert [got[c][0] for c in CASES] == [404, 404, 403, 403, 403, 401]
    assert ("www-authenticate", 'Basic realm="R"') in got[("GET", "/auth/f")][1]


@requires_nginx
def test_a_failing_error_page_as_nginx(srv: ServerProcess, tmp_path: Path):
    write_files(tmp_path, FILES)
    ours = [fetch(srv.port, m, p) for m, p in CASES]
    with nginx_reference(tmp_path, SERVERS % "PORT") as port:
        theirs = [fetch(port, m, p) for m, p in CASES]
    assert ours == theirs
