"""Response details from the hardening audit: one truthful ``Allow``, ``return`` before the
method check, 304 without content headers, a CGI that chunks its own output, a plugin
``Path`` body that is a FIFO, and a plugin echoing a path that is not UTF-8."""

from __future__ import annotations

import os
import socket

import pytest

from framework.testing import read_response, read_until_close, write_files

PLUGIN = """
from pathlib import Path

from framework import Handler, Response


class Echo(Handler):
    name = "echo_path"

    async def handle(self, request, call_next):
        return Response(200, request.path)


class Fifo(Handler):
    name = "fifo_body"

    async def handle(self, request, call_next):
        return Response(200, Path("pipe"))
"""

CHUNKING_CGI = (
    "#!/bin/sh\n"
    "printf 'Content-Type: text/plain\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n'\n"
    "printf '5\\r\\nhello\\r\\n7\\r\\n, world\\r\\n0\\r\\n\\r\\n'\n"
)
BROKEN_CHUNKING_CGI = (
    "#!/bin/sh\n"
    "printf 'Transfer-Encoding: chunked\\r\\n\\r\\n'\n"
    "printf '5\\r\\nhello\\r\\nZZ\\r\\n'\n"
)

CONFIG = """load_module resp_plugins;
server {
    listen 127.0.0.1:{port};
    root www;
    location / { allow_methods GET HEAD POST; }
    location /old { return 301 /new/; }
    location /cgi/ { cgi .sh; }
    location /echo/ { handler echo_path; }
    location /fifo { handler fifo_body; }
}
"""


@pytest.fixture
def srv(serve, tmp_path):
    write_files(
        tmp_path,
        {
            "resp_plugins.py": PLUGIN,
            "www/file.txt": "file",
            "www/cgi/chunks.sh": CHUNKING_CGI,
            "www/cgi/broken.sh": BROKEN_CHUNKING_CGI,
        },
    )
    for name in ("chunks.sh", "broken.sh"):
        (tmp_path / "www/cgi" / name).chmod(0o755)
    os.mkfifo(tmp_path / "pipe")
    return serve(CONFIG)


def test_allow_is_the_same_on_every_405_of_a_location(srv):
    delete = srv.request("DELETE", "/file.txt")  # not in allow_methods
    post = srv.request("POST", "/file.txt", body=b"x")  # allowed, but nothing answers POST
    assert (delete.status, post.status) == (405, 405)
    assert delete.header("Allow") == post.header("Allow") == "GET, HEAD"


def test_return_answers_before_the_method_check(srv):
    result = srv.request("DELETE", "/old")
    assert result.status == 301
    assert result.header("Location").endswith("/new/")


def test_304_carries_no_content_type(srv):
    etag = srv.get("/file.txt").header("ETag")
    result = srv.get("/file.txt", headers={"If-None-Match": etag})
    assert result.status == 304
    assert result.header("Content-Type") is None
    assert result.header("Content-Length") is None
    assert result.header("ETag") == etag


def test_a_cgi_that_chunks_its_own_output_is_not_chunked_twice(srv):
    result = srv.get("/cgi/chunks.sh")
    assert result.status == 200
    assert result.body == b"hello, world"
    assert result.header("Content-Type") == "text/plain"


def test_a_cgi_with_broken_chunking_is_cut_off_not_passed_through(srv):
    with srv.connect() as sock:
        sock.sendall(b"GET /cgi/broken.sh HTTP/1.1\r\nHost: t\r\n\r\n")
        data = read_until_close(sock)
    assert b"ZZ" not in data
    assert b"0\r\n\r\n" not in data  # no clean end: the client sees a truncated message
    assert srv.get("/file.txt").status == 200


def test_a_fifo_as_a_plugin_body_is_a_500_and_does_not_block_the_worker(srv):
    assert srv.get("/fifo").status == 500
    assert srv.get("/file.txt").body == b"file"  # the worker was not stuck in open()
    assert srv.wait_for_log("not a regular file")


def test_a_plugin_echoing_a_non_utf8_path_gets_the_bytes_back(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(b"GET /echo/%c0%ae HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        result = read_response(sock)
    assert result.status == 200
    assert result.body == b"/echo/\xc0\xae"
    assert "Traceback" not in srv.stderr
