"""Issue 9 item 3: the trailer section of a chunked body is bounded. Past
client_header_max_size it is skipped unparsed (httptools would buffer a partial trailer line
without limit, copying it at every read), so server memory stays flat, the body is answered,
and the connection goes on with the next request."""

from __future__ import annotations

import pytest
from hardening_engine_fixtures import start, still_serves

from framework.testing import ResponseReader

MIB = 1024 * 1024


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def srv(request, tmp_path_factory):
    server = start(tmp_path_factory.mktemp(f"trailers-{request.param}"), request.param)
    yield server
    server.stop()


HEAD = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
NEXT = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"


def send_trailer(srv, start: bytes, filler: bytes, megabytes: int, end: bytes) -> int:
    """Send a chunked POST whose trailer section is ``start`` + ``filler`` repeated to
    ``megabytes`` + ``end``, then a second request; returns the peak RSS growth (KiB)."""
    before = srv.rss_kib()
    peak = 0
    with srv.connect(30) as sock:
        sock.sendall(HEAD + start)
        piece = filler * (MIB // len(filler))
        for _ in range(megabytes):
            sock.sendall(piece)
            peak = max(peak, srv.rss_kib() - before)
        sock.sendall(end + NEXT)
        reader = ResponseReader(sock)
        first, second = reader.read(), reader.read()
    assert (first.status, first.body) == (200, b"hello")
    assert (second.status, second.body) == (200, b"home\n")
    return peak


@pytest.mark.parametrize(
    "start, filler, end",
    [
        (b"X-Long: ", b"v", b"\r\n\r\n"),  # one endless value
        (b"X-", b"n", b": v\r\n\r\n"),  # one endless field name
        (b"", b"X-Many: 0123456789\r\n", b"\r\n"),  # endless short lines
    ],
    ids=["value", "name", "lines"],
)
def test_a_huge_trailer_section_is_skipped_with_flat_memory(srv, start, filler, end):
    peak = send_trailer(srv, start, filler, 64, end)
    assert peak < 16 * 1024, f"server RSS grew {peak} KiB while a 64 MiB trailer streamed past"
    still_serves(srv)


def test_small_trailers_are_still_parsed_and_dropped(srv):
    with srv.connect() as sock:
        sock.sendall(HEAD + b"X-A: 1\r\nX-B: 2\r\n\r\n" + NEXT)
        reader = ResponseReader(sock)
        assert reader.read().body == b"hello"
        assert reader.read().body == b"home\n"


def test_a_content_length_trailer_is_still_refused(srv):
    with srv.connect() as sock:
        sock.sendall(HEAD + b"Content-Length: 5\r\n\r\n")
        assert ResponseReader(sock).read().status == 400
