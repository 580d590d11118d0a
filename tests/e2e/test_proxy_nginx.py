"""Differential test against real nginx: the same locations in both, the same requests, and
the request line and headers the upstream receives must be the same (nginx's URI
replacement rules for proxy_pass with and without a URI part, its default headers, the
proxy_set_header variables)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from nginx_reference import nginx_reference, requires_nginx
from proxy_fixtures import STARTUP_TIMEOUT, Backend, echo

from framework.testing import ServerProcess

pytestmark = requires_nginx

LOCATIONS = """
    location /plain/ { proxy_pass http://127.0.0.1:B; }
    location /rep/ { proxy_pass http://127.0.0.1:B/new/; }
    location /noslash { proxy_pass http://127.0.0.1:B/x; }
    location = /exact { proxy_pass http://127.0.0.1:B/ex; }
    location ^~ /root/ { proxy_pass http://127.0.0.1:B/; }
    location ~ ^/re/ { proxy_pass http://127.0.0.1:B; }
    location /hdr/ {
        proxy_pass http://127.0.0.1:B;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Proxy $proxy_host;
        proxy_set_header Accept "";
    }
    location /v11/ {
        proxy_pass http://127.0.0.1:B;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /up/ { proxy_pass http://backend/up/; }
"""
UPSTREAM = "upstream backend { server 127.0.0.1:B; }\n"

REQUESTS = [
    ("GET", "/plain/a/b?x=1&y=%2F"),
    ("GET", "/plain/a%20b"),
    ("GET", "/plain/a/../b"),
    ("GET", "/plain//c//d"),
    ("GET", "/plain/%7Euser/%41"),
    ("GET", "/rep/a/b?q=1"),
    ("GET", "/rep/%7Euser"),
    ("GET", "/rep/sp%20ace?x"),
    ("GET", "/rep/x/../y"),
    ("GET", "/rep/caf%C3%A9"),
    ("GET", "/noslash/x"),
    ("GET", "/noslashy"),
    ("GET", "/exact?z=1"),
    ("GET", "/root/deep/er"),
    ("GET", "/re/abc?d=e"),
    ("GET", "/re/a%20b"),
    ("GET", "/hdr/x"),
    ("GET", "/v11/x?y"),
    ("GET", "/up/z"),
    ("POST", "/plain/post"),
    ("CHUNKED", "/plain/post"),
    ("CHUNKED", "/v11/post"),
    ("HEAD", "/plain/head"),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    base = tmp_path_factory.mktemp("proxy-nginx")
    backend = Backend("one").start()
    server = None
    try:
        locations = LOCATIONS.replace(":B", f":{backend.port}")
        upstream = UPSTREAM.replace(":B", f":{backend.port}")
        config = f"{upstream}server {{\n    listen 127.0.0.1:{{port}};\n{locations}}}\n"
        server = ServerProcess(config, cwd=base, startup_timeout=STARTUP_TIMEOUT).start()
        (base / "nginx").mkdir()
        nginx_servers = f"{upstream}server {{\n    listen 127.0.0.1:PORT;\n{locations}}}\n"
        with nginx_reference(base / "nginx", nginx_servers) as nginx_port:
            yield server.port, nginx_port
    finally:
        if server is not None:
            server.stop()
        backend.stop()


def _raw_seen(port: int, method: str, target: str) -> dict:
    """Send the request exactly as written (http.client would normalise nothing, but
    keeps control of the target's bytes this way) and return what the backend saw."""
    body = b"hello" if method in ("POST", "CHUNKED") else b""
    framing = f"Content-Length: {len(body)}\r\n" if body else ""
    if method == "CHUNKED":  # a small chunked body: both send it with its length
        method, framing, body = "POST", "Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: example.test\r\nUser-Agent: diff\r\n"
        f"X-Forwarded-For: 198.51.100.1\r\nAccept: */*\r\n{framing}Connection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    assert b" 200 " in status_line, data[:300]
    if method == "HEAD":
        return {"head": True}
    return json.loads(rest.partition(b"\r\n\r\n")[2])


@pytest.mark.parametrize(("method", "target"), REQUESTS)
def test_upstream_sees_what_nginx_sends(pair: tuple[int, int], method: str, target: str) -> None:
    ours, nginx = pair
    seen_ours = _raw_seen(ours, method, target)
    seen_nginx = _raw_seen(nginx, method, target)
    if method == "HEAD":
        return
    for key in ("method", "target", "version", "body_len"):
        assert seen_ours[key] == seen_nginx[key], key
    assert seen_ours["headers"] == seen_nginx["headers"]


def test_forwarded_for_value(pair: tuple[int, int]) -> None:
    ours, _ = pair
    seen = echo(ours, "/hdr/y", headers={"X-Forwarded-For": "198.51.100.1"})
    values = dict((name.lower(), value) for name, value in seen["headers"])
    assert values["x-forwarded-for"] == "198.51.100.1, 127.0.0.1"


def _response_head(port: int, path: str) -> tuple[str, list[tuple[str, str]]]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status, *lines = data.split(b"\r\n\r\n")[0].decode().split("\r\n")
    fields = [tuple(line.split(": ", 1)) for line in lines]
    return status, [(k, v) for k, v in fields if k not in ("Server", "Date")]


@pytest.mark.parametrize("path", ["/plain/x", "/plain/stream?n=10", "/plain/status?code=404"])
def test_client_sees_what_nginx_passes_back(pair: tuple[int, int], path: str) -> None:
    ours, nginx = pair
    status, headers = _response_head(ours, path)
    nginx_status, nginx_headers = _response_head(nginx, path)
    assert status == nginx_status  # the upstream's status line, reason phrase included
    # the one deviation: nginx passes on a header the upstream's Connection lists as
    # hop-by-hop (X-Hop here); webserv drops it (RFC 9110)
    assert headers == [field for field in nginx_headers if field[0] != "X-Hop"]
    assert ("X-Hop", "yes") in nginx_headers
