"""nginx variables (``$host``, ``$uri``, ``$1``, ``$name``...) in the directive values that
expand them: ``return``, ``try_files``, ``add_header``, ``expires``, ``error_page``, ``map``.

Three expansions, one per place a value lands in:

- ``expand`` (response headers, ``return`` text and URLs): values as nginx has them (``$uri``
  decoded, ``$args`` as received), except that control characters (CR, LF, NUL... but not
  HTAB) are inserted percent-encoded, so an expansion can never split a header. (The
  request parser already refuses those bytes, and decoded paths never hold controls; this
  is the last fence.)
- ``expand_uri`` (an ``error_page`` or ``try_files`` URI that is redirected to internally):
  decoded values (``$uri``, captures, ``$host``...) are percent-encoded as a path, raw ones
  (``$args``, ``$request_uri``, ``$arg_NAME``) keep their escapes, so that decoding the result
  once gives the values back.
- ``expand_path`` (the files ``try_files`` checks): values as they are.

Unknown names are left as written (``validate-config`` reports them: nginx refuses them at
startup). ``$sent_http_NAME`` and ``$status`` need the response (``on_response`` hooks pass
it); ``map`` variables are looked up in the location's ``maps``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from framework.http.errors import HTTPError
from framework.http.request import Request
from framework.logs import error_log
from framework.routing.urls import origin_form, quote_path, quote_query, safe_host

if TYPE_CHECKING:
    from framework.http.response import Response

__all__ = [
    "KNOWN_PREFIXES",
    "KNOWN_VARIABLES",
    "VARIABLE",
    "captures_of",
    "expand",
    "expand_path",
    "expand_uri",
    "variable_names",
]

VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\d|\w+))")
"""A ``$name`` or ``${name}`` reference (group 1 or 2 is the name); as in nginx, a capture
is one digit (``$10`` is ``$1`` then ``0``)."""

_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # controls but HTAB
_MAP_DEPTH = 8  # a map whose source names another map: nginx's own nesting is shallow too

Getter = Callable[[Request], str]


def _host(request: Request) -> str:
    """nginx's ``$host``: the Host name (validated), else the server's first plain name,
    else the local address."""
    if request.host:
        return safe_host(request)
    server = request.server_config
    if server is not None:
        name = server.server_names[0] if server.server_names else ""
        if name and name[0] not in "~*." and "*" not in name:
            return name
    return safe_host(request)


def _server_name(request: Request) -> str:
    server = request.server_config
    return server.server_names[0] if server is not None and server.server_names else ""


def _document_root(request: Request) -> str:
    location = request.location
    if location is None:
        return ""
    return str(location.alias if location.alias is not None else location.root)


def _header(name: str) -> Getter:
    def get(request: Request) -> str:
        values = request.headers.get_all(name)
        return ", ".join(values) if values else ""

    return get


def _forwarded_for(request: Request) -> str:
    """nginx's ``$proxy_add_x_forwarded_for``: the client's X-Forwarded-For with the
    client address appended (the address alone when there is none)."""
    values = request.headers.get_all("x-forwarded-for")
    client = request.client[0]
    return f"{', '.join(values)}, {client}" if values else client


# decoded values: percent-encoded as a path by ``expand_uri``
_DECODED: dict[str, Getter] = {
    "uri": lambda r: r.path,
    "document_uri": lambda r: r.path,
    "host": _host,
    "scheme": lambda r: r.scheme,
    "remote_addr": lambda r: r.client[0],
    "remote_port": lambda r: str(r.client[1]) if r.client[1] else "",  # none forwarded: ""
    "server_addr": lambda r: r.server[0],
    "server_port": lambda r: str(r.server[1]),
    "server_name": _server_name,
    "server_protocol": lambda r: f"HTTP/{r.http_version}",
    "request_method": lambda r: r.method,
    "document_root": _document_root,
    "remote_user": lambda r: r.remote_user,
    "content_type": _header("content-type"),
    "content_length": _header("content-length"),
    # set by the proxy handler for the request it forwards (empty elsewhere)
    "proxy_host": lambda r: r.state.get("proxy_host", ""),
    "proxy_port": lambda r: r.state.get("proxy_port", ""),
    "proxy_add_x_forwarded_for": _forwarded_for,
}
# values that are already in URL form (escapes as the client sent them)
_RAW: dict[str, Getter] = {
    "request_uri": lambda r: origin_form(r.original_uri),
    "args": lambda r: r.query,
    "query_string": lambda r: r.query,
    "is_args": lambda r: "?" if r.query else "",
}

KNOWN_VARIABLES: frozenset[str] = frozenset(
    {*_DECODED, *_RAW, "status", *(str(n) for n in range(10))}
)
"""Names ``expand`` knows (besides the prefixes, named captures and ``map`` variables)."""
KNOWN_PREFIXES: tuple[str, ...] = ("http_", "arg_", "cookie_", "sent_http_")
"""Families of names: ``$http_user_agent``, ``$arg_page``, ``$cookie_id``,
``$sent_http_content_type``."""


def _arg(query: str, name: str) -> str:
    """nginx's ``$arg_NAME``: the first ``NAME=value`` of the query (name compared ignoring
    case), the value not decoded."""
    wanted = name.lower()
    for part in query.split("&"):
        key, eq, value = part.partition("=")
        if eq and key.lower() == wanted:
            return value
    return ""


def _cookie(request: Request, name: str) -> str:
    for header in request.headers.get_all("cookie"):
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
    return ""


class _Expansion:
    """One template expanded against one request (and maybe its response)."""

    __slots__ = ("request", "response", "mode", "depth", "maps")

    def __init__(
        self,
        request: Request,
        response: Response | None,
        mode: str,
        depth: int = 0,
        maps: frozenset[str] = frozenset(),
    ):
        self.request = request
        self.response = response
        self.mode = mode  # "header", "uri" or "path"
        self.depth = depth
        self.maps = maps  # the map variables being evaluated (a cycle is an error)

    def value(self, name: str, captures: dict[str, str]) -> tuple[str, bool] | None:
        """``(value, decoded)`` of ``name``, or None when it is unknown."""
        request = self.request
        if name in captures:
            return captures[name], True
        get = _DECODED.get(name)
        if get is not None:
            return get(request), True
        get = _RAW.get(name)
        if get is not None:
            return get(request), False
        if name.isdigit() and len(name) == 1:
            return "", True  # a capture the location regex does not have: empty, as nginx
        if name.startswith("http_"):
            return _header(name[5:].replace("_", "-"))(request), False
        if name.startswith("arg_"):
            return _arg(request.query, name[4:]), False
        if name.startswith("cookie_"):
            return _cookie(request, name[7:]), False
        response = self.response
        if name == "status":
            return (str(response.status) if response is not None else ""), True
        if name.startswith("sent_http_"):
            if response is None:
                return "", False
            values = response.headers.get_all(name[10:].replace("_", "-"))
            return (", ".join(values) if values else ""), False
        return self.mapped(name)

    def mapped(self, name: str) -> tuple[str, bool] | None:
        location = self.request.location
        maps = getattr(location, "maps", None) if location is not None else None
        table = maps.get(name) if maps else None
        if table is None or self.depth >= _MAP_DEPTH:
            return None
        if name in self.maps:
            # nginx: 500 and "cycle while evaluating variable" (one map's value names the
            # other's: without this check each level would expand all the ones below)
            error_log.error('cycle while evaluating variable "%s"', name)
            raise HTTPError(500, f'cycle while evaluating variable "{name}"')
        inner = _Expansion(self.request, self.response, "path", self.depth + 1, self.maps | {name})
        template, match = table.lookup(inner.run(table.source, self.request.captures))
        captures = self.request.captures
        if match is not None:
            captures = captures_of(match)
        return inner.run(template, captures), True

    def run(self, template: str, captures: dict[str, str]) -> str:
        if "$" not in template:
            return template
        mode = self.mode

        def sub(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            found = self.value(name, captures)
            if found is None:
                return match.group(0)
            value, decoded = found
            if mode == "uri":
                return quote_path(value) if decoded else quote_query(value)
            if mode == "header" and _UNSAFE_IN_HEADER.search(value):
                return _UNSAFE_IN_HEADER.sub(lambda m: f"%{ord(m.group(0)):02X}", value)
            return value

        return VARIABLE.sub(sub, template)


def captures_of(match: re.Match[str]) -> dict[str, str]:
    """A regex match as nginx's captures: ``"0"`` the whole match, ``"1"``... the groups,
    and the named ones by name (a group that did not take part is empty)."""
    groups = {str(i): value or "" for i, value in enumerate(match.groups(), 1)}
    groups["0"] = match.group(0)
    for name, value in match.groupdict().items():
        groups[name] = value or ""
    return groups


def expand(template: str, request: Request, response: Response | None = None) -> str:
    """``template`` with its known ``$variables`` replaced, for a header value or a text:
    values as nginx has them, but never a control character but HTAB (those are
    percent-encoded: no CR or LF can split a header).
    ``response`` gives ``$status`` and ``$sent_http_NAME`` (empty without it)."""
    if "$" not in template:
        return template
    return _Expansion(request, response, "header").run(template, request.captures)


def expand_uri(template: str, request: Request) -> str:
    """``template`` expanded into a URI to redirect to internally: decoded values are
    percent-encoded as a path, raw ones (``$args``...) kept as received."""
    if "$" not in template:
        return template
    return _Expansion(request, None, "uri").run(template, request.captures)


def expand_path(template: str, request: Request) -> str:
    """``template`` expanded with the values as they are (``$uri`` decoded), for a path
    that is then looked up beneath the root."""
    if "$" not in template:
        return template
    return _Expansion(request, None, "path").run(template, request.captures)


def variable_names(template: str) -> list[str]:
    """The names of the ``$variables`` ``template`` refers to, in order."""
    return [m.group(1) or m.group(2) for m in VARIABLE.finditer(template)]
