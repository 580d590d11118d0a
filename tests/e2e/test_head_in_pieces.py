"""A request head split across reads is bounded by what belongs to it alone: requests
pipelined ahead of it in the same read, or a body before it, never count against it."""

from __future__ import annotations

from framework.testing import read_response

CONFIG = """
access_log off;
server {
    listen 127.0.0.1:{port};
    root www;
    client_header_max_size 4k;
    location / { allow_methods GET HEAD POST; }
}
"""


def test_pipelined_requests_ahead_of_a_split_head_do_not_count_against_it(serve, tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("home\n")
    srv = serve(CONFIG)
    one = b"GET /index.html HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"p" * 1000 + b"\r\n\r\n"
    count = 40  # 40 KB ahead of the split head: far over header max + request line
    with srv.connect() as sock:
        sock.sendall(one * count + b"GET /index.html HTTP/1.1\r\nHo")
        for _ in range(count):
            r = read_response(sock)
            assert (r.status, r.body) == (200, b"home\n")
        sock.sendall(b"st: a\r\n\r\n")
        r = read_response(sock)
        assert (r.status, r.body) == (200, b"home\n")


def test_a_head_growing_past_the_limit_across_reads_is_refused(serve, tmp_path):
    (tmp_path / "www").mkdir()
    srv = serve(CONFIG)
    with srv.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 20000)
        r = read_response(sock)
    assert r.status == 431
