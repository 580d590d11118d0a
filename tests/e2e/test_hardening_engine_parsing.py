"""Issue 9 minors on the wire: a malformed request line is a 400 (501 only for a well-formed
line with an unknown method), BWS before a chunk extension is accepted, an asterisk-form
target is a 400, and 413/414/416 carry RFC 9110's reason phrases. Where nginx has the
behaviour, the status class is checked against the real nginx too."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from hardening_engine_fixtures import start, still_serves
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import ResponseReader, ServerProcess, read_response, read_until_close

MALFORMED = {
    "garbage": b"GARBAGE\r\n\r\n",
    "bad_token": b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n",
    "leading_space": b" GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "tls_client_hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32,
    "after_a_good_request": b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nGE(T / HTTP/1.1\r\n\r\n",
}
UNKNOWN_METHOD = {
    "unknown": b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n",
    "lower_case": b"get / HTTP/1.1\r\nHost: a\r\n\r\n",  # methods are case-sensitive
    "after_a_good_request": b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nBREW / HTTP/1.1\r\n\r\n",
}
CHUNK_EXT_BWS = (
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5 ;ext=1\r\nhello\r\n6\t;x\r\n world\r\n0\r\n\r\n"
)


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def srv(request, tmp_path_factory):
    server = start(tmp_path_factory.mktemp(f"parsing-{request.param}"), request.param)
    yield server
    server.stop()


def exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` and return everything until the server closes (or goes quiet)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        return read_until_close(sock)


def last_status(data: bytes) -> int:
    """The status of the last response in ``data``."""
    return int(data[data.rindex(b"HTTP/1.1 ") + 9 :][:3])


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_request_line_gets_400_and_a_close(srv, data):
    out = exchange(srv.port, data)
    assert last_status(out) == 400, out[:200]
    assert out.count(b"HTTP/1.1 ") == data.count(b"GET /index.html") + 1
    still_serves(srv)


@pytest.mark.parametrize("data", UNKNOWN_METHOD.values(), ids=UNKNOWN_METHOD.keys())
def test_a_well_formed_request_line_with_an_unknown_method_gets_501(srv, data):
    assert last_status(exchange(srv.port, data)) == 501


def test_whitespace_before_a_chunk_extension_is_accepted(srv):
    with srv.connect() as sock:
        sock.sendall(CHUNK_EXT_BWS)
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"hello world")


TE_TAB_HEAD = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\t\r\n\r\n"
NEXT = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"


@pytest.mark.parametrize(
    "split",
    [0, 10, 4, 3, 2],
    ids=["one_read", "value_in_two_reads", "read_ends_in_the_tab", "cr_lf_split", "blank_line"],
)
def test_transfer_encoding_chunked_with_a_trailing_tab_is_chunked(srv, split):
    """RFC 9112: OWS around a field value is not part of it. (nginx 1.22 answers 501; llhttp
    strips SP but not HTAB, and the engine parses on inside the body it accepted.)"""
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    with srv.connect() as sock:
        if split:
            sock.sendall(TE_TAB_HEAD[:-split])
            time.sleep(0.2)  # the client's pace: the head ends in a later read
            sock.sendall(TE_TAB_HEAD[-split:] + body + NEXT)
        else:
            sock.sendall(TE_TAB_HEAD + body + NEXT)
        reader = ResponseReader(sock)
        first, second = reader.read(), reader.read()
    assert (first.status, first.body) == (200, b"hello world")
    assert (second.status, second.body) == (200, b"home\n")


def test_bodies_and_heads_with_tabs_at_line_ends_parse_as_usual(srv):
    """Lines ending in HTAB make the engine feed the parser head by head: nothing changes."""
    tsv = b"a\tb\t\r\n\r\nc\t\r\n" * 100
    data = (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nX-Tab: v\t\r\nContent-Length: %d\r\n\r\n" % len(tsv)
        + tsv
        + NEXT
    )
    with srv.connect() as sock:
        sock.sendall(data * 3)
        reader = ResponseReader(sock)
        for _ in range(3):
            assert reader.read().body == tsv
            assert reader.read().body == b"home\n"


def test_a_chunked_body_full_of_tabs_then_a_chunked_tab_head_parse_as_usual(srv):
    """Chunked body data with HTABs before line ends (binary data has them) stays on the
    fast path until a read holds a blank line; the head after it, with its
    ``chunked<HTAB>``, is still parsed head by head."""
    piece = b"x\t\r\ny" * 16_384  # 80 KiB: HTAB+CR everywhere, never a blank line
    chunked = b"".join(b"%x\r\n%b\r\n" % (len(piece), piece) for _ in range(8)) + b"0\r\n\r\n"
    head = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    with srv.connect() as sock:
        sock.sendall(head + chunked + TE_TAB_HEAD + b"2\r\nok\r\n0\r\n\r\n" + NEXT)
        reader = ResponseReader(sock)
        first, second, third = reader.read(), reader.read(), reader.read()
    assert (first.status, first.body) == (200, piece * 8)
    assert (second.status, second.body) == (200, b"ok")
    assert (third.status, third.body) == (200, b"home\n")


@pytest.mark.parametrize("method", ["GET", "OPTIONS", "HEAD"])
def test_an_asterisk_form_target_gets_400(srv, method):
    out = exchange(srv.port, f"{method} * HTTP/1.1\r\nHost: a\r\n\r\n".encode())
    assert last_status(out) == 400


@pytest.mark.parametrize(
    "request_bytes, status, reason",
    [
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999\r\n\r\n", 413,
         b"Content Too Large"),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414, b"URI Too Long"),
        (b"GET /index.html HTTP/1.1\r\nHost: a\r\nRange: bytes=100-\r\n\r\n", 416,
         b"Range Not Satisfiable"),
    ],
    ids=["413", "414", "416"],
)  # fmt: skip
def test_reason_phrases_are_rfc_9110s(srv, request_bytes, status, reason):
    out = exchange(srv.port, request_bytes)
    assert out.startswith(b"HTTP/1.1 %d %s\r\n" % (status, reason)), out[:80]
    if status != 416:  # the built-in page names the status the same way
        assert b"<title>%d %s</title>" % (status, reason) in out


# -- against nginx ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nginx(tmp_path_factory) -> Iterator[int]:
    base = tmp_path_factory.mktemp("nginx-parsing")
    (base / "www").mkdir()
    (base / "www" / "index.html").write_text("home\n")
    with nginx_reference(base, f"server {{ listen 127.0.0.1:PORT; root {base / 'www'}; }}") as port:
        yield port


@pytest.fixture(scope="module")
def webserv(tmp_path_factory) -> Iterator[ServerProcess]:
    server = start(tmp_path_factory.mktemp("webserv-parsing"))
    yield server
    server.stop()


def status_class(status: int) -> str:
    return "400" if status == 400 else "not 400"


@requires_nginx
@pytest.mark.parametrize(
    "data",
    [*MALFORMED.values(), UNKNOWN_METHOD["unknown"], CHUNK_EXT_BWS],
    ids=[*(f"malformed_{k}" for k in MALFORMED), "unknown_method", "chunk_ext_bws"],
)
def test_malformed_or_not_is_decided_as_nginx_decides(nginx, webserv, data):
    """nginx answers an unknown method 405 where SPEC asks 501; a malformed line is 400 on
    both, and BWS before a chunk extension is accepted by both."""
    theirs = last_status(exchange(nginx, data))
    ours = last_status(exchange(webserv.port, data))
    assert status_class(ours) == status_class(theirs), (ours, theirs)


@requires_nginx
@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_asterisk_form_is_refused_as_nginx_refuses_it(nginx, webserv, method):
    data = f"{method} * HTTP/1.1\r\nHost: a\r\n\r\n".encode()
    assert last_status(exchange(webserv.port, data)) == last_status(exchange(nginx, data)) == 400
