"""One ASGI ``http`` request/response cycle: the app's ``receive`` and ``send``, and the
``Response`` the engine writes.

States (``Phase``): nothing sent yet (``INIT``), ``http.response.start`` received
(``STARTED``), body streaming (``STREAMING``), and ``DONE``. The response becomes known to
the handler (``await cycle.response()``) at the first body message:

- fast path: the first ``http.response.body`` has ``more_body`` False: a plain ``bytes``
  ``Response``, the engine's fastest path (the app task is typically finished by then);
- streaming: otherwise, a ``Response`` whose body is ``StreamBody``, an async iterator the
  engine drains. ``send`` returns once the engine asks for the chunk after it, that is once
  the chunk was queued and the write queue drained below its high-water mark: one chunk in
  flight, whatever the app sends;
- ``http.response.pathsend``: a ``FileBody`` (sendfile).

``receive`` streams ``http.request`` chunks from ``request.body`` as the app asks (the
socket is read as fast as the app consumes), then waits until the response is done or the
client has gone, and returns ``http.disconnect``. Once the client has gone, ``send``
raises ``ClientDisconnected`` (an ``OSError``, spec 2.4)."""

from __future__ import annotations

import asyncio
from enum import Enum
from pathlib import Path
from typing import Any

from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import BodyAborted, FileBody, Response
from framework.logs import error_log

Message = dict[str, Any]

_NAMES: dict[bytes, tuple[str, str]] = {}  # response header name -> (lower-cased, as sent)


class ClientDisconnected(OSError):
    """``send`` after the client has gone (ASGI spec 2.4: an ``OSError``)."""


class Phase(Enum):
    INIT = "init"
    STARTED = "started"
    STREAMING = "streaming"
    DONE = "done"


