"""The URI a proxied request carries upstream, by nginx's rules.

- ``proxy_pass`` without a URI part: the client's request URI as it was received (raw,
  query included); after an internal redirect (``error_page``, ``try_files``), the current
  normalised URI, escaped.
- With a URI part (``http://backend/new/``): the part of the normalised URI that the
  location's prefix matched is replaced by it, the rest escaped as nginx escapes it
  (``ngx_escape_uri`` with ``NGX_ESCAPE_URI``, when the client's URI held an escape or the
  request was redirected internally), then ``?`` and the query as received.
- With variables (``http://$backend$request_uri``): the expanded URL's URI part as is, or
  the client's URI when it has none.
"""

from __future__ import annotations

from framework.config.directives_proxy import ProxyPass
from framework.config.models import LocationConfig
from framework.http.request import Request
from framework.routing.urls import origin_form

# nginx's NGX_ESCAPE_URI table: controls, space, '#', '%', '?', DEL and non-ASCII
_ESCAPED = frozenset([*range(0x21), ord("#"), ord("%"), ord("?"), *range(0x7F, 0x100)])


def escape_uri(path: str) -> str:
    """``path`` (decoded, surrogate-escaped bytes included) escaped as nginx escapes a
    URI it passes upstream."""
    raw = path.encode("utf-8", "surrogateescape")
    if not any(b in _ESCAPED for b in raw):
        return path
    return "".join(f"%{b:02X}" if b in _ESCAPED else chr(b) for b in raw)


def _redirected(request: Request) -> bool:
    return request.redirects > 0


def client_uri(request: Request) -> str:
    """The request URI to pass when ``proxy_pass`` has no URI part."""
    if not _redirected(request):
        return origin_form(request.target)
    query = f"?{request.query}" if request.query else ""
    return escape_uri(request.path) + query


def upstream_uri(request: Request, location: LocationConfig, proxy: ProxyPass) -> str:
    """The request-target sent upstream for ``request`` in ``location``."""
    if proxy.uri is None:
        return client_uri(request)
    path = request.path
    prefix = location.pattern if location.modifier in ("", "^~", "=") else ""
    rest = path[len(prefix) :] if prefix and path.startswith(prefix) else path
    if "%" in request.target or _redirected(request):
        rest = escape_uri(rest)
    else:
        rest = rest.encode("utf-8", "surrogateescape").decode("latin-1")
    query = f"?{request.query}" if request.query else ""
    return proxy.uri + rest + query
