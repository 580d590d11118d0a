"""Resilience of request parsing at its edges (SPEC 5): size limits at the exact boundary,
chunked framing in awkward shapes, opaque header bytes. Every test checks the exact status
and that the server still serves a normal request afterwards."""

from __future__ import annotations

import socket

import pytest

from framework.testing import ServerProcess, read_response

LIMIT = 16 * 1024  # client_header_max_size (the default, spelt out)
MAX_LINE = 8192  # request line limit (SPEC 4.2: over 8k -> 414)

PLUGINS = '''
from framework import Handler, Response


class Echo(Handler):
    """Sends the request body back."""
    name = "echo"
    async def handle(self, request, call_next):
        return Response(200, await request.read(), {"Content-Type": "application/octet-stream"})


class ShowHeader(Handler):
    """Sends back the raw value of the header named by the query string."""
    name = "showheader"
    async def handle(self, request, call_next):
        value = request.headers.get(request.query) or ""
        return Response(200, value.encode("latin-1"), {"Content-Type": "application/octet-stream"})
'''

CONFIG = f"""
load_module resilience_parsing_plugins;
access_log off;
server {{
    listen 127.0.0.1:{{port}};
    root www;
    client_header_timeout 2s;
    client_header_max_size {LIMIT};
    keepalive_timeout 5s;
    location / {{ allow_methods GET HEAD; }}
    location /echo {{ handler echo; allow_methods POST; client_max_body_size 1m;
                     client_body_timeout 2s; }}
    location /showheader {{ handler showheader; }}
}}
"""


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def srv(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"resilience-parsing-{request.param}")
    files = {"www/index.html": "home\n", "resilience_parsing_plugins.py": PLUGINS}
    env = {"PYTHONPATH": str(root), "WEBSERV_EVENT_LOOP": request.param}
    server = ServerProcess(CONFIG, cwd=root, files=files, env=env)
    server.start()
    yield server
    server.stop()


def still_serves(srv: ServerProcess) -> None:
    with srv.connect() as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"home\n")


def send(srv: ServerProcess, data: bytes, timeout: float = 5.0):
    """Send ``data`` on a fresh connection; (first response, whether the server then closed)."""
    with srv.connect(timeout) as sock:
        sock.sendall(data)
        r = read_response(sock)
        sock.settimeout(timeout)
        try:
            closed = sock.recv(65536) == b""
        except TimeoutError:
            closed = False
        except ConnectionResetError:
            closed = True
    return r, closed


def head_of_size(total: int, *, count: int = 1) -> bytes:
    """A GET head of exactly ``total`` bytes (request line, ``count`` filler headers and the
    final empty line included)."""
    base = b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
    per = (total - len(base) - 2) // count
    lines = []
    for i in range(count):
        name = b"X-F%03d: " % i
        size = per if i < count - 1 else total - len(base) - 2 - per * (count - 1)
        lines.append(name + b"v" * (size - len(name) - 2) + b"\r\n")
    head = base + b"".join(lines) + b"\r\n"
    assert len(head) == total
    return head


# -- size limits ---------------------------------------------------------------------------
def test_a_hundred_headers_just_under_the_limit_are_accepted(srv):
    r, _ = send(srv, head_of_size(LIMIT - 100, count=100))
    assert (r.status, r.body) == (200, b"home\n")
    still_serves(srv)


def test_request_head_of_exactly_the_limit_is_accepted(srv):
    r, _ = send(srv, head_of_size(LIMIT))
    assert r.status == 200
    still_serves(srv)


def test_request_head_one_byte_over_the_limit_gets_431(srv):
    r, closed = send(srv, head_of_size(LIMIT + 1))
    assert r.status == 431
    assert closed
    still_serves(srv)


def test_request_head_well_over_the_limit_gets_431_and_close(srv):
    r, closed = send(srv, head_of_size(LIMIT + 64))
    assert r.status == 431
    assert closed
    still_serves(srv)


