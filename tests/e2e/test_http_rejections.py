"""SPEC 5 strict parsing: each malformed request gets its status and the connection closes,
and nothing sent after the bad request is ever answered."""

from __future__ import annotations

import pytest
from http_fixtures import exchange, start_server

from framework.version import PRODUCT_VERSION


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("rejections"))
    yield server
    server.stop()


FOLLOW_UP = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"

CASES = {
    "missing_host_on_1_1": (b"GET / HTTP/1.1\r\n\r\n", 400),
    "two_host_headers": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    "invalid_host_value": (b"GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n", 400),
    "space_before_colon": (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    "header_without_colon": (b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
    "obs_fold": (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  c\r\n\r\n", 400),
    "bare_lf": (b"GET / HTTP/1.1\nHost: a\n\n", 400),
    "bare_cr": (b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400),
    "content_length_plus": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
        400,
    ),
    "content_length_underscore": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1_0\r\n\r\nhello",
        400,
    ),
    "content_length_negative": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        400,
    ),
    "content_length_list": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello",
        400,
    ),
    "two_content_lengths": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        400,
    ),
    "content_length_with_transfer_encoding": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "chunked_on_http_1_0": (
        b"POST /echo HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "chunked_not_last": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        400,
    ),
    "chunked_twice": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "invalid_chunk_size": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    "chunk_data_without_crlf": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy0\r\n\r\n",
        400,
    ),
    "lf_in_chunk_extension": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1;a\nb\r\nx\r\n0\r\n\r\n",
        400,
    ),
    "content_length_trailer": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1\r\nx\r\n0\r\nContent-Length: 5\r\n\r\n",
        400,
    ),
    "fragment_in_target": (b"GET /index.html#top HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "nul_in_target": (b"GET /index%00.html HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "unknown_transfer_coding": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        501,
    ),
    "unknown_coding_before_chunked": (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
    ),
    "unknown_method": (b"FROB / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    "http_2_0": (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    "http_1_2": (b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
    "request_line_over_8k": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    "headers_over_client_header_max_size": (
        b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-Big: " + b"b" * 5000 + b"\r\n\r\n",
        431,
    ),
    "many_headers_over_client_header_max_size": (
        b"GET / HTTP/1.1\r\nHost: a\r\n"
        + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 90) for i in range(60))
        + b"\r\n",
        431,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_request_is_rejected_and_the_connection_closed(srv, name):
    data, status = CASES[name]
    first, rest = exchange(srv, data + FOLLOW_UP)
    assert first.status == status, first
    assert first.header("Connection") == "close"
    assert int(first.header("Content-Length")) == len(first.body)
    assert first.header("Date") and first.header("Server") == PRODUCT_VERSION
    # the request smuggled after the bad one is never answered
    assert b"HTTP/1.1" not in rest


def test_one_empty_line_before_the_request_line_is_tolerated(srv):
    first, _ = exchange(
        srv, b"\r\nGET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert first.status == 200
    assert first.body == b"<h1>home</h1>\n"


def test_http_1_0_without_host_is_accepted(srv):
    first, _ = exchange(srv, b"GET /index.html HTTP/1.0\r\n\r\n")
    assert first.status == 200
    assert first.header("Connection") == "close"


def test_a_valid_trailer_is_dropped_and_the_body_kept(srv):
    first, _ = exchange(
        srv,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n",
    )
    assert (first.status, first.body) == (200, b"hello")