class HttpCycle:
    """receive/send of one request (see the module docstring)."""

    __slots__ = (
        "request",
        "phase",
        "status",
        "headers",
        "result",
        "error",
        "gone",
        "_ready",
        "_body_done",
        "_received",
        "_end",
        "_chunk",
        "_last",
        "_ended",
        "_aborted",
        "_discard",
        "_accepted",
        "_wanted",
    )

    def __init__(self, request: Request) -> None:
        self.request = request
        self.phase = Phase.INIT
        self.status = 200
        self.headers: Headers | None = None
        self.result: Response | None = None  # the response, once known
        self.error: BaseException | None = None  # the app failed before the response
        self.gone = False  # the client left
        self._ready: asyncio.Future[None] | None = None  # the handler waits for the response
        self._body_done = False
        self._received = 0
        self._end: asyncio.Future[None] | None = None  # done when the exchange is over
        # a streamed body: the chunk the engine takes next, whether it is the last one,
        # whether the last one was taken, whether the stream failed, and whether the
        # engine wants no more of it (a HEAD answer: what the app sends is dropped)
        self._chunk: bytes | None = None
        self._last = False
        self._ended = False
        self._aborted = False
        self._discard = False
        self._accepted: asyncio.Future[None] | None = None  # send() waits for the engine
        self._wanted: asyncio.Future[None] | None = None  # the engine waits for a chunk

    # -- the handler's side ----------------------------------------------------------------
    async def response(self) -> Response:
        """The response, once the app has said enough (raises what the app raised first)."""
        if self.result is None and self.error is None:
            ready = self._ready = asyncio.get_running_loop().create_future()
            await ready
        if self.result is None:
            raise self.error  # type: ignore[misc]
        return self.result

    def abandon(self) -> None:
        """The handler was cancelled (client gone): wake whatever the app waits for."""
        self._client_left()

    def app_returned(self) -> None:
        """The app's coroutine returned."""
        phase = self.phase
        if phase is Phase.DONE:
            return
        if phase is Phase.STREAMING:
            if not self.gone:
                request = self.request
                error_log.error(
                    "ASGI app returned without finishing the response to %s %s",
                    request.method,
                    request.target,
                )
            self._abort()
            return
        what = "a response body" if phase is Phase.STARTED else "sending a response"
        self._fail(RuntimeError(f"the ASGI app returned without {what}"))

    def app_failed(self, exc: BaseException) -> None:
        """The app's coroutine raised ``exc``."""
        phase = self.phase
        if phase is Phase.INIT or phase is Phase.STARTED:
            self._fail(exc)
            return
        request = self.request
        if self.gone or isinstance(exc, asyncio.CancelledError):
            error_log.info("ASGI app stopped after its client left: %r", exc)
        else:
            # called from the except clause that caught ``exc``: the traceback is logged
            error_log.exception(
                "ASGI app failed %s the response to %s %s",
                "while streaming" if phase is Phase.STREAMING else "after",
                request.method,
                request.target,
            )
        if phase is Phase.STREAMING:
            self._abort()

    def _fail(self, exc: BaseException) -> None:
        self.phase = Phase.DONE
        self.error = exc
        ready = self._ready
        if ready is not None and not ready.done():
            if isinstance(exc, asyncio.CancelledError):
                ready.cancel()
            else:
                ready.set_result(None)
        self._finish()

    def _respond(self, response: Response) -> None:
        self.result = response
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_result(None)

    # -- receive -----------------------------------------------------------------------------
    async def receive(self) -> Message:
        """The next ``http.request`` chunk, then ``http.disconnect`` once it is over."""
        if not self._body_done:
            body = self.request.body
            if body.length == 0:
                self._body_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            try:
                chunk = await body.__anext__()
            except StopAsyncIteration:
                self._body_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            except HTTPError:
                self._body_done = True
                raise  # 413 mid-body: a response the pipeline makes if nothing started
            except Exception:  # noqa: BLE001 - the client went away mid-body
                self._body_done = True
                self._client_left()
                return {"type": "http.disconnect"}
            self._received += len(chunk)
            length = body.length
            if length is not None and self._received >= length:
                self._body_done = True
                return {"type": "http.request", "body": chunk, "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}
        end = self._end
        if end is None:
            end = self._end = asyncio.get_running_loop().create_future()
        if not end.done():
            await asyncio.shield(end)  # several receivers may wait: none may cancel it
        return {"type": "http.disconnect"}

    def _finish(self) -> None:
        """The exchange is over: receive() answers http.disconnect from now on."""
        end = self._end
        if end is None:
            self._end = end = asyncio.get_running_loop().create_future()
        if not end.done():
            end.set_result(None)

    def _client_left(self) -> None:
        self.gone = True
        accepted = self._accepted
        if accepted is not None and not accepted.done():
            accepted.set_exception(ClientDisconnected("client disconnected"))
        self._finish()

    # -- send ----------------------------------------------------------------------------------
    async def send(self, message: Message) -> None:
        """Take one message of the app's response."""
        kind = message["type"]
        phase = self.phase
        if kind == "http.response.body":
            if phase is Phase.STARTED:
                body = message.get("body", b"")
                if not message.get("more_body", False):
                    self.phase = Phase.DONE
                    self._respond(Response(self.status, bytes(body), self.headers))
                    self._finish()
                    return
                self.phase = Phase.STREAMING
                self._respond(Response(self.status, StreamBody(self), self.headers))
                await self._hand(bytes(body), False)
                return
            if phase is Phase.STREAMING:
                await self._hand(bytes(message.get("body", b"")), not message.get("more_body"))
                return
        elif kind == "http.response.start":
            if phase is Phase.INIT:
                self.status = int(message["status"])
                self.headers = response_headers(message.get("headers", ()))
                self.phase = Phase.STARTED
                return
        elif kind == "http.response.pathsend":
            if phase is Phase.STARTED:
                self.phase = Phase.DONE
                path = Path(message["path"])
                self._respond(Response(self.status, FileBody(path), self.headers))
                self._finish()
                return
        if self.gone:
            raise ClientDisconnected("client disconnected")
        raise RuntimeError(f"unexpected ASGI message {kind!r} in phase {phase.value!r}")

    async def _hand(self, chunk: bytes, last: bool) -> None:
        """Give ``chunk`` to the engine and wait until it asks for the next one."""
        if last:
            self.phase = Phase.DONE
        if self.gone:
            raise ClientDisconnected("client disconnected")
        if self._discard or (not chunk and not last):
            return
        self._chunk = chunk
        self._last = last
        wanted = self._wanted
        if wanted is not None and not wanted.done():
            wanted.set_result(None)
        accepted = self._accepted = asyncio.get_running_loop().create_future()
        await accepted

    # -- the engine's side of a streamed body ---------------------------------------------------
    async def next_chunk(self) -> bytes | None:
        """The next chunk for the engine, None at the end (raises ``BodyAborted``)."""
        accepted = self._accepted
        if accepted is not None and not accepted.done():
            accepted.set_result(None)  # the previous chunk is written: send() returns
        while self._chunk is None:
            if self._ended:
                self._finish()
                return None
            if self._aborted:
                raise BodyAborted("the ASGI app did not finish its response")
            wanted = self._wanted = asyncio.get_running_loop().create_future()
            await wanted
        chunk = self._chunk
        self._chunk = None
        if self._last:
            self._ended = True
        return chunk

    def _abort(self) -> None:
        """The response cannot be completed: the engine's next chunk raises BodyAborted."""
        self._aborted = True
        self._chunk = None
        wanted = self._wanted
        if wanted is not None and not wanted.done():
            wanted.set_result(None)
        self._finish()

    def stream_closed(self) -> None:
        """The engine closed the stream: at its end, for a HEAD answer (the rest of the
        body is dropped), or because the client left."""
        if self._ended:
            self._finish()
        elif self.request.original_method == "HEAD" and not self._aborted:
            self._discard = True
            self._chunk = None
            accepted = self._accepted
            if accepted is not None and not accepted.done():
                accepted.set_result(None)
            self._finish()
        else:
            self._client_left()


class StreamBody:
    """The engine's async iterator over a streamed ASGI response body."""

    __slots__ = ("cycle",)

    def __init__(self, cycle: HttpCycle) -> None:
        self.cycle = cycle

    def __aiter__(self) -> StreamBody:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.cycle.next_chunk()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        self.cycle.stream_closed()


def response_headers(raw: Any) -> Headers:
    """ASGI ``[name, value]`` byte pairs as engine ``Headers`` (latin-1, names as sent)."""
    items = []
    names = _NAMES
    for name, value in raw:
        known = names.get(name)
        if known is None:
            text = bytes(name).decode("latin-1")
            known = (text.lower(), text)
            if len(names) < 1024:
                names[bytes(name)] = known
        items.append((known[0], known[1], bytes(value).decode("latin-1")))
    return Headers.from_list(items)