def test_one_huge_header_value_sent_in_pieces_gets_431_without_waiting_for_its_end(srv):
    with srv.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ")
        for _ in range(40):  # 40 x 4 KiB, never terminated: the server must not wait for it
            try:
                sock.sendall(b"b" * 4096)
            except (BrokenPipeError, ConnectionResetError):
                break
        r = read_response(sock)
    assert r.status == 431
    still_serves(srv)


def test_request_line_of_exactly_8k_is_not_414(srv):
    prefix, suffix = b"GET /", b" HTTP/1.1"
    line = prefix + b"a" * (MAX_LINE - len(prefix) - len(suffix)) + suffix
    assert len(line) == MAX_LINE
    r, _ = send(srv, line + b"\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert r.status == 404
    still_serves(srv)


def test_request_line_one_byte_over_8k_gets_414(srv):
    prefix, suffix = b"GET /", b" HTTP/1.1"
    line = prefix + b"a" * (MAX_LINE + 1 - len(prefix) - len(suffix)) + suffix
    assert len(line) == MAX_LINE + 1
    r, closed = send(srv, line + b"\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert r.status == 414
    assert closed
    still_serves(srv)


def test_request_target_over_8k_gets_414_and_close(srv):
    r, closed = send(srv, b"GET /" + b"a" * MAX_LINE + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 414
    assert closed
    still_serves(srv)


def test_request_target_over_8k_arriving_slowly_gets_414(srv):
    with srv.connect() as sock:
        sock.sendall(b"GET /")
        for _ in range(10):
            try:
                sock.sendall(b"a" * 1024)
            except (BrokenPipeError, ConnectionResetError):
                break
        r = read_response(sock)
    assert r.status == 414
    still_serves(srv)


# -- chunked framing -----------------------------------------------------------------------
def chunked_post(body: bytes, *, close: bool = True) -> bytes:
    head = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
    if close:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body


def test_chunk_extensions_are_ignored(srv):
    body = b'5;name=value\r\nhello\r\n6;a="quoted ext";b\r\n world\r\n0;last\r\n\r\n'
    r, _ = send(srv, chunked_post(body))
    assert (r.status, r.body) == (200, b"hello world")
    still_serves(srv)


def test_chunk_size_with_many_leading_zeros_is_valid(srv):
    body = b"0" * 1000 + b"5\r\nhello\r\n0\r\n\r\n"
    r, _ = send(srv, chunked_post(body))
    assert (r.status, r.body) == (200, b"hello")
    still_serves(srv)


def test_chunk_size_that_overflows_64_bits_gets_400_and_close(srv):
    r, closed = send(srv, chunked_post(b"f" * 17 + b"\r\nhello\r\n0\r\n\r\n"))
    assert r.status == 400
    assert closed
    still_serves(srv)


def test_megabyte_long_chunk_size_line_neither_hangs_nor_kills_the_server(srv):
    # nginx accepts leading zeros without bound; refusing is fine too. Either way the
    # connection gets a definite answer and the server lives on.
    r, _ = send(srv, chunked_post(b"0" * (1024 * 1024) + b"5\r\nhello\r\n0\r\n\r\n"), 10)
    assert (r.status, r.body) in ((200, b"hello"), (400, r.body))
    still_serves(srv)


def test_non_hex_chunk_size_gets_400(srv):
    r, closed = send(srv, chunked_post(b"5x\r\nhello\r\n0\r\n\r\n"))
    assert r.status == 400
    assert closed
    still_serves(srv)


def test_chunk_data_not_followed_by_crlf_gets_400(srv):
    r, closed = send(srv, chunked_post(b"5\r\nhelloXX0\r\n\r\n"))
    assert r.status == 400
    assert closed
    still_serves(srv)


def test_empty_chunked_body_is_a_zero_length_body(srv):
    r, _ = send(srv, chunked_post(b"0\r\n\r\n"))
    assert (r.status, r.body) == (200, b"")
    still_serves(srv)


def test_terminator_written_as_000_ends_the_body_and_the_connection_stays_usable(srv):
    with srv.connect() as sock:
        sock.sendall(chunked_post(b"3\r\nabc\r\n000\r\n\r\n", close=False))
        r = read_response(sock)
        assert (r.status, r.body) == (200, b"abc")
        sock.sendall(chunked_post(b"2\r\nde\r\n0\r\n\r\n", close=False))
        r = read_response(sock)
        assert (r.status, r.body) == (200, b"de")
    still_serves(srv)


def test_many_one_byte_chunks_reassemble_exactly(srv):
    payload = bytes(range(256))
    body = b"".join(b"1\r\n" + payload[i : i + 1] + b"\r\n" for i in range(256)) + b"0\r\n\r\n"
    r, _ = send(srv, chunked_post(body))
    assert (r.status, r.body) == (200, payload)
    still_serves(srv)


CHUNKED = chunked_post(
    b"4;ext=1\r\nWiki\r\n5\r\npedia\r\ne\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n",
    close=False,
)
EXPECTED = b"Wikipedia in\r\n\r\nchunks."


def test_chunked_request_split_at_every_byte_boundary_is_parsed_the_same(srv):
    with srv.connect() as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for cut in range(1, len(CHUNKED)):
            sock.sendall(CHUNKED[:cut])
            sock.sendall(CHUNKED[cut:])
            r = read_response(sock)
            assert (cut, r.status, r.body) == (cut, 200, EXPECTED)
    still_serves(srv)


def test_three_pipelined_requests_sent_byte_by_byte_are_all_answered(srv):
    data = (
        b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"
        + b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
        + CHUNKED
    )
    with srv.connect() as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(data)):
            sock.sendall(data[i : i + 1])
        bodies = [read_response(sock).body for _ in range(3)]
    assert bodies == [b"home\n", b"xyz", EXPECTED]
    still_serves(srv)


def test_chunked_request_sent_byte_by_byte_is_parsed(srv):
    with srv.connect() as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(CHUNKED)):
            sock.sendall(CHUNKED[i : i + 1])
        r = read_response(sock)
    assert (r.status, r.body) == (200, EXPECTED)
    still_serves(srv)


def test_a_huge_trailer_is_discarded_without_being_buffered(srv):
    rss_before = srv.rss_kib()
    with srv.connect(10) as sock:
        sock.sendall(chunked_post(b"5\r\nhello\r\n0\r\nX-Trailer: ", close=False))
        for _ in range(128):  # one 8 MiB trailer line
            sock.sendall(b"t" * 65536)
        sock.sendall(b"\r\n\r\n")
        r = read_response(sock)
        grew = srv.rss_kib() - rss_before
    assert (r.status, r.body) == (200, b"hello")
    assert grew < 4 * 1024, f"server RSS grew {grew} KiB while a trailer streamed past"
    still_serves(srv)


# -- header bytes --------------------------------------------------------------------------
def test_obs_text_in_a_header_value_is_accepted_as_opaque_bytes(srv):
    value = b"caf\xe9 \x80\xff end"
    r, _ = send(
        srv,
        b"GET /showheader?X-Opaque HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
        b"X-Opaque: " + value + b"\r\n\r\n",
    )
    assert (r.status, r.body) == (200, value)
    still_serves(srv)


@pytest.mark.parametrize(
    "name",
    [b"X-B\x01d", b"X-\x80ad", b"X(Y)", b"X/Y", b"X Y", b"X\x7fY", b'X"Y', b"X@Y", b"X{Y}"],
    ids=["ctl", "high_byte", "parens", "slash", "space", "del", "quote", "at", "braces"],
)
def test_invalid_byte_in_a_header_name_gets_400_and_close(srv, name):
    r, closed = send(srv, b"GET /index.html HTTP/1.1\r\nHost: a\r\n" + name + b": v\r\n\r\n")
    assert r.status == 400
    assert closed
    still_serves(srv)


@pytest.mark.parametrize("value", [b"a\x00b", b"a\x01b", b"a\x7fb"], ids=["nul", "ctl", "del"])
def test_control_byte_in_a_header_value_gets_400(srv, value):
    r, closed = send(srv, b"GET /index.html HTTP/1.1\r\nHost: a\r\nX-V: " + value + b"\r\n\r\n")
    assert r.status == 400
    assert closed
    still_serves(srv)


def test_empty_header_name_gets_400(srv):
    r, closed = send(srv, b"GET /index.html HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n")
    assert r.status == 400
    assert closed
    still_serves(srv)


def test_whitespace_around_a_header_value_is_not_part_of_the_value(srv):
    r, _ = send(
        srv,
        b"GET /showheader?X-V HTTP/1.1\r\nHost: a\r\nX-V: \t abc \t \r\nConnection: close\r\n\r\n",
    )
    assert (r.status, r.body) == (200, b"abc")
    still_serves(srv)


def test_trailing_whitespace_in_framing_headers_does_not_change_framing(srv):
    r, _ = send(
        srv,
        b"POST /echo HTTP/1.1\r\nHost: a \t\r\nContent-Length: 5 \t\r\n"
        b"Connection: close \t\r\n\r\nhello",
    )
    assert (r.status, r.body) == (200, b"hello")
    still_serves(srv)


def test_many_empty_lines_before_the_request_line_are_skipped(srv):
    request = b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    r, _ = send(srv, b"\r\n" * 1000 + request)
    assert (r.status, r.body) == (200, b"home\n")
    still_serves(srv)


def test_thousands_of_tiny_headers_over_the_limit_get_431(srv):
    r, closed = send(srv, b"GET /index.html HTTP/1.1\r\nHost: a\r\n" + b"a:\r\n" * 5000 + b"\r\n")
    assert r.status == 431
    assert closed
    still_serves(srv)


def test_fifty_pipelined_posts_with_mixed_framing_are_answered_in_order(srv):
    requests, expected = [], []
    for i in range(50):
        body = b"body-%03d-" % i + b"z" * (i * 37)
        expected.append(body)
        if i % 2:
            requests.append(
                b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body) + body
            )
        else:
            chunks = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
            requests.append(chunked_post(chunks, close=False))
    with srv.connect() as sock:
        sock.sendall(b"".join(requests))
        bodies = [read_response(sock).body for _ in range(50)]
    assert bodies == expected
    still_serves(srv)


