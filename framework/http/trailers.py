"""``TrailerGuard``: keeps the trailer section of a chunked request body to flat memory
(sans-I/O).

httptools buffers a header line until it ends, trailers included, so a client could make it
hold any amount of memory with one endless trailer line (and copy it again at every read).
Trailers never change anything here (RFC 9112 7.1.2: they are dropped), so once the section
has gone past ``client_header_max_size`` the rest of it is not parsed at all: it is scanned
for the empty line that ends it, and the parser gets a short stand-in ending instead (nginx
skips trailers the same way, without a limit).

The engine tells the guard what the parser reported (``last_chunk`` on a chunk header,
``body_data`` on body bytes, ``done`` at the end of the message) and hands it each read:
``parsed(data)`` after the parser took it, ``skip(data)`` instead of the parser while
``skipping``.
"""

from __future__ import annotations

from enum import IntEnum


class TrailerState(IntEnum):
    OFF = 0  # not in a trailer section
    STARTED = 1  # a chunk header came in the read being parsed: maybe the last chunk
    COUNTING = 2  # in the trailer section, counting its raw bytes
    SKIPPING = 3  # over the limit: reads go to ``skip``, not to the parser


class TrailerGuard:
    """The raw-byte count and the skipping of one connection's trailer sections."""

    __slots__ = ("limit", "state", "size", "colon", "tail", "ending")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.state = TrailerState.OFF
        self.size = 0  # trailer bytes parsed in the reads after the one it began in
        self.colon = False  # the line being parsed has its colon (a value is under way)
        self.tail = b""  # the last 3 bytes seen: a CRLF may be split across reads
        self.ending = b""  # what ends the section for the parser, once skipping

    @property
    def skipping(self) -> bool:
        """True while reads must go to ``skip`` instead of the parser."""
        return self.state is TrailerState.SKIPPING

    # -- what the parser reported ----------------------------------------------------------
    def last_chunk(self) -> None:
        """A chunk header was parsed: unless body data follows, the trailers begin."""
        self.state = TrailerState.STARTED

    def body_data(self) -> None:
        """Body bytes were parsed: that chunk was not the last one."""
        self.state = TrailerState.OFF

    def done(self) -> None:
        """The message ended."""
        self.state = TrailerState.OFF

    # -- reads -------------------------------------------------------------------------------
    def parsed(self, data: bytes | memoryview) -> None:
        """The parser took ``data`` (the state says where it stands now). Counting starts
        with the read after the one the section began in (where it began is unknown), so the
        parser buffers at most one read beyond ``limit``."""
        state = self.state
        if state is TrailerState.OFF:
            return
        raw = bytes(data)
        line_start = raw.rfind(b"\n") + 1
        if state is TrailerState.STARTED:
            self.state = TrailerState.COUNTING
            self.size = 0
            self.colon = b":" in raw[line_start:]
            self.tail = raw[-3:]
            return
        self.size += len(data)
        if line_start:
            self.colon = b":" in raw[line_start:]
        elif not self.colon:
            self.colon = b":" in raw
        self.tail = (self.tail + raw)[-3:]
        if self.size > self.limit:
            self.state = TrailerState.SKIPPING
            self.ending = _ending(self.tail, self.colon)

    def skip(self, data: bytes | memoryview) -> tuple[bytes, int] | None:
        """Scan a read while skipping: None while the section goes on, else the bytes that
        end it for the parser and the offset in ``data`` of what follows it."""
        seen = self.tail + bytes(data)
        end = seen.find(b"\r\n\r\n")
        if end < 0:
            self.tail = seen[-3:]
            return None
        self.state = TrailerState.OFF
        return self.ending, end + 4 - len(self.tail)


def _ending(tail: bytes, colon: bool) -> bytes:
    """Bytes that finish the line the parser is in and then the section: it stopped at a
    line start, after a CR, inside a field name, or inside a value."""
    if tail.endswith(b"\r\n"):
        return b"\r\n"
    if tail.endswith(b"\r"):
        return b"\n\r\n"
    return b"\r\n\r\n" if colon else b":\r\n\r\n"
