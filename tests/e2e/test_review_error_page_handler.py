"""An ``error_page`` whose target is answered by a handler that builds its own error
response (a CGI ``404.sh`` that sets ``Status: 404``, a plugin returning
``Response(404, ...)``) sends that page, with the error's status (or the ``=code``
override), as nginx does with an upstream's error page (the WordPress ``404.php``
pattern). Only a page that fails itself -- a missing file, an ``HTTPError`` -- falls back
to the built-in page. Differential check against nginx with a proxied backend."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import free_port, parse_response, read_until_close, write_files

PLUGIN = """
from framework import Handler, Response
from framework.http.errors import HTTPError


class OwnPage(Handler):
    name = "own_404_page"

    async def handle(self, request, call_next):
        if request.path.endswith("/raise"):
            raise HTTPError(404)
        return Response(404, "plugin's own not-found page", {"X-Page": "plugin"})
"""

FILES = {
    "www/marker.txt": "marker",
    "www/cgi/404.sh": (
        "#!/bin/sh\nprintf 'Status: 404 Not Found\\r\\nContent-Type: text/plain\\r\\n"
        'X-Page: cgi\\r\\n\\r\\ncgi not-found page for %s\' "$REQUEST_METHOD"\n'
    ),
    "review_pages.py": PLUGIN,
}

CONFIG = """load_module review_pages;
server {
    listen 127.0.0.1:{port};
    root www;
    location /cgi/ { cgi .sh; }
    location /page/ { handler own_404_page; }
    location /to-cgi/ { error_page 404 /cgi/404.sh; }
    location /to-cgi-200/ { error_page 404 =200 /cgi/404.sh; }
    location /to-plugin/ { error_page 404 /page/x; }
    location /to-raise/ { error_page 404 /page/raise; }
    location /to-missing/ { error_page 404 /nowhere.html; }
}
"""


@pytest.fixture
def srv(serve, tmp_path):
    write_files(tmp_path, FILES)
    (tmp_path / "www/cgi/404.sh").chmod(0o755)
    return serve(CONFIG)


@pytest.mark.parametrize(
    ("path", "status", "body", "page"),
    [
        ("/to-cgi/x", 404, b"cgi not-found page for GET", "cgi"),
        ("/to-cgi-200/x", 200, b"cgi not-found page for GET", "cgi"),
        ("/to-plugin/x", 404, b"plugin's own not-found page", "plugin"),
    ],
)
def test_an_error_page_answered_by_a_handler_with_an_error_status_is_sent(
    srv, path, status, body, page
):
    result = srv.get(path)
    assert (result.status, result.body, result.header("X-Page")) == (status, body, page)


@pytest.mark.parametrize("path", ["/to-raise/x", "/to-missing/x"])
def test_an_error_page_that_fails_itself_leaves_the_built_in_page(srv, path):
    result = srv.get(path)
    assert result.status == 404
    assert b"<center><h1>404 Not Found</h1></center>" in result.body
    assert result.header("X-Page") is None


def test_head_of_a_cgi_error_page_has_no_body_and_keeps_the_connection_in_step(srv):
    with srv.connect() as sock:
        sock.sendall(
            b"HEAD /to-cgi/x HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /marker.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        head, rest = parse_response(read_until_close(sock), head_only=True)
    assert (head.status, head.header("X-Page")) == (404, "cgi")
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.endswith(b"\r\n\r\nmarker")


@requires_nginx
def test_nginx_sends_an_upstreams_own_error_page_too(tmp_path: Path):
    backend = free_port()
    servers = f"""
    server {{ listen 127.0.0.1:{backend}; location / {{ return 404 "backend page"; }} }}
    server {{ listen 127.0.0.1:PORT;
        location /to-backend/ {{ error_page 404 /back/x; }}
        location /to-backend-200/ {{ error_page 404 =200 /back/x; }}
        location /back/ {{ proxy_pass http://127.0.0.1:{backend}; }}
    }}
    """
    with nginx_reference(tmp_path, servers) as port:
        got = []
        for path in ("/to-backend/x", "/to-backend-200/x"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(
                    f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()
                )
                result, _ = parse_response(read_until_close(sock))
            got.append((result.status, result.body))
    assert got == [(404, b"backend page"), (200, b"backend page")]
