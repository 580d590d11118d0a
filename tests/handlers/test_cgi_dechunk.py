"""``handlers.cgi_dechunk``: a script's own chunked output decoded, whatever way it is cut
into reads; broken or unfinished framing aborts the response; closing the decoded stream
closes the script's."""

from __future__ import annotations

import asyncio

import pytest

from framework.http.response import BodyAborted
from handlers.cgi_dechunk import ChunkedDecoder, dechunked

ENCODED = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"


@pytest.mark.parametrize("size", [1, 2, 3, 7, len(ENCODED)])
def test_any_split_of_the_reads_decodes_the_same(size):
    decoder = ChunkedDecoder()
    out = b"".join(decoder.feed(ENCODED[i : i + size]) for i in range(0, len(ENCODED), size))
    assert out == b"hello, world"
    assert decoder.done
    assert decoder.feed(b"after the last chunk") == b""


class _Source:
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.closed = False

    def __aiter__(self):
        return self

    async def __anext__(self) -> bytes:
        if not self.parts:
            raise StopAsyncIteration
        return self.parts.pop(0)

    async def aclose(self) -> None:
        self.closed = True


async def _drain(source: _Source) -> bytes:
    out = b""
    async for data in dechunked(source, "cgi test"):
        out += data
    return out


def test_output_that_ends_before_its_last_chunk_aborts_and_closes_the_script():
    source = _Source([b"5\r\nhel", b"lo\r\n"])  # the script exits without "0\r\n\r\n"
    with pytest.raises(BodyAborted, match="before its last chunk"):
        asyncio.run(_drain(source))
    assert source.closed


def test_bad_framing_aborts_and_closes_the_script():
    source = _Source([b"5\r\nhello\r\nZZ\r\n"])
    with pytest.raises(BodyAborted, match="invalid chunked output"):
        asyncio.run(_drain(source))
    assert source.closed


def test_a_complete_stream_closes_the_script_too():
    source = _Source([ENCODED])
    assert asyncio.run(_drain(source)) == b"hello, world"
    assert source.closed
