"""The ASGI ``http`` scope of a request, with what a location fixes computed once."""

from __future__ import annotations

from typing import Any

from framework.asgi import ASGI_VERSION
from framework.bounded_cache import BoundedCache
from framework.http.request import Request

EXTENSIONS: dict[str, dict[str, Any]] = {"http.response.pathsend": {}}
"""What an ``http`` scope's ``extensions`` advertises (shared: apps only read it)."""
WEBSOCKET_EXTENSIONS: dict[str, dict[str, Any]] = {"websocket.http.response": {}}

_UPGRADE = b"upgrade"
_NAMES: dict[str, bytes] = {"upgrade": _UPGRADE}  # lower-cased request header name -> bytes


def latin1(text: str) -> bytes:
    """``text`` back as the bytes it was read from (the engine decodes heads as latin-1);
    text a rewrite put there that latin-1 cannot hold goes as UTF-8."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def scope_path(path: str) -> str:
    """The decoded path as ASGI wants it: UTF-8 text. Bytes that were not UTF-8 (kept as
    surrogate escapes by the engine) become U+FFFD, as in uvicorn; raw_path has them."""
    if path.isascii():
        return path
    try:
        path.encode()
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return path


def raw_path(target: str) -> bytes:
    """The request-target's path as sent (no query; an absolute-form target's path)."""
    q = target.find("?")
    path = target if q < 0 else target[:q]
    if path[:1] != "/":
        if path == "*":
            return b"*"
        rest = path.partition("://")[2]
        slash = rest.find("/")
        path = rest[slash:] if slash >= 0 else "/"
    return latin1(path)


# target -> raw_path, query, its bytes
_targets: BoundedCache[str, tuple[bytes, str, bytes]] = BoundedCache(1024)


def target_parts(target: str, query: str) -> tuple[bytes, bytes]:
    """``(raw_path, query_string)`` of a request (cached: clients repeat targets; the
    query is checked as an internal redirect may have changed it)."""
    parts = _targets.get(target)
    if parts is None or parts[1] != query:
        parts = (raw_path(target), query, latin1(query) if query else b"")
        if len(target) <= 256:
            _targets.put(target, parts)
    return parts[0], parts[2]


def header_pairs(request: Request) -> tuple[list[tuple[bytes, bytes]], bool]:
    """``[(lower-cased name, value)]`` as bytes, in arrival order, and whether an
    ``Upgrade`` header is among them."""
    names = _NAMES
    out = []
    upgrade = False
    # the engine's (lower-cased, as sent, value) triples: one pass, no copies
    for lower, _, value in request.headers._items:
        name = names.get(lower)
        if name is None:
            name = lower.encode("latin-1")
            if len(names) < 1024:
                names[lower] = name
            if lower == "upgrade":
                upgrade = True
        elif name is _UPGRADE:
            upgrade = True
        out.append((name, value.encode("latin-1")))
    return out, upgrade


def http_scope(
    request: Request,
    root_path: str,
    state: dict[str, Any],
    headers: list[tuple[bytes, bytes]],
) -> dict[str, Any]:
    """The ``http`` scope of ``request`` (``state``: the lifespan state, copied;
    ``headers``: its ``header_pairs``)."""
    raw, query = target_parts(request.target, request.query)
    path = request.path
    return {
        "type": "http",
        "asgi": ASGI_VERSION,
        "http_version": request.http_version,
        "method": request.method,
        "scheme": request.scheme,
        "path": path if path.isascii() else scope_path(path),
        "raw_path": raw,
        "query_string": query,
        "root_path": root_path,
        "headers": headers,
        "client": request.client,
        "server": request.server,
        "state": state.copy() if state else {},
        "extensions": EXTENSIONS,
    }


def request_scope(
    request: Request, root_path: str, state: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """``http_scope`` with its ``header_pairs``, and whether an ``Upgrade`` header came."""
    headers, upgrade = header_pairs(request)
    return http_scope(request, root_path, state, headers), upgrade


def websocket_scope(
    request: Request, root_path: str, state: dict[str, Any], subprotocols: list[str]
) -> dict[str, Any]:
    """The ``websocket`` scope of a handshake ``request``."""
    query = request.query
    return {
        "type": "websocket",
        "asgi": ASGI_VERSION,
        "http_version": request.http_version,
        "scheme": "wss" if request.scheme == "https" else "ws",
        "path": scope_path(request.path),
        "raw_path": raw_path(request.target),
        "query_string": latin1(query) if query else b"",
        "root_path": root_path,
        "headers": header_pairs(request)[0],
        "client": request.client,
        "server": request.server,
        "subprotocols": subprotocols,
        "state": state.copy(),
        "extensions": WEBSOCKET_EXTENSIONS,
    }
