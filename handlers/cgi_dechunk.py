"""Decoding a CGI script's own ``Transfer-Encoding: chunked`` output.

RFC 3875 leaves the transfer coding to the server, but some scripts chunk their output
themselves. Their ``Transfer-Encoding`` header is dropped with the other hop-by-hop fields,
so the body must be decoded too, or the client gets it chunked twice. The chunked framing
is llhttp's job (httptools), as it is for request bodies: the decoder feeds the script's
bytes to a response parser primed with a head that says "chunked".
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httptools

from framework.http.response import BodyAborted

_PRIMER = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


class ChunkedDecoder:
    """Sans-I/O: ``feed(data)`` returns the decoded payload bytes in ``data``; ``done`` is
    True once the last chunk (and any trailer) has been read. Invalid framing raises
    ``ValueError``."""

    __slots__ = ("_parser", "_out", "done")

    def __init__(self) -> None:
        self._out: list[bytes] = []
        self.done = False
        self._parser = httptools.HttpResponseParser(self)
        self._parser.feed_data(_PRIMER)

    def on_body(self, data: bytes) -> None:
        self._out.append(data)

    def on_message_complete(self) -> None:
        self.done = True

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return b""  # bytes after the last chunk are not part of the body
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise ValueError(f"invalid chunked output: {exc}") from None
        out, self._out = self._out, []
        return b"".join(out)


async def dechunked(body: AsyncIterator[bytes], label: str) -> AsyncIterator[bytes]:
    """The payload of a script's chunked ``body``; closing this closes ``body`` (which
    ends the script's run). Broken framing aborts the response (the client sees a
    truncated message rather than a corrupt one)."""
    decoder = ChunkedDecoder()
    try:
        async for data in body:
            try:
                payload = decoder.feed(data)
            except ValueError as exc:
                raise BodyAborted(f"{label}: {exc}") from None
            if payload:
                yield payload
            if decoder.done:
                return
        if not decoder.done:
            raise BodyAborted(f"{label}: chunked output ended before its last chunk")
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()
