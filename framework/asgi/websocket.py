"""One ASGI ``websocket`` connection, on the engine's WebSocket (``framework.websocket``).

The app runs in a task of its own from the handshake on. Its first ``receive`` is
``websocket.connect``; then it decides, and the handler waits for that decision:

- ``websocket.accept`` (subprotocol, headers): the handler returns the ``101`` from
  ``request.accept_websocket``; once the engine has switched protocols the session hands the
  ``WebSocket`` over, and the app's ``receive``/``send`` become ``ws.receive``/``ws.send``
  (with the engine's backpressure); the session lasts as long as the app runs;
- ``websocket.close`` before accepting: ``403``;
- ``websocket.http.response.start``/``.body`` (the denial-response extension): that HTTP
  response;
- an exception, or returning without a decision: ``500``.

When the peer closes (or is lost) ``receive`` returns ``websocket.disconnect`` with the close
code, and ``send`` raises ``ClientDisconnected`` (an ``OSError``, spec 2.4). An app that
fails after accepting closes the session with 1011 (logged).

An accepted 101 whose session never starts (the client left before the engine switched
protocols: the handler was cancelled, or the request's ``disconnected`` was set; or the 101
was dropped, its ``run`` freed unrun) is abandoned: the app waiting for the session gets
``websocket.disconnect`` 1006 at once instead of waiting until the worker stops."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import MutableMapping
from typing import Any

from framework.asgi.http import ClientDisconnected, response_headers
from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from framework.http.tunnel import Upgrade
from framework.websocket import WebSocket, WebSocketClosed

Message = MutableMapping[str, Any]


class WebSocketCycle:
    """receive/send of one ASGI websocket connection (see the module docstring)."""

    __slots__ = (
        "request",
        "_loop",
        "_decided",
        "_decision",
        "_accepted",
        "_watch",
        "_connected",
        "_ws",
        "_ws_ready",
        "_done",
        "_closed",
        "_status",
        "_headers",
        "_body",
    )

    def __init__(self, request: Request) -> None:
        self.request = request
        self._loop = asyncio.get_running_loop()
        self._decided: asyncio.Future[None] = self._loop.create_future()
        self._decision: Response | BaseException | None = None
        self._accepted = False  # the decision is the 101
        self._watch: asyncio.Task[None] | None = None  # abandons the 101 if the client leaves
        self._connected = False  # websocket.connect was received
        self._ws: WebSocket | None = None
        self._ws_ready: asyncio.Future[None] = self._loop.create_future()
        self._done: asyncio.Future[None] = self._loop.create_future()  # the app finished
        self._closed: WebSocketClosed | None = None  # the peer closed (or was lost)
        self._status = 0  # a denial response's status, once started
        self._headers: Headers | None = None
        self._body: list[bytes] = []

    # -- the handler's side ----------------------------------------------------------------
    async def response(self) -> Response:
        """The answer to the handshake: the 101, a denial, or a failure raised."""
        try:
            await asyncio.shield(self._decided)
        except asyncio.CancelledError:
            if self._accepted:  # the client left before the switch: the app hears 1006
                self.abandon()
            raise
        decision, self._decision = self._decision, None  # the 101's run must be freeable
        if isinstance(decision, Response):
            return decision
        assert decision is not None
        raise decision

    @property
    def accepted(self) -> bool:
        """The app accepted the WebSocket (the decision is the 101)."""
        return self._accepted

    def abandon(self) -> None:
        """The accepted 101 will not run: an app waiting for its session gets
        ``websocket.disconnect`` 1006 (a no-op once the session started)."""
        if self._loop.is_closed():  # a finalizer, after the worker's loop
            return
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
        if not self._ws_ready.done():
            self._ws_ready.cancel()

    async def _watch_client(self) -> None:
        await self.request.disconnected.wait()
        self._watch = None
        self.abandon()

    def _decide(self, decision: Response | BaseException) -> None:
        if not self._decided.done():
            self._decision = decision
            self._decided.set_result(None)

    def app_finished(self, exc: BaseException | None) -> None:
        """The app's coroutine ended (``exc``: what it raised)."""
        if not self._decided.done():
            if exc is None:
                exc = RuntimeError("the ASGI app returned without accepting the WebSocket")
            self._decide(exc)
        if not self._done.done():
            if exc is None or isinstance(exc, asyncio.CancelledError) or not self._accepted:
                self._done.set_result(None)
            else:
                self._done.set_exception(exc)  # the session raises it: a 1011 close
        self.abandon()

    async def session(self, ws: WebSocket) -> None:
        """The accepted connection's session: lasts while the app runs."""
        self._ws = ws
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
        if not self._ws_ready.done():
            self._ws_ready.set_result(None)
        await asyncio.shield(self._done)  # raises what the app raised: a 1011 close

    # -- receive -----------------------------------------------------------------------------
    async def receive(self) -> Message:
        """``websocket.connect`` first, then messages, then ``websocket.disconnect``."""
        if not self._connected:
            self._connected = True
            return {"type": "websocket.connect"}
        ws = await self._session()
        if ws is None or self._closed is not None:
            return self._disconnect()
        try:
            data = await ws.receive()
        except WebSocketClosed as closed:
            self._closed = closed
            return self._disconnect()
        if isinstance(data, str):
            return {"type": "websocket.receive", "text": data}
        return {"type": "websocket.receive", "bytes": data}

    def _disconnect(self) -> Message:
        closed = self._closed
        code = closed.code if closed is not None else 1006
        reason = closed.reason if closed is not None else ""
        return {"type": "websocket.disconnect", "code": code, "reason": reason}

    async def _session(self) -> WebSocket | None:
        """The accepted WebSocket, once the engine has switched protocols (None: the
        handshake never completed)."""
        if self._ws is None:
            if not self._decided.done():
                await asyncio.shield(self._decided)  # receive before deciding: wait
            try:
                await asyncio.shield(self._ws_ready)
            except asyncio.CancelledError:
                if self._ws_ready.cancelled():
                    return None
                raise
        return self._ws

    # -- send ----------------------------------------------------------------------------------
    async def send(self, message: Message) -> None:
        """Take one message of the app."""
        kind = message["type"]
        if not self._decided.done():
            self._before_accept(kind, message)
            return
        if kind == "websocket.send" or kind == "websocket.close":
            ws = await self._session()
            if ws is None or self._closed is not None:
                raise ClientDisconnected("the WebSocket is closed")
            try:
                if kind == "websocket.send":
                    text = message.get("text")
                    await ws.send(text if text is not None else bytes(message.get("bytes") or b""))
                else:
                    await ws.close(int(message.get("code") or 1000), message.get("reason") or "")
            except WebSocketClosed as closed:
                self._closed = closed
                raise ClientDisconnected("the WebSocket is closed") from None
            return
        raise RuntimeError(f"unexpected ASGI message {kind!r} after the handshake")

    def _before_accept(self, kind: str, message: Message) -> None:
        request = self.request
        if kind == "websocket.accept":
            headers = [
                (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
                for name, value in message.get("headers") or ()
            ]
            try:
                response = request.accept_websocket(
                    self.session, subprotocol=message.get("subprotocol"), headers=headers
                )
            except HTTPError as exc:
                self._decide(exc)
                raise ClientDisconnected("the WebSocket handshake failed") from None
            upgrade = response.body
            assert isinstance(upgrade, Upgrade)
            # dropped unrun (a hook replaced the 101, the connection ended first): abandon
            with contextlib.suppress(TypeError):  # a run that takes no weak reference
                weakref.finalize(upgrade.run, self.abandon).atexit = False
            self._accepted = True
            self._watch = self._loop.create_task(self._watch_client())
            self._decide(response)
        elif kind == "websocket.close":
            self._decide(HTTPError(403))
        elif kind == "websocket.http.response.start" and not self._status:
            self._status = int(message["status"])
            self._headers = response_headers(message.get("headers", ()))
        elif kind == "websocket.http.response.body" and self._status:
            self._body.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                self._decide(Response(self._status, b"".join(self._body), self._headers))
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} before accepting")
