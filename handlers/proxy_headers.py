"""The request head sent upstream and the response headers passed back, as nginx has them.

Upstream request: ``proxy_set_header`` entries first (expanded; an empty value removes the
header), then nginx's defaults that they do not override (``Host: $proxy_host``,
``Connection: close``), the framing, then the client's headers, minus the ones set above and the
hop-by-hop ones (``Connection`` and the names it lists, ``Keep-Alive``, ``Proxy-*``,
``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``, ``Expect``) and the names with an
underscore (nginx's ``underscores_in_headers off``: CGI-style upstreams map ``_`` and ``-``
to the same variable, so ``X_Forwarded_For`` could pose as ``X-Forwarded-For``); the framing
(``Content-Length`` or ``Transfer-Encoding: chunked``) is ours. ``Upgrade`` reaches the
upstream only when ``proxy_set_header Upgrade $http_upgrade;`` sends it, as in nginx.

Response: the upstream's headers minus the hop-by-hop ones (``Upgrade`` kept on a 101);
``Date`` and ``Server`` are webserv's own, as nginx sends its own by default.
"""

from __future__ import annotations

from framework.config.models import LocationConfig
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.variables import expand
from framework.http.wire import encode_head

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
     "upgrade"}
)  # fmt: skip
_NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "expect"}
_DEFAULTS = (("Host", "$proxy_host"), ("Connection", "close"))
_NOT_RETURNED = HOP_BY_HOP | {"date", "server", "x-pad"}


def _listed(headers: Headers) -> set[str]:
    """The names a ``Connection`` header lists (hop-by-hop for this connection)."""
    names = set()
    for value in headers.get_all("connection"):
        for token in value.split(","):
            token = token.strip().lower()
            if token:
                names.add(token)
    return names


class HeadTemplate:
    """A location's upstream request head, prepared once: the ``proxy_set_header`` and
    default lines without variables are joined in advance (``$proxy_host`` is known unless
    ``proxy_pass`` has variables), the others expanded per request."""

    __slots__ = ("version", "parts", "skip")

    def __init__(self, location: LocationConfig, proxy_host: str | None) -> None:
        self.version = location.proxy_http_version
        own = {name.lower() for name, _ in location.proxy_set_header}
        entries = [*location.proxy_set_header]
        entries += [(name, value) for name, value in _DEFAULTS if name.lower() not in own]
        self.parts: list[
            tuple[str, str | None]
        ] = []  # (joined fixed lines, None) or (name, template)
        fixed = ""
        for name, template in entries:
            if template == "$proxy_host" and proxy_host is not None:
                template = proxy_host
            if "$" not in template:
                if template:  # an empty value removes the header
                    fixed += f"{name}: {template}\r\n"
                continue
            if fixed:
                self.parts.append((fixed, None))
                fixed = ""
            self.parts.append((name, template))
        if fixed:
            self.parts.append((fixed, None))
        self.skip = _NOT_FORWARDED | own | {name.lower() for name, _ in _DEFAULTS}

    def render(self, request: Request, method: str, uri: str, framing: str) -> bytes:
        """The request line and headers; ``framing`` is the body's framing header line
        (``Content-Length: N\\r\\n``, the chunked one, or empty)."""
        lines = [f"{method} {uri} HTTP/{self.version}\r\n"]
        for name, template in self.parts:
            if template is None:
                lines.append(name)
                continue
            value = expand(template, request)
            if value:
                lines.append(f"{name}: {value}\r\n")
        lines.append(framing)  # nginx: after its defaults, before the client's headers
        skip = self.skip
        # the names the client's Connection lists are hop-by-hop too
        listed = _listed(request.headers) if "connection" in request.headers else ()
        for lower, name, value in request.headers._items:
            if lower in skip or lower in listed or lower[:6] == "proxy-" or "_" in lower:
                continue
            lines.append(f"{name}: {value}\r\n")
        lines.append("\r\n")
        return encode_head("".join(lines))


def request_head(
    request: Request, location: LocationConfig, method: str, uri: str, framing: str
) -> bytes:
    """The request head for ``request`` in ``location`` (``HeadTemplate`` built once)."""
    return HeadTemplate(location, None).render(request, method, uri, framing)


def response_headers(items: list[tuple[str, str, str]], status: int) -> Headers:
    """The headers passed to the client from the upstream's ``items`` (``(lower-cased
    name, name, value)`` triples)."""
    out = []
    listed: set[str] | None = None
    upgrade = status == 101
    for item in items:
        lower = item[0]
        if lower in _NOT_RETURNED:
            if lower == "connection":
                listed = {t.strip().lower() for t in item[2].split(",")}
            if not (upgrade and lower in ("upgrade", "connection")):
                continue
        out.append(item)
    if listed:
        # names already dropped above (``keep-alive``, ``close``...) need no second pass
        listed -= _NOT_RETURNED
        listed.discard("")
        if listed:
            out = [item for item in out if item[0] not in listed]
    return Headers.from_list(out)
