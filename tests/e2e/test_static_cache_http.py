"""The small-file cache seen through the real server: a settled file answered from memory
keeps its headers, ranges and 304s, and a replacement is picked up at once."""

from __future__ import annotations

import os
import time
from pathlib import Path

from framework.testing import read_response

CONFIG = """
server {
    listen 127.0.0.1:{port};
    root www;
    location / { allow_methods GET HEAD; }
}
"""

OLD = time.time_ns() - 3600 * 1_000_000_000


def test_settled_file_is_served_with_validators_ranges_and_replacements(serve, tmp_path: Path):
    www = tmp_path / "www"
    www.mkdir()
    page = www / "page.html"
    page.write_bytes(b"0123456789" * 100)
    os.utime(page, ns=(OLD, OLD))
    srv = serve(CONFIG)

    with srv.connect() as sock:  # keep-alive: head and body of each answer in order
        for _ in range(3):
            sock.sendall(b"GET /page.html HTTP/1.1\r\nHost: x\r\n\r\n")
            result = read_response(sock)
            assert result.status == 200
            assert result.body == b"0123456789" * 100
            assert result.header("Content-Length") == "1000"
            assert result.header("Content-Type") == "text/html"
        etag = result.header("ETag")
        sock.sendall(b"HEAD /page.html HTTP/1.1\r\nHost: x\r\n\r\n")
        head = read_response(sock, head_only=True)
        assert head.status == 200
        assert head.header("Content-Length") == "1000"
        assert head.body == b""
        conditional = f"GET /page.html HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n"
        sock.sendall(conditional.encode())
        assert read_response(sock).status == 304
        sock.sendall(b"GET /page.html HTTP/1.1\r\nHost: x\r\nRange: bytes=-4\r\n\r\n")
        partial = read_response(sock)
        assert partial.status == 206
        assert partial.body == b"6789"
        assert partial.header("Content-Range") == "bytes 996-999/1000"

    fresh = www / "next.tmp"
    fresh.write_bytes(b"abcdefghij" * 100)
    os.utime(fresh, ns=(OLD, OLD))
    os.replace(fresh, page)  # same size, same mtime, new inode
    again = srv.get("/page.html")
    assert again.body == b"abcdefghij" * 100
