"""llhttp (through httptools) as the connection uses it: parser construction with the
leniency RFC 9112 allows, a parser primed to resume inside a request body, and the
status of a request line llhttp refuses. Sans-I/O; the callbacks belong to ``Connection``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httptools

from framework.bounded_cache import BoundedCache

if TYPE_CHECKING:
    from framework.http.connection import Connection


def last_head_end(data: bytes | memoryview) -> int:
    """Where a head that began in ``data`` and is not complete can start at the earliest:
    just after the last blank line (the end of an earlier head or chunked body), else 0."""
    raw = bytes(data)
    crlf = raw.rfind(b"\r\n\r\n")
    lf = raw.rfind(b"\n\n")
    return max(crlf + 4 if crlf >= 0 else 0, lf + 2 if lf >= 0 else 0)


def versionless(conn: Connection, data: bytes | memoryview) -> bool:
    """The request line being parsed ended right after its target, without a version (a
    bare ``GET /path``): its target is followed by CR or LF near the end of ``data``. Only on
    a line that has no version yet (llhttp reports 0.0, or 0.9 once past the line)."""
    if conn.parser.get_http_version() not in ("0.0", "0.9"):
        return False
    url = conn._url[-1]
    tail = bytes(data[-(len(url) + 64) :])
    end = tail.rfind(url) + len(url)
    return end >= len(url) and tail[end : end + 1] in (b"\r", b"\n")


def new_parser(conn: Connection) -> httptools.HttpRequestParser:
    return lenient(httptools.HttpRequestParser(conn))


def lenient(parser: httptools.HttpRequestParser) -> httptools.HttpRequestParser:
    """RFC 9112 7.1.1: BWS before a chunk extension (``5 ;ext``) is valid; llhttp wants a
    leniency for it (httptools >= 0.6.3, which pyproject requires)."""
    parser.set_dangerous_leniencies(lenient_spaces_after_chunk_size=True)
    return parser


def parser_inside_body(conn: Connection, length: int | None) -> httptools.HttpRequestParser:
    """A parser for ``conn`` that is inside a request body of ``length`` bytes (None:
    chunked), as if it had parsed the head itself: it is primed with a stand-in head whose
    callbacks are swallowed."""
    parser = lenient(httptools.HttpRequestParser(_InsideBody(conn)))
    framing = b"Transfer-Encoding: chunked" if length is None else b"Content-Length: %d" % length
    parser.feed_data(b"POST / HTTP/1.1\r\nHost: -\r\n" + framing + b"\r\n\r\n")
    return parser


class _InsideBody:
    """Parser callbacks that drop the stand-in head of ``parser_inside_body`` and pass
    everything after it to the connection."""

    __slots__ = (
        "conn",
        "priming",
        "on_body",
        "on_message_complete",
        "on_chunk_header",
    )

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.priming = True
        self.on_body = conn.on_body
        self.on_message_complete = conn.on_message_complete
        self.on_chunk_header = conn.on_chunk_header

    def on_message_begin(self) -> None:
        if not self.priming:
            self.conn.on_message_begin()

    def on_url(self, url: bytes) -> None:
        if not self.priming:
            self.conn.on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.priming:
            self.conn.on_header(name, value)

    def on_headers_complete(self) -> None:
        if self.priming:
            self.priming = False
        else:
            self.conn.on_headers_complete()


# llhttp's methods are case-sensitive; a request line of this shape with an unknown method
# is a 501, anything else llhttp refuses at the method is a malformed line (400)
_REQUEST_LINE = re.compile(
    rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+) [^\x00-\x20\x7f]+ HTTP/[0-9]\.[0-9]\r?$", re.M
)
_KNOWN: BoundedCache[bytes, bool] = BoundedCache(256)  # method token -> llhttp accepts it


def bad_method_status(data: bytes | memoryview) -> int:
    """The status for a request llhttp refused at its method: 501 when ``data`` holds a
    well-formed request line whose method llhttp does not know, else 400."""
    for match in _REQUEST_LINE.finditer(bytes(data)):
        method = match.group(1)
        known = _KNOWN.get(method)
        if known is None:
            known = _llhttp_knows(method)
            _KNOWN.put(method, known)
        if not known:
            return 501
    return 400


def _llhttp_knows(method: bytes) -> bool:
    try:
        httptools.HttpRequestParser(object()).feed_data(method + b" / HTTP/1.1\r\n")
    except httptools.HttpParserInvalidMethodError:
        return False
    except httptools.HttpParserError:
        pass
    return True
