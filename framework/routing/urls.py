"""Building safe ``Location`` values: percent-encoded paths and absolute URLs.

A ``Location`` is never built from raw input: the path is the normalised one, re-encoded; the
host is validated (else the local address is used); and the result never starts with ``//``
or ``/\\`` (the open redirect of CVE-2021-28861).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from framework.http.request import Request

_PATH_SAFE = "/!$&'()*+,;=:@-._~"
_QUERY_SAFE = "/!$&'()*+,;=:@-._~?%"
_HOST_RE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.\-_]*)|\[[0-9A-Fa-f:.]+\])\Z")


def quote_path(path: str) -> str:
    """Percent-encode a decoded path (surrogate-escaped bytes included) for a URL."""
    return quote(path.encode("utf-8", "surrogateescape"), safe=_PATH_SAFE)


def quote_query(query: str) -> str:
    """Re-encode a raw query so that only printable URL characters remain."""
    return quote(query.encode("utf-8", "surrogateescape"), safe=_QUERY_SAFE)


def origin_form(target: str) -> str:
    """The path-and-query part of a raw request-target: an absolute-form target
    (``http://host/p?q``) loses its scheme and authority, like nginx's ``$request_uri``, so it
    can never carry a foreign host into a ``Location``."""
    if target[:1] == "/" or "://" not in target[:8]:
        return target
    rest = target.partition("://")[2]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    tail = rest[cut:]
    return tail if tail[:1] == "/" else "/" + tail


def safe_host(request: Request) -> str:
    """The request's Host (without port) when it is a valid name or IP literal, else the
    local address; IPv6 literals come bracketed."""
    host = request.host
    if not host or not _HOST_RE.match(host):
        host = request.server[0] or "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host


def safe_authority(request: Request) -> str:
    """``host[:port]`` for absolute URLs: ``safe_host`` plus the local port unless it is
    the scheme's default."""
    host = safe_host(request)
    port = request.server[1]
    default = 443 if request.scheme == "https" else 80
    return host if port in (default, 0) else f"{host}:{port}"


def absolute_url(request: Request, path: str, query: str = "") -> str:
    """``scheme://authority`` + encoded ``path`` (+ ``?query``) for a decoded local path."""
    encoded = "/" + quote_path(path).lstrip("/")
    url = f"{request.scheme}://{safe_authority(request)}{encoded}"
    if query:
        url += "?" + quote_query(query)
    return url
