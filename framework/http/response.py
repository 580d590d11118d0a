"""The response object handlers return."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from framework.http.headers import Headers
from framework.http.tunnel import Upgrade


@dataclass(slots=True)
class FileBody:
    """A file (path or open binary file) slice, sent with ``os.sendfile`` when possible.

    ``length`` None means "to the end of the file". The engine opens a ``Path`` itself and
    closes whatever it opened; an open file passed in is closed by the engine after sending.
    """

    file: Path | IO[bytes]
    offset: int = 0
    length: int | None = None

    def size(self) -> int:
        """Bytes this body will send (stats the file)."""
        if isinstance(self.file, Path):
            total = self.file.stat().st_size
        else:
            total = os.fstat(self.file.fileno()).st_size
        end = total if self.length is None else min(total, self.offset + self.length)
        return max(0, end - self.offset)


Body = bytes | FileBody | AsyncIterable[bytes]


class BodyAborted(Exception):  # noqa: N818 - an expected event, not a bug
    """Raised by a streaming response body to abort a response that has started (e.g. a
    CGI timing out mid-output): the engine logs one line, without a traceback, and closes
    the connection so the client sees a truncated response."""


class Response:
    """``Response(status, body=b"", headers=None)``.

    ``body`` may be ``bytes``/``str`` (UTF-8), a ``pathlib.Path`` or an open binary file
    (sent with sendfile), or an async iterator of bytes (streamed with backpressure; chunked
    unless a Content-Length header is set). ``headers`` is a case-insensitive multi-dict.

    ``raw=True``: the body (bytes or an async iterator) is the whole HTTP message, status
    line and headers included (NPH CGI); it is written as is, with backpressure, and the
    connection is closed after it. ``status`` is then only what the access log records.
    """

    __slots__ = ("status", "body", "headers", "reason", "raw")

    def __init__(
        self,
        status: int = 200,
        body: bytes | str | Path | IO[bytes] | AsyncIterable[bytes] | FileBody | Upgrade = b"",
        headers: Headers | dict[str, str] | list[tuple[str, str]] | None = None,
        *,
        reason: str | None = None,
        raw: bool = False,
    ) -> None:
        self.status = status
        self.raw = raw
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.reason = reason
        self.body: Body = _coerce_body(body, self.headers)

    @classmethod
    def file(
        cls,
        path: Path | str | IO[bytes],
        offset: int = 0,
        length: int | None = None,
        *,
        status: int = 200,
        headers: Headers | dict[str, str] | None = None,
    ) -> Response:
        """A response whose body is ``length`` bytes of ``path`` from ``offset``."""
        target = Path(path) if isinstance(path, str) else path
        return cls(status, FileBody(target, offset, length), headers)

    def __repr__(self) -> str:
        return f"<Response {self.status}>"


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8. A request path that was not UTF-8 is kept with surrogate escapes
    (``request.path`` of ``/%c0%ae``): echoing it gives back the bytes the client sent; any
    other unpaired surrogate becomes ``?`` rather than a 500."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _coerce_body(body: Any, headers: Headers) -> Body:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        if "content-type" not in headers:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        return _utf8(body)
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    if isinstance(body, FileBody):
        return body
    if isinstance(body, Path):
        return FileBody(body)
    if hasattr(body, "fileno") and hasattr(body, "read"):
        return FileBody(body)
    if hasattr(body, "__aiter__"):
        return body
    if isinstance(body, Upgrade):  # a 101 answer's tunnel (framework.http.tunnel)
        return body  # type: ignore[return-value]
    raise TypeError(f"unsupported response body type {type(body).__name__}")
