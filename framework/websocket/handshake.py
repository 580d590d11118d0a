"""The server side of the RFC 6455 opening handshake, on a request the pipeline routed:
validation (``check_handshake``), subprotocol and permessage-deflate negotiation, and the
101 response headers."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from wsproto.extensions import PerMessageDeflate
from wsproto.utilities import generate_accept_token

from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request

VERSION = "13"
_UPGRADE_REQUIRED = {"Upgrade": "websocket", "Connection": "Upgrade"}


@dataclass(frozen=True, slots=True)
class Handshake:
    """What a valid opening handshake asks for: its key, the subprotocols offered (in the
    client's order) and the extension offers (``Sec-WebSocket-Extensions`` items)."""

    key: str
    subprotocols: tuple[str, ...]
    extensions: tuple[str, ...]


def _tokens(request: Request, name: str) -> list[str]:
    """The comma-separated tokens of every ``name`` header, stripped."""
    out: list[str] = []
    for value in request.headers.get_all(name):
        out.extend(item.strip() for item in value.split(",") if item.strip())
    return out


def is_websocket_request(request: Request) -> bool:
    """Whether ``request`` asks for a WebSocket (``Upgrade: websocket`` and ``Connection:
    upgrade``); it may still be an invalid handshake."""
    return "websocket" in (t.lower() for t in _tokens(request, "upgrade")) and "upgrade" in (
        t.lower() for t in _tokens(request, "connection")
    )


def check_handshake(request: Request) -> Handshake:
    """Validate ``request`` as an opening handshake (RFC 6455 4.2.1).

    A request that does not ask for a WebSocket gets ``426`` (``Upgrade: websocket``); an
    unsupported or missing ``Sec-WebSocket-Version`` gets ``426`` with
    ``Sec-WebSocket-Version: 13``; a malformed one (not GET, not HTTP/1.1, a bad key, a
    body) gets ``400``. Raises ``HTTPError``."""
    if not is_websocket_request(request):
        raise HTTPError(426, "a WebSocket handshake is required", headers=_UPGRADE_REQUIRED)
    if request.method != "GET":
        raise HTTPError(400, "a WebSocket handshake is a GET")
    if request.http_version != "1.1":
        raise HTTPError(400, "a WebSocket handshake needs HTTP/1.1")
    if request.body.length != 0:
        raise HTTPError(400, "a WebSocket handshake has no body")
    versions = _tokens(request, "sec-websocket-version")
    if versions != [VERSION]:
        raise HTTPError(
            426, "unsupported WebSocket version", headers={"Sec-WebSocket-Version": VERSION}
        )
    keys = request.headers.get_all("sec-websocket-key")
    if len(keys) != 1:
        raise HTTPError(400, "one Sec-WebSocket-Key is required")
    key = keys[0].strip()
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise HTTPError(400, "invalid Sec-WebSocket-Key")
    return Handshake(
        key,
        tuple(_tokens(request, "sec-websocket-protocol")),
        tuple(_tokens(request, "sec-websocket-extensions")),
    )


def offered_subprotocols(request: Request) -> list[str]:
    """The subprotocols the client offers (``Sec-WebSocket-Protocol``), in its order."""
    return _tokens(request, "sec-websocket-protocol")


def negotiate_deflate(offers: tuple[str, ...]) -> tuple[PerMessageDeflate, str] | None:
    """The first acceptable ``permessage-deflate`` offer: the extension object and the
    response's ``Sec-WebSocket-Extensions`` value; None when none is acceptable."""
    for offer in offers:
        if offer.split(";", 1)[0].strip().lower() != PerMessageDeflate.name:
            continue
        extension = PerMessageDeflate()
        accepted = extension.accept(offer)
        if accepted is None or accepted is False:
            continue
        params = accepted if isinstance(accepted, str) else ""
        return extension, f"{extension.name}; {params}" if params else extension.name
    return None


def response_headers(
    handshake: Handshake,
    subprotocol: str | None,
    extension_header: str | None,
    extra: Headers | dict[str, str] | list[tuple[str, str]] | None,
) -> Headers:
    """The headers of the 101 answer."""
    if subprotocol is not None and subprotocol not in handshake.subprotocols:
        raise ValueError(f"subprotocol {subprotocol!r} was not offered by the client")
    headers = Headers()
    headers["Upgrade"] = "websocket"
    headers["Connection"] = "Upgrade"
    headers["Sec-WebSocket-Accept"] = generate_accept_token(handshake.key.encode("ascii")).decode()
    if subprotocol is not None:
        headers["Sec-WebSocket-Protocol"] = subprotocol
    if extension_header is not None:
        headers["Sec-WebSocket-Extensions"] = extension_header
    if extra:
        items = extra.items() if isinstance(extra, Headers | dict) else extra
        for name, value in items:
            headers.add(name, value)
    return headers
