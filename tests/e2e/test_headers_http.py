"""Response headers over real sockets, where nginx is not needed to say what is right:
h5bp's map-driven security and caching headers, ``server_tokens off`` on an error the
engine answers before any location is chosen, and the version webserv sends by default."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from framework.testing import HTTPResult, ServerProcess, parse_response, read_until_close
from framework.version import __version__

CONFIG = """
map $sent_http_content_type $x_frame_options {
    ~*text/html DENY;
}
map $sent_http_content_type $expires {
    default off;
    text/css 1y;
    ~*image/ max;
}
server {
    listen 127.0.0.1:{port};
    root www;
    types { text/html html; text/css css; image/png png; }
    add_header X-Frame-Options $x_frame_options always;
    add_header X-Seen "$request_method $uri";
    expires $expires;
    location /quiet/ { server_tokens off; }
}
server {
    listen 127.0.0.1:{port};
    server_name quiet.test;
    server_tokens off;
    root www;
}
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("headers-http")
    (base / "www" / "quiet").mkdir(parents=True)
    (base / "www" / "index.html").write_text("<p>home</p>\n")
    (base / "www" / "site.css").write_text("body{}\n")
    (base / "www" / "logo.png").write_bytes(b"\x89PNG\r\n")
    with ServerProcess(CONFIG, cwd=base) as server:
        yield server


def ask(port: int, raw: bytes) -> HTTPResult:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        return parse_response(read_until_close(sock))[0]


def test_map_driven_headers_follow_the_content_type(srv):
    html = srv.get("/index.html")
    assert html.header("X-Frame-Options") == "DENY"
    assert html.header("X-Seen") == "GET /index.html"
    assert html.header("Expires") is None and html.header("Cache-Control") is None
    css = srv.get("/site.css")
    assert css.header("X-Frame-Options") is None  # the map gave "": nothing is added
    assert css.header("Cache-Control") == "max-age=31536000"
    png = srv.get("/logo.png")
    assert png.header("Cache-Control") == "max-age=315360000"
    assert png.header("Expires") == "Thu, 31 Dec 2037 23:55:55 GMT"


def test_always_header_on_an_error_page(srv):
    missing = srv.get("/nothing.html")
    assert missing.status == 404
    assert missing.header("X-Frame-Options") == "DENY"  # always, and the page is text/html
    assert missing.header("X-Seen") is None


def test_server_header_names_the_version_by_default(srv):
    result = srv.get("/index.html")
    assert result.header("Server") == f"webserv/{__version__}"
    missing = srv.get("/nothing")
    assert f"<hr><center>webserv/{__version__}</center>".encode() in missing.body


def test_server_tokens_off_in_a_location(srv):
    result = srv.get("/quiet/nothing")
    assert result.status == 404
    assert result.header("Server") == "webserv"
    assert b"<hr><center>webserv</center>" in result.body


def test_errors_before_routing_take_the_default_servers_setting(srv):
    # as nginx: a request refused before its Host is looked at (no Host; a NUL in the
    # path) is answered with the default server's server_tokens
    for raw in (b"GET / HTTP/1.1\r\n\r\n", b"GET /%00 HTTP/1.1\r\nHost: quiet.test\r\n\r\n"):
        result = ask(srv.port, raw)
        assert result.status == 400
        assert result.header("Server") == f"webserv/{__version__}"
        assert f"<center>webserv/{__version__}</center>".encode() in result.body


def test_server_tokens_off_in_a_server(srv):
    result = ask(
        srv.port, b"GET /nothing HTTP/1.1\r\nHost: quiet.test\r\nConnection: close\r\n\r\n"
    )
    assert result.status == 404
    assert result.header("Server") == "webserv"
    assert b"<hr><center>webserv</center>" in result.body
