"""Content-coding negotiation shared by the gzip filter and the static handler's
``gzip_static``/``brotli_static``: which codings a request accepts (``Accept-Encoding`` with
q-values), nginx's ``gzip_ok`` checks (``gzip_http_version``, ``gzip_disable``,
``gzip_proxied``), and ``Vary: Accept-Encoding``."""

from __future__ import annotations

import time

from framework.bounded_cache import BoundedCache
from framework.config.models import LocationConfig
from framework.http.headers import Headers
from framework.http.request import Request
from handlers.conditional import parse_http_date

_MAX_HEADER = 1024  # longer Accept-Encoding values are parsed but not remembered
_accepted_cache: BoundedCache[str, frozenset[str]] = BoundedCache(256)


def accepted_codings(value: str | None) -> frozenset[str]:
    """The codings ``value`` (an ``Accept-Encoding`` field) accepts with q > 0, lower-cased.

    ``gzip;q=0`` refuses gzip; a malformed q refuses its coding; ``*`` is kept as written
    (as nginx, callers do not read it as gzip). Cached: clients send a few distinct values."""
    if not value:
        return frozenset()
    found = _accepted_cache.get(value)
    if found is not None:
        return found
    codings = set()
    for element in value.split(","):
        name, _, params = element.partition(";")
        name = name.strip(" \t").lower()
        if name and _quality(params) > 0:
            codings.add(name)
    found = frozenset(codings)
    if len(value) <= _MAX_HEADER:
        _accepted_cache.put(value, found)
    return found


def request_codings(request: Request) -> frozenset[str]:
    """``accepted_codings`` of the request's ``Accept-Encoding`` (several fields are one
    list, RFC 9110 5.3)."""
    values = request.headers.get_all("accept-encoding")
    if len(values) <= 1:
        return accepted_codings(values[0] if values else None)
    return accepted_codings(", ".join(values))


def _quality(params: str) -> float:
    """The q of one Accept-Encoding element's parameters (1 when absent; 0 when invalid)."""
    for param in params.split(";"):
        key, eq, value = param.partition("=")
        if key.strip(" \t").lower() != "q":
            continue
        value = value.strip(" \t")
        if not eq or not value or len(value) > 5:
            return 0.0
        whole, _, fraction = value.partition(".")
        if whole not in ("0", "1") or not (fraction.isdigit() or fraction == ""):
            return 0.0
        if not fraction.isascii():
            return 0.0
        q = float(value)
        return q if q <= 1 else 0.0
    return 1.0


def may_compress(request: Request, location: LocationConfig, response: Headers | None) -> bool:
    """nginx's ``gzip_ok`` without the Accept-Encoding test: ``gzip_disable``,
    ``gzip_http_version`` and ``gzip_proxied`` (for requests with ``Via``, judged from the
    response headers when there are some)."""
    if location.gzip_disable:
        agent = request.headers.get("user-agent")
        if agent is not None and any(p.search(agent) for p in location.gzip_disable):
            return False
    if request.http_version < location.gzip_http_version:
        return False
    if "via" not in request.headers:
        return True
    return _proxied_ok(request, location.gzip_proxied, response or Headers())


def _proxied_ok(request: Request, proxied: list[str], response: Headers) -> bool:
    # the order of nginx's checks matters: e.g. an Expires header decides alone
    if "off" in proxied:
        return False
    if "any" in proxied:
        return True
    if "auth" in proxied and "authorization" in request.headers:
        return True
    expires = response.get("expires")
    if expires is not None:
        if "expired" not in proxied:
            return False
        when = parse_http_date(expires)
        date_value = response.get("date")
        now = parse_http_date(date_value) if date_value is not None else int(time.time())
        return when is not None and now is not None and when < now
    cache_control = response.get_all("cache-control")
    if cache_control:
        directives = {
            part.strip(" \t").partition("=")[0].lower()
            for value in cache_control
            for part in value.split(",")
        }
        return any(
            flag in proxied and flag in directives for flag in ("no-cache", "no-store", "private")
        )
    if "no_last_modified" in proxied and "last-modified" in response:
        return False
    return not ("no_etag" in proxied and "etag" in response)


def add_vary(headers: Headers) -> None:
    """Add ``Vary: Accept-Encoding`` unless a ``Vary`` already names it (or is ``*``)."""
    for value in headers.get_all("vary"):
        for name in value.split(","):
            if name.strip(" \t").lower() in ("accept-encoding", "*"):
                return
    headers.add("Vary", "Accept-Encoding")
