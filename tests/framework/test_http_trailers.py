"""``TrailerGuard`` (sans-I/O): counts a trailer section's raw bytes, then skips the rest of
it and hands the parser an ending that matches where it stopped."""

from __future__ import annotations

import httptools
import pytest

from framework.http.trailers import TrailerGuard, TrailerState


def test_body_data_after_a_chunk_header_means_no_trailer():
    guard = TrailerGuard(10)
    guard.last_chunk()
    guard.body_data()
    guard.parsed(b"x" * 100)
    assert guard.state is TrailerState.OFF


def test_counting_starts_with_the_read_after_the_last_chunk_and_stops_past_the_limit():
    guard = TrailerGuard(10)
    guard.last_chunk()
    guard.parsed(b"0\r\nX-A: " + b"v" * 100)  # where the section began is not known
    assert guard.state is TrailerState.COUNTING
    guard.parsed(b"v" * 10)
    assert not guard.skipping
    guard.parsed(b"v")
    assert guard.skipping


def test_skip_finds_the_end_split_across_reads_and_returns_the_offset_after_it():
    guard = TrailerGuard(0)
    guard.last_chunk()
    guard.parsed(b"0\r\nX-A: v")
    guard.parsed(b"vv\r")
    assert guard.skipping and guard.ending == b"\n\r\n"
    assert guard.skip(b"\nX-B: w\r") is None
    assert guard.skip(b"\n\r") is None
    assert guard.skip(b"\nGET /") == (b"\n\r\n", 1)
    assert guard.state is TrailerState.OFF


class _Sink:
    def __init__(self) -> None:
        self.done = False

    def on_message_complete(self) -> None:
        self.done = True


@pytest.mark.parametrize(
    "fed, ending",
    [
        (b"X-A: 1\r\n", b"\r\n"),
        (b"X-A: 1\r", b"\n\r\n"),
        (b"X-A: 123", b"\r\n\r\n"),
        (b"X-Aaaa", b":\r\n\r\n"),
        (b"", b"\r\n"),
    ],
    ids=["line_start", "after_cr", "in_value", "in_name", "section_start"],
)
def test_the_ending_completes_the_message_wherever_the_parser_stopped(fed, ending):
    guard = TrailerGuard(-1)  # any byte after the read the section began in is too many
    guard.last_chunk()
    head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    guard.parsed(head)
    guard.parsed(fed)
    assert guard.skipping
    sink = _Sink()
    parser = httptools.HttpRequestParser(sink)
    parser.feed_data(head + fed)
    parser.feed_data(guard.ending)
    assert sink.done
