"""The upstream response parser (httptools): heads split anywhere, interim answers
skipped, HEAD, close-delimited bodies, 101 with the tunnel's first bytes, invalid input."""

from __future__ import annotations

import pytest

from framework.upstream.response import InvalidResponse, ResponseParser

RESPONSE = (
    b"HTTP/1.1 200 Fine\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
    b"X-A: 1\r\nX-A: 2\r\n\r\nhello"
)


def body(parser: ResponseParser) -> bytes:
    parts = []
    while (chunk := parser.take()) is not None:
        parts.append(chunk)
    return b"".join(parts)


@pytest.mark.parametrize("step", [1, 7, len(RESPONSE)])
def test_content_length_response_in_pieces(step: int) -> None:
    parser = ResponseParser()
    for i in range(0, len(RESPONSE), step):
        parser.feed(RESPONSE[i : i + step])
    assert parser.head_done and parser.complete and parser.keep_alive
    assert (parser.status, parser.reason, parser.version) == (200, "Fine", "1.1")
    assert parser.headers[-2:] == [("x-a", "X-A", "1"), ("x-a", "X-A", "2")]
    assert body(parser) == b"hello"


def test_chunked_and_interim_answers() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
    assert not parser.head_done
    parser.feed(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    assert parser.status == 201 and not parser.complete
    assert [name for _, name, _ in parser.headers] == ["Transfer-Encoding"]
    parser.feed(b"0\r\n\r\n")
    assert parser.complete and body(parser) == b"abc"


def test_close_delimited_body_ends_at_eof() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.0 200 OK\r\n\r\nsome")
    assert not parser.complete
    assert parser.feed_eof() and parser.complete and not parser.keep_alive
    assert body(parser) == b"some"


def test_truncated_body_is_not_a_normal_end() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    assert not parser.feed_eof()


def test_head_response_ends_with_its_head() -> None:
    parser = ResponseParser(head_request=True)
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    assert parser.complete and not parser.keep_alive and body(parser) == b""


def test_no_body_statuses() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n")
    assert parser.complete and parser.keep_alive


def test_switching_protocols_keeps_the_bytes_after_the_head() -> None:
    parser = ResponseParser()
    parser.feed(
        b"HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi"
    )
    assert parser.upgraded and parser.status == 101
    assert parser.rest == b"\x81\x02hi"


@pytest.mark.parametrize("data", [b"this is not http\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n"])
def test_invalid_responses(data: bytes) -> None:
    with pytest.raises(InvalidResponse):
        ResponseParser().feed(data)


def test_connection_close_is_not_kept_alive() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert parser.complete and not parser.keep_alive


def test_a_head_without_end_is_refused_past_a_limit() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(InvalidResponse, match="too big header"):
        for _ in range(100):
            parser.feed(b"X-Long: " + b"a" * 1000 + b"\r\n")
