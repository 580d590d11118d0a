"""The captures of a ``server_name ~regex`` are variables, as in nginx: a named one
(``(?<sub>...)``) everywhere in the server, the numbered ones until a location regex
brings its own. Differential check against nginx."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import ServerProcess, parse_response, read_until_close

SERVERS = r"""
server {
    listen 127.0.0.1:%s;
    server_name ~^(?<sub>[a-z]+)\.(example)\.com$;
    location / { add_header X-Sub $sub; return 200 "sub=$sub 1=$1 2=$2"; }
    location ~ ^/r/(x)$ { return 200 "sub=$sub 1=$1 2=$2"; }
}
"""

CASES = [("foo.example.com", "/"), ("bar.EXAMPLE.com", "/r/x")]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module's tests."""
    base = tmp_path_factory.mktemp("srv")
    with ServerProcess(SERVERS % "{port}", cwd=base) as server:
        yield server


def fetch(port: int, host: str, path: str) -> tuple[int, str | None, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        result, _ = parse_response(read_until_close(sock))
    return result.status, result.header("X-Sub"), result.body


def test_server_name_captures_are_variables(srv: ServerProcess):
    assert [fetch(srv.port, h, p) for h, p in CASES] == [
        (200, "foo", b"sub=foo 1=foo 2=example"),
        (200, None, b"sub=bar 1=x 2="),
    ]


@requires_nginx
def test_server_name_captures_as_nginx(srv: ServerProcess, tmp_path: Path):
    ours = [fetch(srv.port, h, p) for h, p in CASES]
    with nginx_reference(tmp_path, SERVERS % "PORT") as port:
        theirs = [fetch(port, h, p) for h, p in CASES]
    assert ours == theirs
