"""ASGI WebSocket apps for the ``websocket`` scope tests: a raw echo that says what it saw,
a Starlette WebSocket route, and apps that refuse, deny with a response, close or fail.
Events go to ``ws-events.log`` in the server's working directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

LOG = Path("ws-events.log")


def record(line: str) -> None:
    with LOG.open("a") as log:
        log.write(line + "\n")


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """Echoes messages; ``scope`` sends the scope back first; ``close`` closes 4000."""
    if scope["type"] != "websocket":
        return
    assert (await receive())["type"] == "websocket.connect"
    offered = scope["subprotocols"]
    await send(
        {
            "type": "websocket.accept",
            "subprotocol": offered[0] if offered else None,
            "headers": [(b"x-accepted", b"yes")],
        }
    )
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            record(f"disconnect {message['code']}")
            record(f"ended {scope['path']} {message['code']}")
            return
        text = message.get("text")
        if text == "scope":
            data = {k: v for k, v in scope.items() if k not in ("headers", "state")}
            data = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
            await send({"type": "websocket.send", "text": json.dumps(data)})
        elif text == "close":
            await send({"type": "websocket.close", "code": 4000, "reason": "asked"})
            return
        elif text == "fail":
            raise RuntimeError("ws app failure")
        elif text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


async def refuse(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.close", "code": 1000})


async def deny(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send(
        {
            "type": "websocket.http.response.start",
            "status": 401,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "websocket.http.response.body", "body": b"no ", "more_body": True})
    await send({"type": "websocket.http.response.body", "body": b"entry"})


async def starlette_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"starlette: {text}")
    except WebSocketDisconnect as exc:
        record(f"starlette disconnect {exc.code}")


starlette_app = Starlette(routes=[WebSocketRoute("/star/ws", starlette_echo)])
