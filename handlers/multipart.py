"""A streaming, sans-I/O ``multipart/form-data`` parser (RFC 7578 / RFC 2046 §5.1).

Feed it bytes as they arrive and get events back::

    parser = MultipartParser(boundary_from_content_type(request.headers.get("Content-Type")))
    async for chunk in request.body:
        for event in parser.feed(chunk):
            ...  # PartStart, PartData, PartEnd
    parser.close()  # raises MultipartError if the closing delimiter never came

Only a delimiter-length tail is kept between feeds (plus a bounded part header block), so
memory does not depend on the size of a part. Scanning uses ``bytes.find``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

MAX_HEADER_SIZE = 16 * 1024  # bytes of one part's header block
MAX_PARTS = 1000
_MAX_BOUNDARY_LINE_PADDING = 256  # transport padding allowed after a delimiter


class MultipartError(ValueError):
    """The body (or its Content-Type) is not valid multipart/form-data; answer 400."""


# -- header parameters --------------------------------------------------------------------

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_VALUE_RE = re.compile(rf"\s*({_TOKEN}(?:/{_TOKEN})?)\s*")
_PARAM_RE = re.compile(rf';\s*({_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;"\s]*))\s*')
_TRAILING_RE = re.compile(r"(?:;\s*)*")
_QUOTED_PAIR_RE = re.compile(r'\\([\\"])')
# RFC 2046 bchars; the last one may not be a space
_BOUNDARY_RE = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


def parse_header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type; a=1; b="x y"`` into (``type`` lower-cased, {param: value}).

    Parameter names are lower-cased; the first occurrence of a name wins. In quoted strings
    only ``\\\\`` and ``\\"`` are unescaped, so Windows paths sent by old browsers survive.
    Raises MultipartError on syntax errors.
    """
    match = _VALUE_RE.match(value)
    if match is None:
        raise MultipartError(f"malformed header value {value!r}")
    main = match.group(1).lower()
    params: dict[str, str] = {}
    pos = match.end()
    while pos < len(value):
        param = _PARAM_RE.match(value, pos)
        if param is None:
            tail = _TRAILING_RE.fullmatch(value, pos)
            if tail is None:
                raise MultipartError(f"malformed header parameters in {value!r}")
            break
        name, quoted, bare = param.groups()
        text = _QUOTED_PAIR_RE.sub(r"\1", quoted) if quoted is not None else bare
        params.setdefault(name.lower(), text)
        pos = param.end()
    return main, params


def boundary_from_content_type(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type, validated (1-70 bchars).

    Raises MultipartError when the type is not multipart/form-data or the boundary is
    missing or invalid.
    """
    if not content_type:
        raise MultipartError("missing Content-Type")
    media_type, params = parse_header_params(content_type)
    if media_type != "multipart/form-data":
        raise MultipartError(f"not multipart/form-data: {media_type}")
    boundary = params.get("boundary")
    if boundary is None:
        raise MultipartError("multipart/form-data without a boundary")
    if not _BOUNDARY_RE.fullmatch(boundary):
        raise MultipartError(f"invalid multipart boundary {boundary!r}")
    return boundary.encode("ascii")


def is_multipart_form(content_type: str | None) -> bool:
    """True when the Content-Type names multipart/form-data (boundary not checked)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


def _ext_value(value: str) -> str | None:
    """Decode an RFC 8187 ``charset'lang'pct-encoded`` value; None if it is invalid."""
    parts = value.split("'", 2)
    if len(parts) != 3:
        return None
    charset = parts[0].lower()
    if charset not in ("utf-8", "iso-8859-1"):
        return None
    try:
        return unquote(parts[2], encoding=charset, errors="strict")
    except UnicodeDecodeError:
        return None


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartStart:
    """A part begins. ``filename`` is None for a plain form field (no filename parameter);
    it is the raw, unsanitised client value otherwise (``filename*`` preferred)."""

    name: str
    filename: str | None
    content_type: str
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PartData:
    """Some bytes of the current part's content."""

    data: bytes


@dataclass(frozen=True, slots=True)
class PartEnd:
    """The current part is complete."""


Event = PartStart | PartData | PartEnd


def _parse_part_headers(block: bytes) -> PartStart:
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = block.decode("latin-1")
    headers: list[tuple[str, str]] = []
    for line in text.split("\r\n") if text else ():
        name, colon, value = line.partition(":")
        if not colon or not re.fullmatch(_TOKEN, name):
            raise MultipartError(f"malformed part header line {line[:80]!r}")
        if "\r" in value or "\n" in value or "\0" in value:
            raise MultipartError("control character in a part header")
        headers.append((name, value.strip(" \t")))
    disposition = next((v for k, v in headers if k.lower() == "content-disposition"), None)
    if disposition is None:
        raise MultipartError("part without Content-Disposition")
    kind, params = parse_header_params(disposition)
    if kind != "form-data":
        raise MultipartError(f"part Content-Disposition is {kind!r}, not form-data")
    filename = params.get("filename")
    if "filename*" in params:
        filename = _ext_value(params["filename*"]) or filename
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "text/plain")
    return PartStart(params.get("name", ""), filename, content_type, headers)