@pytest.mark.parametrize(
    "data, status",
    [
        (b"GET / HTTP/1.1\r\nHost: a\r\nX(Y): v\r\n\r\n", 400),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"a:\r\n" * 5000 + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: a\r\n", 408),
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ],
    ids=["400", "414", "431", "408", "501", "505"],
)
def test_error_responses_are_complete_and_close_the_connection(srv, data, status):
    r, closed = send(srv, data)
    assert r.status == status
    assert r.header("Content-Length") == str(len(r.body))
    assert r.header("Date") and r.header("Server")
    assert (r.header("Connection") or "").lower() == "close"
    assert closed
    still_serves(srv)


@pytest.mark.parametrize(
    "pieces",
    [
        [b"GET /index.html\r\n"],
        [b"GET /index.html\n"],
        [b"GET /index.html\r\nHo"],
        [b"GET /index", b".html\r\n"],
    ],
    ids=["crlf", "bare_lf", "partial_header_after", "in_two_sends"],
)
def test_request_line_without_a_version_gets_400_at_once_not_a_408(srv, pieces):
    """An HTTP/0.9 style line has no head to wait for: 400 now (client_header_timeout would
    give a 408 two seconds later)."""
    with srv.connect(10) as sock:
        for piece in pieces:
            sock.sendall(piece)
        r = read_response(sock)
        sock.settimeout(10)
        assert sock.recv(1) == b""  # closed (a timeout here fails the test)
    assert r.status == 400
    assert (r.header("Connection") or "").lower() == "close"
    still_serves(srv)


def test_pipelined_request_line_without_a_version_gets_400_after_the_valid_one(srv):
    with srv.connect(10) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nGET /index.html\r\n\r\n")
        first = read_response(sock)
        second = read_response(sock)
    assert (first.status, first.body) == (200, b"home\n")
    assert second.status == 400
    still_serves(srv)
