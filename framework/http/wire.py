"""Pure helpers for the bytes on the wire: status lines, the cached ``Date`` header, request
header checks (Host, Content-Length, Transfer-Encoding) and response head serialisation."""

from __future__ import annotations

import re
import time
from email.utils import formatdate
from http import HTTPStatus

from framework.bounded_cache import BoundedCache, bounded_memo
from framework.http.headers import Headers
from framework.version import PRODUCT, PRODUCT_VERSION

# ``server_tokens on`` sends the version, ``off`` the name alone (nginx: "nginx/1.22.1", "nginx")
SERVER_LINE = f"Server: {PRODUCT_VERSION}\r\n"
SERVER_LINE_NO_VERSION = f"Server: {PRODUCT}\r\n"

_REASONS = {s.value: s.phrase for s in HTTPStatus}
# RFC 9110's names where Python still has RFC 7231's (the built-in error pages use them too)
_REASONS.update(
    {
        413: "Content Too Large",
        414: "URI Too Long",
        416: "Range Not Satisfiable",
        418: "I'm a teapot",
        422: "Unprocessable Content",
    }
)
_STATUS_LINES: dict[int, str] = {}

# Host = uri-host [ ":" port ]; uri-host = IP-literal / IPv4address / reg-name
_HOST_RE = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?")
_DIGITS_RE = re.compile(r"[0-9]{1,18}")

# response headers the engine owns (framing and identity)
ENGINE_HEADERS = frozenset(
    {"connection", "content-length", "transfer-encoding", "keep-alive", "date", "server"}
)


def reason_phrase(status: int) -> str:
    return _REASONS.get(status, "Unknown")


def status_line(status: int, reason: str | None = None) -> str:
    """``HTTP/1.1 200 OK\\r\\n`` (cached per status unless a custom reason is given)."""
    if reason:
        return f"HTTP/1.1 {status} {_clean(reason)}\r\n"
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {reason_phrase(status)}\r\n"
    return line


_date: tuple[int, str] = (0, "")


def date_line() -> str:
    """``Date: <IMF-fixdate>\\r\\n``, recomputed at most once per second."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, f"Date: {formatdate(now, usegmt=True)}\r\n")
    return _date[1]


# per server_tokens (index 0: off, 1: on): status -> status line + Date + Server
_starts: tuple[dict[int, str], dict[int, str]] = ({}, {})
_starts_second = 0


def head_start(status: int, reason: str | None = None, tokens: bool = True) -> str:
    """Status line, ``Date`` and ``Server`` lines together (cached per status for the
    current second); ``tokens`` (``server_tokens``) puts the version in ``Server``."""
    global _starts_second
    if reason:
        server = SERVER_LINE if tokens else SERVER_LINE_NO_VERSION
        return status_line(status, reason) + date_line() + server
    now = int(time.time())
    if now != _starts_second:
        _starts[0].clear()
        _starts[1].clear()
        _starts_second = now
    starts = _starts[tokens]
    text = starts.get(status)
    if text is None:
        server = SERVER_LINE if tokens else SERVER_LINE_NO_VERSION
        text = starts[status] = status_line(status) + date_line() + server
    return text


def valid_host(value: str) -> bool:
    """True for a syntactically valid ``Host`` value (empty is allowed, RFC 9112 3.2)."""
    return _HOST_RE.fullmatch(value) is not None


def authority_of(target: str) -> str | None:
    """The authority (``host[:port]``) of an absolute-form target, or None when it is not
    a valid host (userinfo included)."""
    rest = target.partition("://")[2]
    end = len(rest)
    for sep in "/?":
        i = rest.find(sep)
        if 0 <= i < end:
            end = i
    authority = rest[:end]
    return authority if authority and valid_host(authority) else None


def host_without_port(value: str) -> str:
    """Lower-cased host name of a ``Host`` value, port removed (IPv6 brackets kept)."""
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1].lower()
    return value.partition(":")[0].lower()


def host_name(value: str) -> str | None:
    """``host_without_port`` of a ``Host`` value with OWS trimmed, or None when it is not
    a valid host; cached, as clients repeat the same few values."""
    if len(value) <= 255:
        return _host_name_remembered(value)
    return _host_name(value)


def _host_name(value: str) -> str | None:
    stripped = value.strip(" \t")
    return host_without_port(stripped) if valid_host(stripped) else None


_host_name_remembered = bounded_memo(1024)(_host_name)


def parse_content_length(value: str) -> int | None:
    """The value of a Content-Length field (OWS trimmed) when it is ``1*DIGIT``, else None.
    Never ``int()`` on raw text: it accepts ``+5``, ``1_0`` and surrounding spaces."""
    value = value.strip(" \t")
    if _DIGITS_RE.fullmatch(value) is None:
        return None
    return int(value)


def check_transfer_encoding(values: list[str], http_version: str) -> int:
    """0 when the Transfer-Encoding fields mean a plain chunked body, else the status to
    answer: 400 (chunked not last, twice, on HTTP/1.0) or 501 (unknown coding)."""
    codings = [c.strip(" \t").lower() for v in values for c in v.split(",")]
    codings = [c for c in codings if c]
    if http_version == "1.0":
        return 400
    if not codings:
        return 400
    for coding in codings:
        if coding != "chunked":
            return 501
    if len(codings) != 1:
        return 400
    return 0


def _clean(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def header_lines(headers: Headers, skip: frozenset[str] = ENGINE_HEADERS) -> list[str]:
    """``Name: value\\r\\n`` for each header not in ``skip``; fields holding CR, LF or NUL
    are dropped (response splitting)."""
    out = [f"{name}: {value}\r\n" for lower, name, value in headers._items if lower not in skip]
    text = "".join(out)
    if text.count("\n") == len(out) and text.count("\r") == len(out) and "\x00" not in text:
        return out  # the common case: one scan of the joined text instead of one per field
    out = []
    for lower, name, value in headers._items:
        if lower in skip:
            continue
        value = str(value)
        if "\r" in value or "\n" in value or "\x00" in value or ":" in name or "\n" in name:
            continue
        out.append(f"{name}: {value}\r\n")
    return out


_BLOCKS_MAX = 512
_blocks: BoundedCache[tuple[tuple[str, str, str], ...], str] = BoundedCache(_BLOCKS_MAX)
_BLOCK_ITEMS_MAX = 6
_BLOCK_CHARS_MAX = 512


def header_block(headers: Headers) -> str:
    """``header_lines`` joined into one string: precomputed when the headers carry it, and
    cached by value for small header sets (handlers tend to send the same few)."""
    block = headers._block
    if block is not None:
        return block
    items = headers._items
    if len(items) > _BLOCK_ITEMS_MAX:
        return "".join(header_lines(headers))
    key = tuple(items)
    try:
        block = _blocks.get(key)
    except TypeError:  # a value that is not a string (unhashable): serialise it as it is
        return "".join(header_lines(headers))
    if block is None:
        block = "".join(header_lines(headers))
        if len(block) <= _BLOCK_CHARS_MAX:  # bounds the memory a stream of unique values holds
            _blocks.put(key, block)
    return block


def encode_head(text: str) -> bytes:
    """The head's bytes: latin-1 (request bytes as webserv holds them), else UTF-8 (a
    handler's text), where a request byte that was no UTF-8 (held as a surrogate escape:
    ``$uri`` of ``/a/%FF``) goes out raw, as nginx sends it. Never raises."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no request byte makes
        return text.encode("utf-8", "replace")
