"""The apps of the issue 11 benchmarks, served alike by webserv (``asgi``) and uvicorn.

- ``raw_hello``: a raw ASGI 3 app answering ``hello`` (5 bytes, Content-Length);
- ``starlette_hello``: the same answer from a Starlette route;
- ``raw_ws_echo``: a raw ASGI app echoing every WebSocket message (and ``hello`` on HTTP).

The module name is prefixed so it cannot clash with test apps on ``sys.path``.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

HELLO_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
}
HELLO_BODY = {"type": "http.response.body", "body": b"hello"}


async def raw_hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI 3 hello world; ignores lifespan (the servers run it with lifespan off/auto)."""
    if scope["type"] != "http":
        return
    await send(HELLO_START)
    await send(HELLO_BODY)


async def _hello(request: Any) -> PlainTextResponse:
    return PlainTextResponse("hello")


starlette_hello = Starlette(routes=[Route("/", _hello)])


async def raw_ws_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echo each WebSocket message back as it came (text or bytes); ``hello`` over HTTP."""
    if scope["type"] == "http":
        await raw_hello(scope, receive, send)
        return
    if scope["type"] != "websocket":
        return
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
