"""WebSocket (RFC 6455) on the engine's upgrade tunnel, framed by wsproto.

Native handlers answer a handshake with ``request.accept_websocket(session)``; the session
coroutine gets a ``WebSocket``::

    class Echo(Handler):
        name = "echo"

        async def handle(self, request, call_next):
            async def session(ws):
                async for message in ws:
                    await ws.send(message)

            return request.accept_websocket(session)

The handshake goes through the location's chain like any request, so ``allow``/``deny``,
``auth_basic`` and location matching apply before the handler accepts.
"""

from framework.websocket.accept import Session, accept_websocket, run_session
from framework.websocket.handshake import (
    Handshake,
    check_handshake,
    is_websocket_request,
    negotiate_deflate,
    offered_subprotocols,
    response_headers,
)
from framework.websocket.session import WebSocket, WebSocketClosed

__all__ = [
    "Handshake",
    "Session",
    "WebSocket",
    "WebSocketClosed",
    "accept_websocket",
    "check_handshake",
    "is_websocket_request",
    "negotiate_deflate",
    "offered_subprotocols",
    "response_headers",
    "run_session",
]
