"""Building safe ``Location`` values: percent-encoded paths and absolute URLs.

A ``Location`` is never built from raw input: the path is the normalised one, re-encoded; the
host is validated (else the local address is used); and the result never starts with ``//``
or ``/\\`` (the open redirect of CVE-2021-28861). ``absolute_redirect`` and
``port_in_redirect`` of the request's location decide its form, as in nginx.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from framework.http.realip import TRUSTED_PROXY
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


def _host_port(request: Request) -> int:
    """The port of the request's ``Host`` field (0 when it names none or is invalid)."""
    value = request.headers.get("host") or ""
    port = value.rpartition(":")[2] if value.rfind(":") > value.rfind("]") else ""
    if not (port.isascii() and port.isdigit()) or len(port) > 5:
        return 0
    number = int(port)
    return number if number < 65536 else 0


def safe_authority(request: Request) -> str:
    """``host[:port]`` for absolute URLs, as nginx builds a redirect: ``safe_host`` plus
    the local port unless it is the scheme's default or the location has
    ``port_in_redirect off``. Behind a trusted proxy (``set_real_ip_from``) the local
    port is the backend's, so the one the client wrote in ``Host`` is used instead."""
    host = safe_host(request)
    location = request.location
    if location is not None and not location.port_in_redirect:
        return host
    state = request.state
    port = _host_port(request) if state and TRUSTED_PROXY in state else request.server[1]
    default = 443 if request.scheme == "https" else 80
    return host if port in (default, 0) else f"{host}:{port}"


def redirect_url(request: Request, path_and_query: str) -> str:
    """The ``Location`` for a local ``path_and_query`` (already encoded, starting with a
    single ``/``): absolute with scheme and ``safe_authority``, or kept relative where the
    location has ``absolute_redirect off``."""
    location = request.location
    if location is not None and not location.absolute_redirect:
        return path_and_query
    return f"{request.scheme}://{safe_authority(request)}{path_and_query}"


def absolute_url(request: Request, path: str, query: str = "") -> str:
    """The ``Location`` for a decoded local ``path`` (+ ``?query``): encoded, then made
    absolute (or not) by ``redirect_url``."""
    encoded = "/" + quote_path(path).lstrip("/")
    if query:
        encoded += "?" + quote_query(query)
    return redirect_url(request, encoded)
