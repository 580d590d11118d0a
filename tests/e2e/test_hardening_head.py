"""HEAD has no body, whatever answers it: the response writer enforces it once, after
internal redirects (a CGI local redirect turns the method into GET), error pages, index
files, plugins and NPH scripts. Each case is followed by a pipelined GET on the same
connection, so a leaked body shows up as a broken second response."""

from __future__ import annotations

import pytest

from framework.testing import HTTPResult, parse_response, read_until_close, write_files

PLUGIN = """
from pathlib import Path

from framework import Handler, Response


class Kinds(Handler):
    name = "head_kinds"

    async def handle(self, request, call_next):
        kind = request.path.rsplit("/", 1)[-1]
        if kind == "bytes":
            return Response(200, b"plugin bytes")
        if kind == "stream":
            async def parts():
                yield b"stream-1;"
                yield b"stream-2;"
            return Response(200, parts())
        if kind == "path":
            return Response(200, Path("www/target.txt"))
        return await call_next(request)
"""

SCRIPTS = {
    # RFC 3875 local redirect: no body, a Location starting with "/"
    "www/cgi/local.sh": "#!/bin/sh\nprintf 'Location: /target.txt\\r\\n\\r\\n'\n",
    "www/cgi/doc.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\ncgi document body'\n",
    "www/cgi/nph-raw.sh": (
        "#!/bin/sh\nprintf 'HTTP/1.1 200 OK\\r\\nContent-Length: 8\\r\\n\\r\\nnph body'\n"
    ),
}

CONFIG = """load_module head_plugins;
server {
    listen 127.0.0.1:{port};
    root www;
    error_page 404 /errors/404.html;
    location / { index index.html; }
    location /cgi/ { cgi .sh; allow_methods GET HEAD POST; }
    location /plugin/ { handler head_kinds; }
}
"""

FILES = {
    "www/target.txt": "the target file's bytes\n",
    "www/index.html": "<p>index page</p>\n",
    "www/errors/404.html": "<p>custom not found</p>\n",
    "www/marker.txt": "marker",
    **SCRIPTS,
}


@pytest.fixture
def srv(serve, tmp_path):
    # load_module finds a module next to the config file
    write_files(tmp_path, {**FILES, "head_plugins.py": PLUGIN})
    for name in SCRIPTS:
        (tmp_path / name).chmod(0o755)
    return serve(CONFIG)


def _head_then_get(srv, path: str) -> tuple[HTTPResult, bytes]:
    """The answer to ``HEAD path`` and every byte after it, up to the close that follows
    a pipelined ``GET /marker.txt``."""
    with srv.connect() as sock:
        sock.sendall(
            f"HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /marker.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()
        )
        return parse_response(read_until_close(sock), head_only=True)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/target.txt", 200),  # static
        ("/", 200),  # index file through an internal redirect
        ("/missing", 404),  # error_page
        ("/cgi/doc.sh", 200),  # CGI document
        ("/cgi/local.sh", 200),  # CGI local redirect: the target is served with GET
        ("/plugin/bytes", 200),
        ("/plugin/stream", 200),
        ("/plugin/path", 200),
    ],
)
def test_head_sends_no_body_and_the_next_pipelined_response_is_intact(srv, path, status):
    head, rest = _head_then_get(srv, path)
    assert head.status == status
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n"), rest[:200]
    assert rest.endswith(b"\r\n\r\nmarker")


def test_head_to_a_cgi_local_redirect_states_the_target_length(srv):
    head, _ = _head_then_get(srv, "/cgi/local.sh")
    assert head.header("Content-Length") == str(len(FILES["www/target.txt"]))


def test_head_to_an_nph_script_gets_its_head_only(srv):
    with srv.connect() as sock:
        sock.sendall(b"HEAD /cgi/nph-raw.sh HTTP/1.1\r\nHost: t\r\n\r\n")
        data = read_until_close(sock)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.endswith(b"Content-Length: 8\r\n\r\n")  # and not "nph body"


def test_get_after_the_same_local_redirect_still_gets_the_body(srv):
    result = srv.get("/cgi/local.sh")
    assert result.status == 200
    assert result.body == FILES["www/target.txt"].encode()


def test_head_and_raw_socket_framing_on_http10(srv):
    with srv.connect() as sock:
        sock.sendall(b"HEAD /cgi/local.sh HTTP/1.0\r\n\r\n")
        data = read_until_close(sock)
    assert data.endswith(b"\r\n\r\n")