# -- the parser ---------------------------------------------------------------------------

_PREAMBLE, _BOUNDARY_LINE, _HEADERS, _BODY, _EPILOGUE, _FAILED = range(6)


class MultipartParser:
    """Sans-I/O multipart parser: ``feed(bytes) -> list[Event]``, then ``close()``.

    Any syntax error raises MultipartError and leaves the parser failed.
    """

    def __init__(
        self,
        boundary: bytes,
        *,
        max_header_size: int = MAX_HEADER_SIZE,
        max_parts: int = MAX_PARTS,
    ) -> None:
        self._delimiter = b"\r\n--" + boundary
        # a leading CRLF lets a boundary at the very start match like any other
        self._buf = bytearray(b"\r\n")
        self._state = _PREAMBLE
        self._max_header_size = max_header_size
        self._max_parts = max_parts
        self._parts = 0

    @property
    def done(self) -> bool:
        """True once the closing delimiter has been seen."""
        return self._state == _EPILOGUE

    def feed(self, data: bytes) -> list[Event]:
        """Parse ``data``; returns the events it completes (possibly none)."""
        if self._state == _FAILED:
            raise MultipartError("parser already failed")
        if self._state == _EPILOGUE:
            return []
        self._buf += data
        events: list[Event] = []
        try:
            while self._step(events):
                pass
        except MultipartError:
            self._state = _FAILED
            self._buf.clear()
            raise
        return events

    def close(self) -> None:
        """Declare the end of input; raises MultipartError if the body was truncated."""
        if self._state != _EPILOGUE:
            self._state = _FAILED
            raise MultipartError("multipart body ended before its closing boundary")

    def _step(self, events: list[Event]) -> bool:
        """Advance one state; False when more input is needed."""
        buf = self._buf
        state = self._state
        if state == _BODY:
            return self._step_body(events)
        if state == _PREAMBLE:
            index = buf.find(self._delimiter)
            if index == -1:
                del buf[: -(len(self._delimiter) - 1)]
                return False
            del buf[: index + len(self._delimiter)]
            self._state = _BOUNDARY_LINE
            return True
        if state == _BOUNDARY_LINE:
            return self._step_boundary_line()
        if state == _HEADERS:
            return self._step_headers(events)
        buf.clear()  # epilogue: ignored
        return False

    def _step_boundary_line(self) -> bool:
        buf = self._buf
        if len(buf) < 2:
            return False
        if buf[:2] == b"--":
            self._state = _EPILOGUE
            buf.clear()
            return False
        end = buf.find(b"\r\n", 0, _MAX_BOUNDARY_LINE_PADDING + 2)
        if end == -1:
            if buf.strip(b" \t\r") or len(buf) > _MAX_BOUNDARY_LINE_PADDING:
                raise MultipartError("unexpected bytes after a multipart boundary")
            return False
        if buf[:end].strip(b" \t"):
            raise MultipartError("unexpected bytes after a multipart boundary")
        del buf[: end + 2]
        self._state = _HEADERS
        return True

    def _step_headers(self, events: list[Event]) -> bool:
        buf = self._buf
        if len(buf) < 2:
            return False
        if buf[:2] == b"\r\n":
            block, consumed = b"", 2
        else:
            end = buf.find(b"\r\n\r\n", 0, self._max_header_size + 4)
            if end == -1:
                if len(buf) > self._max_header_size:
                    raise MultipartError("part headers too large")
                return False
            block, consumed = bytes(buf[:end]), end + 4
        self._parts += 1
        if self._parts > self._max_parts:
            raise MultipartError("too many parts")
        events.append(_parse_part_headers(block))
        del buf[:consumed]
        self._state = _BODY
        return True

    def _step_body(self, events: list[Event]) -> bool:
        buf = self._buf
        delimiter = self._delimiter
        index = buf.find(delimiter)
        if index != -1:
            if index:
                events.append(PartData(bytes(buf[:index])))
            events.append(PartEnd())
            del buf[: index + len(delimiter)]
            self._state = _BOUNDARY_LINE
            return True
        # Keep only a possible delimiter prefix: it must start at the last CR, since the
        # boundary itself contains no CR.
        cut = len(buf)
        last_cr = buf.rfind(b"\r", max(0, len(buf) - len(delimiter) + 1))
        if last_cr != -1 and delimiter.startswith(buf[last_cr:]):
            cut = last_cr
        if cut:
            events.append(PartData(bytes(buf[:cut])))
            del buf[:cut]
        return False
