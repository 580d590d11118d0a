"""Virtual hosts by Host header, the default server, and nginx location order, end to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from framework.testing import ServerProcess, read_response

CONFIG = r"""
server {
    listen 127.0.0.1:{port};
    server_name first.test;
    location / { return 200 "first"; }
}
server {
    listen 127.0.0.1:{port} default_server;
    server_name fallback.test;
    location / { return 200 "default"; }
}
server {
    listen 127.0.0.1:{port};
    server_name www.example.test;
    location / { return 200 "exact"; }
}
server {
    listen 127.0.0.1:{port};
    server_name *.example.test;
    location / { return 200 "leading-wildcard"; }
}
server {
    listen 127.0.0.1:{port};
    server_name mail.*;
    location / { return 200 "trailing-wildcard"; }
}
server {
    listen 127.0.0.1:{port};
    server_name "~^api\d+\.";
    location / { return 200 "regex"; }
}
server {
    listen 127.0.0.1:{port};
    server_name locations.test;
    location / { return 200 "prefix /"; }
    location /images/ { return 200 "prefix /images/"; }
    location = /exact { return 200 "exact /exact"; }
    location ^~ /static/ { return 200 "noregex /static/"; }
    location ~* \.(png|jpg)$ { return 200 "regex image"; }
    location /nest/ {
        location /nest/inner/ { return 200 "nested prefix"; }
        return 200 "outer nest";
    }
}
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(CONFIG, cwd=tmp_path_factory.mktemp("vhosts")) as server:
        yield server


def body_for(srv: ServerProcess, host: str | None, target: str = "/") -> bytes:
    host_line = f"Host: {host}\r\n" if host is not None else ""
    version = "HTTP/1.1" if host is not None else "HTTP/1.0"
    with srv.connect() as sock:
        sock.sendall(f"GET {target} {version}\r\n{host_line}Connection: close\r\n\r\n".encode())
        return read_response(sock).body


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("first.test", b"first"),
        ("FIRST.Test", b"first"),
        ("first.test:8080", b"first"),
        ("www.example.test", b"exact"),
        ("a.example.test", b"leading-wildcard"),
        ("deep.a.example.test", b"leading-wildcard"),
        ("mail.example.org", b"trailing-wildcard"),
        ("api7.example.org", b"regex"),
        ("unknown.test", b"default"),
        ("127.0.0.1", b"default"),
    ],
)
def test_server_is_chosen_by_host(srv, host, expected):
    assert body_for(srv, host) == expected


def test_request_without_host_goes_to_the_default_server(srv):
    assert body_for(srv, None) == b"default"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", b"prefix /"),
        ("/images/a.gif", b"prefix /images/"),
        ("/images/a.PNG", b"regex image"),
        ("/exact", b"exact /exact"),
        ("/exact?x=1", b"exact /exact"),
        ("/exact/more", b"prefix /"),
        ("/static/a.png", b"noregex /static/"),
        ("/nest/x", b"outer nest"),
        ("/nest/inner/x", b"nested prefix"),
        ("/nest/inner/x.jpg", b"regex image"),
        ("/images/../exact", b"exact /exact"),
        ("/x.png?y=.gif", b"regex image"),
    ],
)
def test_location_matching_follows_nginx_order(srv, target, expected):
    assert body_for(srv, "locations.test", target) == expected
