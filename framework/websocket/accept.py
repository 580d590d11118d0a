"""``accept_websocket``: the 101 answer to a valid opening handshake, whose tunnel runs the
application's session on a ``WebSocket`` with the location's limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from framework.http.tunnel import Tunnel, Upgrade
from framework.logs import error_log
from framework.websocket.handshake import check_handshake, negotiate_deflate, response_headers
from framework.websocket.session import WebSocket, WebSocketClosed

Session = Callable[[WebSocket], Awaitable[None]]


def accept_websocket(
    request: Request,
    session: Session,
    *,
    subprotocol: str | None = None,
    headers: Headers | dict[str, str] | list[tuple[str, str]] | None = None,
    compression: bool = True,
) -> Response:
    """Validate ``request``'s opening handshake and return the ``101`` response that runs
    ``await session(ws)`` on the upgraded connection.

    ``subprotocol`` must be one the client offered (``offered_subprotocols``); ``headers``
    are added to the 101; ``compression`` allows permessage-deflate when the client offers
    it. An invalid handshake raises ``HTTPError`` (400, or 426 with the headers RFC 6455
    asks for). When ``session`` returns the session is closed with 1000; when it raises
    (other than ``WebSocketClosed``), with 1011. Limits come from the request's location
    (``websocket_max_message_size``, ``websocket_idle_timeout``,
    ``websocket_ping_interval``)."""
    handshake = check_handshake(request)
    deflate = negotiate_deflate(handshake.extensions) if compression else None
    reply = response_headers(handshake, subprotocol, deflate[1] if deflate else None, headers)
    loc = request.location
    max_size = loc.websocket_max_message_size if loc is not None else 1024 * 1024
    idle = loc.websocket_idle_timeout if loc is not None else 60.0
    ping = loc.websocket_ping_interval if loc is not None else 20.0

    async def run(tunnel: Tunnel) -> None:
        ws = WebSocket(
            tunnel,
            subprotocol=subprotocol,
            extensions=[deflate[0]] if deflate else None,
            max_message_size=max_size,
            idle_timeout=idle,
            ping_interval=ping,
        )
        await run_session(ws, session)

    return Response(101, body=Upgrade(run), headers=reply)


async def run_session(ws: WebSocket, session: Session) -> None:
    """Await ``session(ws)``, then finish the closing handshake: 1000 after a return, 1011
    after a failure (logged), nothing more when the session is already over."""
    code = 1000
    try:
        try:
            await session(ws)
        except WebSocketClosed:
            pass
        except Exception:  # noqa: BLE001 - the application's failure ends this session only
            error_log.exception("WebSocket session of %s failed", ws.request.original_uri)
            code = 1011
        if not ws.ended:
            await ws.close(code, "internal error" if code == 1011 else "")
    finally:
        ws.finish()  # also when cancelled (client gone, server stop): timers cancelled
