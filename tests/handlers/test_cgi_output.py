"""Parsing and interpreting the CGI output header block (pure logic)."""

from __future__ import annotations

import pytest

from handlers.cgi_output import CgiHeadParser, CgiOutputError, interpret_head, parse_fields


def feed_all(*parts: bytes):
    parser = CgiHeadParser(limit=1024)
    head = None
    for part in parts:
        head = parser.feed(part)
    return head


def test_header_block_with_lf_lines_ends_at_the_blank_line():
    head = feed_all(b"Content-Type: text/plain\nX-A: 1\n\nbody")
    assert head.fields == [("Content-Type", "text/plain"), ("X-A", "1")]
    assert head.rest == b"body"


def test_header_block_with_crlf_lines():
    head = feed_all(b"Status: 404 Nope\r\nContent-Type: text/html\r\n\r\n<p>")
    assert head.fields == [("Status", "404 Nope"), ("Content-Type", "text/html")]
    assert head.rest == b"<p>"


def test_header_block_split_across_reads_at_every_byte():
    data = b"Content-Type: text/plain\r\n\r\nhello"
    parser = CgiHeadParser()
    heads = [parser.feed(data[i : i + 1]) for i in range(len(data))]
    done = [h for h in heads if h is not None]
    assert done[0].fields == [("Content-Type", "text/plain")]
    assert heads.index(done[0]) == data.index(b"\r\n\r\n") + 3


def test_incomplete_block_returns_none():
    assert feed_all(b"Content-Type: text/plain\n") is None


def test_oversized_header_block_is_an_error():
    with pytest.raises(CgiOutputError):
        feed_all(b"X-Big: " + b"a" * 2000)


@pytest.mark.parametrize(
    "line",
    [b"No colon here", b"X-A: a\0b", b"X-A: a\rb", b"Bad Name: x", b": empty name"],
)
def test_malformed_header_lines_are_errors(line):
    with pytest.raises(CgiOutputError):
        parse_fields(line)


def test_status_sets_status_and_reason():
    r = interpret_head([("Status", "418 I'm a teapot"), ("Content-Type", "text/plain")])
    assert (r.kind, r.status, r.reason) == ("document", 418, "I'm a teapot")
    assert "status" not in r.headers


def test_status_without_reason():
    assert interpret_head([("Status", "201")]).status == 201


@pytest.mark.parametrize("value", ["20", "2000 x", "abc", "", "099 x", "600 x"])
def test_status_that_is_not_three_digits_is_an_error(value):
    with pytest.raises(CgiOutputError):
        interpret_head([("Status", value)])


def test_document_without_status_is_200():
    r = interpret_head([("Content-Type", "text/plain")])
    assert (r.kind, r.status) == ("document", 200)


def test_local_location_is_a_local_redirect():
    r = interpret_head([("Location", "/other?x=1")])
    assert (r.kind, r.location) == ("local-redirect", "/other?x=1")


def test_absolute_location_without_status_is_a_302():
    r = interpret_head([("Location", "http://example.org/")])
    assert (r.kind, r.status) == ("client-redirect", 302)
    assert r.headers["Location"] == "http://example.org/"


def test_absolute_location_keeps_an_explicit_status():
    r = interpret_head([("Status", "301 Moved"), ("Location", "https://x.test/")])
    assert (r.kind, r.status) == ("document", 301)


def test_protocol_relative_location_is_not_a_local_redirect():
    assert interpret_head([("Location", "//evil.test/")]).kind == "document"


def test_hop_by_hop_and_server_owned_fields_are_dropped():
    r = interpret_head(
        [
            ("Content-Type", "text/plain"),
            ("Connection", "close"),
            ("Transfer-Encoding", "chunked"),
            ("Keep-Alive", "timeout=5"),
            ("Server", "evil"),
            ("Date", "yesterday"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ]
    )
    assert r.headers.items() == [
        ("Content-Type", "text/plain"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]


def test_content_length_is_passed_through_when_valid():
    r = interpret_head([("Content-Type", "a/b"), ("Content-Length", "12")])
    assert r.headers["Content-Length"] == "12"
    with pytest.raises(CgiOutputError):
        interpret_head([("Content-Length", "+12")])


def test_empty_header_block_is_an_error():
    head = feed_all(b"\nbody")
    assert head.fields == [] and head.rest == b"body"
    with pytest.raises(CgiOutputError):
        interpret_head(head.fields)
