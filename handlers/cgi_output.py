"""Parsing a CGI script's output header block (RFC 3875 section 6), sans I/O.

``CgiHeadParser.feed(data)`` accumulates stdout bytes until the blank line that ends the
header block, then ``interpret_head`` turns the fields into a document response, a local
redirect or a client redirect. Anything malformed raises ``CgiOutputError`` (a 502).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from framework.http.headers import Headers

MAX_HEAD_SIZE = 64 * 1024

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_STATUS = re.compile(r"([1-5][0-9][0-9])(?:[ \t]+(.*))?")
_DIGITS = re.compile(r"[0-9]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")

# hop-by-hop fields (RFC 9110 7.6.1) and the fields the server itself owns
STRIPPED_FIELDS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "server",
        "date",
    }
)


class CgiOutputError(Exception):
    """The script's output is not a valid CGI response (answered with 502)."""


@dataclass(slots=True)
class CgiHead:
    """The raw header fields of a CGI response, in order, and the body bytes read with them."""

    fields: list[tuple[str, str]]
    rest: bytes = b""


class CgiHeadParser:
    """Accumulates output until the header block is complete (LF or CRLF line ends)."""

    def __init__(self, limit: int = MAX_HEAD_SIZE) -> None:
        self._buf = bytearray()
        self._limit = limit
        self._scanned = 0

    def feed(self, data: bytes) -> CgiHead | None:
        """Add output; returns the head once the blank line has been seen."""
        buf = self._buf
        buf += data
        end, body_start = _find_head_end(buf, self._scanned)
        if end < 0:
            if len(buf) > self._limit:
                raise CgiOutputError(f"header block larger than {self._limit} bytes")
            self._scanned = max(0, len(buf) - 3)
            return None
        if end > self._limit:
            raise CgiOutputError(f"header block larger than {self._limit} bytes")
        return CgiHead(parse_fields(bytes(buf[:end])), bytes(buf[body_start:]))

    @property
    def buffered(self) -> int:
        return len(self._buf)


def _find_head_end(buf: bytearray, start: int) -> tuple[int, int]:
    """(end of the last header line, start of the body), or (-1, -1) if incomplete.

    The block ends at the first empty line; the output may also start with one (no
    fields at all, rejected later)."""
    if buf.startswith(b"\n"):
        return 0, 1
    if buf.startswith(b"\r\n"):
        return 0, 2
    i = buf.find(b"\n\n", start)
    j = buf.find(b"\n\r\n", start)
    if i < 0 and j < 0:
        return -1, -1
    if j < 0 or (0 <= i < j):
        return i, i + 2
    return j, j + 3


def parse_fields(block: bytes) -> list[tuple[str, str]]:
    """Split a header block into (name, value) pairs; raise on NUL/CR/missing colon."""
    if not block:
        return []
    fields = []
    for line in block.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if b"\r" in line or b"\0" in line:
            raise CgiOutputError("CR or NUL in a header line")
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise CgiOutputError(f"malformed header line {line[:80]!r}")
        fields.append((name.decode("ascii"), value.strip(b" \t").decode("latin-1")))
    return fields


@dataclass(slots=True)
class CgiResponseHead:
    """What the header block means: ``kind`` is 'document', 'local-redirect' or
    'client-redirect'."""

    kind: str
    status: int
    reason: str | None
    headers: Headers = field(default_factory=Headers)
    location: str | None = None
    chunked: bool = False  # the script chunked its body itself (it must be decoded)


def interpret_head(fields: list[tuple[str, str]]) -> CgiResponseHead:
    """Apply RFC 3875 section 6 to the fields of a header block.

    - ``Status: NNN reason`` sets the status (not three digits: error);
    - ``Location: /path`` with no other status than 200 is a local redirect (Apache's rule:
      any body is discarded);
    - ``Location: scheme:...`` without ``Status`` is a 302;
    - hop-by-hop fields, ``Server`` and ``Date`` are dropped; the rest pass through.
    """
    if not fields:
        raise CgiOutputError("no header fields")
    status: int | None = None
    reason: str | None = None
    headers = Headers()
    location: str | None = None
    chunked = False
    for name, value in fields:
        lower = name.lower()
        if lower == "transfer-encoding":
            chunked = value.rsplit(",", 1)[-1].strip(" \t").lower() == "chunked"
            continue
        if lower == "status":
            if status is not None:
                raise CgiOutputError("more than one Status field")
            m = _STATUS.fullmatch(value)
            if m is None:
                raise CgiOutputError(f"invalid Status {value[:40]!r}")
            status = int(m.group(1))
            reason = (m.group(2) or "").strip() or None
            continue
        if lower in STRIPPED_FIELDS:
            continue
        if lower == "content-length" and not _DIGITS.fullmatch(value):
            raise CgiOutputError(f"invalid Content-Length {value[:40]!r}")
        if lower == "location":
            if location is not None:
                raise CgiOutputError("more than one Location field")
            location = value
        headers.add(name, value)
    if location is not None:
        if location.startswith("/") and not location.startswith("//") and status in (None, 200):
            return CgiResponseHead("local-redirect", 200, None, headers, location)
        if _SCHEME.match(location) and status is None:
            return CgiResponseHead("client-redirect", 302, None, headers, location)
    if chunked:
        headers.pop("content-length")  # Transfer-Encoding overrides it (RFC 9112 6.3)
    return CgiResponseHead("document", status or 200, reason, headers, location, chunked)
