"""What comes before HTTP on a ``listen ... proxy_protocol`` and/or ``ssl`` address, sans I/O.

``Preamble.feed(data)`` takes a connection's first bytes, in whatever pieces they arrive,
and returns ``None`` until it can tell how the connection starts: an ``Opening`` with the
PROXY header's source address (when the address expects one) and what follows it: a TLS
handshake, HTTP, or HTTP sent to a TLS address (which nginx answers with a 400). A broken
PROXY header raises ``ProxyProtocolError``. What it holds is bounded: the PROXY header's
limits, then the first TLS record (whose ClientHello's ALPN offer is read here).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from framework.core.tls import (
    HTTP1_ALPN,
    MAX_RECORD,
    client_hello_alpn,
    first_record_size,
    starts_tls,
)
from framework.http.headers import Headers
from framework.http.proxy_protocol import parse_header
from framework.http.response import Response

Address = tuple[str, int]


class Start(enum.Enum):
    """How a connection goes on after its preamble."""

    HTTP = "http"  # plain HTTP
    TLS = "tls"  # a TLS handshake
    HTTP_ON_TLS = "http-on-tls"  # plain HTTP sent to a TLS address: answered 400, closed


@dataclass(frozen=True, slots=True)
class Opening:
    """The outcome of a preamble: how the connection starts, the PROXY header's source
    address (None: none given, or no header expected), the bytes read after the header
    (the start of the handshake or request), and whether the ClientHello offered ALPN
    protocols that are all foreign to HTTP/1.x (to be refused, as nginx does)."""

    start: Start
    proxy_source: Address | None
    data: bytes
    refuse_alpn: bool = False


class Preamble:
    """Reads a connection's preamble (see the module docstring)."""

    __slots__ = ("_want_proxy", "_tls", "_buffer", "_source")

    def __init__(self, *, proxy_protocol: bool, tls: bool) -> None:
        self._want_proxy = proxy_protocol
        self._tls = tls
        self._buffer = b""
        self._source: Address | None = None

    def feed(self, data: bytes) -> Opening | None:
        """Take the next bytes; the ``Opening`` once known, else None (more needed).
        Raises ``ProxyProtocolError`` for a missing, malformed or oversized PROXY header."""
        buffer = self._buffer + data
        if self._want_proxy:
            header = parse_header(buffer)
            if header is None:
                self._buffer = buffer
                return None
            self._want_proxy = False
            self._source = header.source
            buffer = buffer[header.length :]
        self._buffer = buffer
        if not self._tls:
            return self._opening(Start.HTTP)
        if not buffer:
            return None  # the first byte tells a handshake from plain HTTP
        if not starts_tls(buffer[0]):
            return self._opening(Start.HTTP_ON_TLS)
        size = first_record_size(buffer)
        if (not size or len(buffer) < size) and size <= MAX_RECORD + 5:
            return None  # the whole first record, for the ClientHello's ALPN offer
        offered = client_hello_alpn(buffer[:size])
        refuse = offered is not None and not HTTP1_ALPN.intersection(offered)
        return self._opening(Start.TLS, refuse)

    def _opening(self, start: Start, refuse_alpn: bool = False) -> Opening:
        data, self._buffer = self._buffer, b""
        return Opening(start, self._source, data, refuse_alpn)


_PLAIN_HTTP_PAGE = (
    b"<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>"
    b"\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n"
    b"<center>The plain HTTP request was sent to HTTPS port</center>\r\n"
    b"<hr><center>webserv</center>\r\n</body>\r\n</html>\r\n"
)


def plain_http_to_tls_response() -> Response:
    """nginx's answer to a plain HTTP request on a TLS address (its status 497)."""
    headers = Headers()
    headers["Content-Type"] = "text/html"
    headers["Connection"] = "close"
    return Response(400, _PLAIN_HTTP_PAGE, headers)
