"""``ResponseParser``: an upstream's response head and body, parsed with httptools'
``HttpResponseParser`` (llhttp), sans-I/O: ``feed(data)`` and look at the state.

Informational answers (``100 Continue``, ``103 Early Hints``) are skipped; a ``101`` stops
the parser and keeps the bytes after the head (the tunnel's first bytes). A response to
HEAD ends with its head, whatever ``Content-Length`` says (llhttp cannot be told the
request method, so such a connection is not reused). A body delimited by the close of the
connection ends at EOF (``feed_eof``).

Bytes after the complete response (llhttp would parse them as the next message in the same
``feed_data``) are dropped, logged as nginx does, and the connection is not reused. Trailer
fields of a chunked body are dropped (nginx's default: ``proxy_pass_trailers off``)."""

from __future__ import annotations

from collections import deque

import httptools

from framework.logs import error_log

MAX_HEAD = 64 * 1024  # nginx refuses a head beyond proxy_buffer_size (4 or 8 KiB)


class InvalidResponse(Exception):
    """The upstream sent something that is not an HTTP/1.x response."""


class _ExtraData(Exception):  # noqa: N818 - internal signal, never escapes feed()
    """Raised from a callback to stop llhttp at the start of a second message."""


class ResponseParser:
    """One response (httptools protocol callbacks plus the state they fill)."""

    __slots__ = (
        "_parser",
        "head_request",
        "status",
        "_reason",
        "headers",
        "head_done",
        "complete",
        "keep_alive",
        "chunks",
        "buffered",
        "upgraded",
        "chunked",
        "rest",
        "_interim",
        "_head_bytes",
        "_trailer",
    )

    def __init__(self, *, head_request: bool = False) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self.reset(head_request=head_request)

    def reset(self, *, head_request: bool = False) -> None:
        """Ready for the next response on the same kept-alive connection (llhttp goes on
        from the end of the previous message)."""
        self.head_request = head_request
        self.status = 0
        self._reason = b""
        # (lower-cased name, name, value), as ``Headers`` holds them
        self.headers: list[tuple[str, str, str]] = []
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.upgraded = False
        self.chunked = False  # a Transfer-Encoding header came (the body is not length-framed)
        self.rest = b""  # bytes after a 101's head
        self._head_bytes = 0
        self._interim = False
        self._trailer = False  # a trailer field came (the body's last chunk is in)

    @property
    def reason(self) -> str:
        """The reason phrase of the (final) status line."""
        return self._reason.decode("latin-1")

    @property
    def version(self) -> str:
        """The response's HTTP version (``1.1``), once the head is parsed."""
        return self._parser.get_http_version() if self.head_done else "1.0"

    # -- httptools callbacks -------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self.complete:  # a second message in the same read: stop llhttp right here
            raise _ExtraData

    def on_status(self, status: bytes) -> None:
        self._reason += status  # may come in pieces

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.head_done:  # a trailer field: dropped
            self._trailer = True
        elif not self._interim:
            text = name.decode("latin-1")
            lower = text.lower()
            if lower == "transfer-encoding":
                self.chunked = True
            self.headers.append((lower, text, value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._interim = True
            self.headers.clear()
            self.chunked = False
            self._reason = b""
            return
        self.status = status
        self.keep_alive = parser.should_keep_alive()
        self.head_done = True
        if self.head_request:
            self.complete = True
            self.keep_alive = False

    def on_body(self, body: bytes) -> None:
        if self.complete:  # the body llhttp expects after the head of a HEAD answer
            return
        self.chunks.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self.complete = True

    # -- feeding -------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Parse ``data``; raises ``InvalidResponse`` for a malformed response."""
        if self.complete:
            if self.head_request:
                self.keep_alive = False
            elif data.strip():
                self._extra()
            return
        if not self.head_done:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD and b"\r\n\r\n" not in data:
                raise InvalidResponse("upstream sent too big header")
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            offset = exc.args[0] if exc.args else len(data)
            self.upgraded = self.status == 101
            self.rest = data[offset:]
            self.complete = True
            self.keep_alive = False
            if not self.upgraded:
                raise InvalidResponse("unexpected upgrade from upstream") from None
        except httptools.HttpParserError as exc:  # _ExtraData comes as its __context__
            if self.complete:
                if not self.head_request:
                    self._extra()
                self.keep_alive = False
                return
            if self._trailer:  # llhttp refuses some trailers (Content-Length): body complete
                self.complete = True
                self.keep_alive = False
                return
            raise InvalidResponse(str(exc) or type(exc).__name__) from None

    def _extra(self) -> None:
        """Bytes came after the complete response: dropped; the connection is not reused."""
        error_log.warning("upstream sent more data than specified")
        self.keep_alive = False

    def feed_eof(self) -> bool:
        """The upstream closed the connection: True when that ends the response normally
        (a close-delimited body), False when the response is truncated."""
        if self.complete:
            return True
        if self.head_done and _close_delimited(self):
            self.complete = True
            self.keep_alive = False
            return True
        return False

    def take(self, limit: int = 0) -> bytes | None:
        """The body bytes parsed so far (joined up to ``limit`` bytes when given, else one
        chunk), or None when none are waiting."""
        chunks = self.chunks
        if not chunks:
            return None
        if not limit or len(chunks) == 1:
            chunk = chunks.popleft()
            self.buffered -= len(chunk)
            return chunk
        parts = []
        size = 0
        while chunks and size < limit:
            chunk = chunks.popleft()
            parts.append(chunk)
            size += len(chunk)
        self.buffered -= size
        return b"".join(parts)


def _close_delimited(parser: ResponseParser) -> bool:
    """Whether the body ends only with the connection (no length, not chunked)."""
    if parser.status in (204, 304):
        return False
    for lower, _, value in parser.headers:
        if lower == "content-length":
            return False
        if lower == "transfer-encoding" and "chunked" in value.lower():
            return False
    return True
