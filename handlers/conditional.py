"""Validators and conditional requests (RFC 9110 §8.8, §13): ETag, Last-Modified,
If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since and If-Range."""

from __future__ import annotations

import time
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from framework.bounded_cache import BoundedCache

if TYPE_CHECKING:
    from framework.http.headers import Headers

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_date_cache: BoundedCache[int, str] = BoundedCache(4096)


def http_date(seconds: float) -> str:
    """IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``) for a Unix time; cached per second."""
    key = int(seconds)
    text = _date_cache.get(key)
    if text is None:
        t = time.gmtime(key)
        text = (
            f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
        )
        _date_cache.put(key, text)
    return text


def parse_http_date(value: str) -> int | None:
    """Unix seconds of an HTTP date (IMF-fixdate, RFC 850 or asctime form, all GMT), or None
    when it is not one."""
    if len(value) > 64:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # asctime has no zone: HTTP dates are always GMT
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return int(parsed.timestamp())
    except (ValueError, OverflowError):
        return None


def make_etag(mtime_ns: int, size: int) -> str:
    """A strong validator from the file's modification time and size."""
    return f'"{mtime_ns:x}-{size:x}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _weak_match(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == bare for tag in _tags(header))


def _strong_match(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    if etag.startswith("W/"):
        return False
    return any(tag == etag for tag in _tags(header))


def evaluate(headers: Headers, etag: str, mtime: int, method: str) -> int | None:
    """The status a conditional request calls for (304 or 412), or None to proceed.

    ``headers`` is the request's header collection; ``mtime`` whole seconds.
    """
    if_match = headers.get("if-match")
    if if_match is not None:
        if not _strong_match(if_match, etag):
            return 412
    else:
        since = headers.get("if-unmodified-since")
        if since is not None:
            when = parse_http_date(since)
            if when is not None and mtime > when:
                return 412
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if _weak_match(if_none_match, etag):
            return 304 if method in ("GET", "HEAD") else 412
        return None
    if method in ("GET", "HEAD"):
        modified_since = headers.get("if-modified-since")
        if modified_since is not None:
            when = parse_http_date(modified_since)
            if when is not None and mtime <= when:
                return 304
    return None


def range_allowed(headers: Headers, etag: str, last_modified: str) -> bool:
    """False when ``If-Range`` is present and does not match (then send the whole file)."""
    if_range = headers.get("if-range")
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith('"') or if_range.startswith("W/"):
        return _strong_match(if_range, etag) and if_range != "*"
    return if_range == last_modified
