"""One ASGI ``http`` request/response cycle: the app's ``receive`` and ``send``, and the
``Response`` the engine writes. The app runs in the connection's task (``AppRun``).

States (``Phase``): nothing sent yet (``INIT``), ``http.response.start`` received
(``STARTED``), body streaming (``STREAMING``), and ``DONE``. The response becomes known to
the handler (``await cycle.response()``) at the first body message:

- fast path: the first ``http.response.body`` has ``more_body`` False: a plain ``bytes``
  ``Response``, the engine's fastest path (if the app still runs, e.g. a background task,
  it is driven to its end after the body is written, as a one-chunk stream);
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
import contextvars
import traceback
from collections.abc import Awaitable, Generator, Iterator, MutableMapping
from enum import Enum
from pathlib import Path
from types import CoroutineType
from typing import Any

from framework.asgi.runner import AppRun
from framework.http import wire
from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import BodyAborted, FileBody, Response
from framework.logs import error_log

Message = MutableMapping[str, Any]
_new = object.__new__

# response headers as sent -> the engine's triples and their serialised block
_HEADER_SETS: dict[tuple[Any, ...], tuple[list[tuple[str, str, str]], str]] = {}
ABANDON_GRACE = 5.0  # seconds an app may run on once its response is over or its client left


class ClientDisconnected(OSError):
    """``send`` after the client has gone (ASGI spec 2.4: an ``OSError``)."""


class Phase(Enum):
    INIT = "init"
    STARTED = "started"
    STREAMING = "streaming"
    DONE = "done"


# the members as module globals: an Enum member lookup costs several dict lookups
_INIT, _STARTED, _STREAMING, _DONE = Phase.INIT, Phase.STARTED, Phase.STREAMING, Phase.DONE


class HttpCycle:
    """receive/send of one request (see the module docstring)."""

    __slots__ = (
        "request",
        "run",
        "phase",
        "status",
        "headers",
        "result",
        "error",
        "gone",
        "body_error",
        "_body_done",
        "_received",
        "_over",
        "_end",
        "_chunk",
        "_last",
        "_ended",
        "_aborted",
        "_discard",
        "_accepted",
        "_context",
    )

    def __init__(self, request: Request) -> None:
        # slots: a later store costs a fraction of an instance-dict one (hello path)
        self.request = request
        self.run: AppRun | None = None  # the app call, once it had to wait
        self.phase = _INIT
        self.status = 200
        self.headers: Headers | None = None
        self.result: Response | None = None  # the response, once known
        self.error: BaseException | None = None  # the app failed before the response
        self.gone = False  # the client left
        self.body_error: HTTPError | None = None  # the request body failed (413)
        self._body_done = False
        self._received = 0
        self._over = False  # the exchange is over: receive() answers http.disconnect
        self._end: asyncio.Future[None] | None = None  # receive() waits for the end
        # a streamed body: the chunk the engine takes next, whether it is the last one,
        # whether the last one was taken, whether the stream failed, and whether the
        # engine wants no more of it (a HEAD answer: what the app sends is dropped)
        self._chunk: bytes | None = None
        self._last = False
        self._ended = False
        self._aborted = False
        self._discard = False
        self._accepted: asyncio.Future[None] | None = None  # send() waits for the engine
        self._context: contextvars.Context | None = None  # the app call's context variables

    # -- the handler's side ----------------------------------------------------------------
    async def respond(self, app_call: Awaitable[None]) -> Response:
        """Run ``app_call`` (the app with this cycle's receive/send) until its response is
        known; raises what the app raised before it (a 500), or the cancellation of a
        handler whose client left."""
        return self.first_step(app_call) or await self.rest()

    def first_step(self, app_call: Awaitable[None]) -> Response | None:
        """Run the app up to its first wait: its response if it answered in one go (most
        apps: no coroutine of ours is involved), else None and ``await rest()``."""
        if type(app_call) is not CoroutineType:  # an awaitable object, not a coroutine
            app_call = _coroutine(app_call)
        context = self._context = contextvars.copy_context()
        try:
            pending = context.run(app_call.send, None)  # type: ignore[attr-defined]
        except StopIteration:
            result = self.result
            if result is not None and self.phase is _DONE and self.body_error is None:
                return result  # the fast path
            run = self._run_of(app_call)
            run.done = True
        except BaseException as exc:  # noqa: BLE001 - reported by rest(), as a 500
            run = self._run_of(app_call)
            run.done = True
            run.error = exc
        else:
            run = self._run_of(app_call)
            run.suspended(pending)
        return None

    async def rest(self) -> Response:
        """After ``first_step``: run the app until its response is known."""
        run = self.run
        assert run is not None
        if not run.done and not self._has_response():
            await run
        if run.done:
            self._app_ended()
            if run.held is not None:
                raise run.held
        result = self.result
        if self.body_error is not None and (result is None or self.phase is not _STREAMING):
            raise self.body_error  # the app's answer (often a 500) is replaced
        if result is None:
            raise self.error  # type: ignore[misc]
        if not run.done and self.phase is _DONE:
            # answered, but the app goes on (a background task): it ends after the body
            body = result.body
            if isinstance(body, bytes):
                if body or "content-length" not in result.headers:
                    result.headers["Content-Length"] = str(len(body))
                result.body = TailBody(self, body)
            else:
                await run.finish(ABANDON_GRACE)
        return result

    def _run_of(self, app_call: Any) -> AppRun:
        run = self.run = AppRun(
            app_call, self._has_response, self._left_now, ABANDON_GRACE, self._context
        )
        return run

    def _has_response(self) -> bool:
        return self.result is not None or self.error is not None

    def _has_chunk(self) -> bool:
        return self._chunk is not None or self._aborted

    def _left_now(self) -> bool:
        """The task is being cancelled: hold the cancellation back when the client left
        (the app hears http.disconnect first), else let it reach the app."""
        if self.request.disconnected.is_set():
            self._client_left()
            return True
        return False

    def _app_ended(self) -> None:
        """The app's coroutine returned or raised (``run.error``)."""
        assert self.run is not None
        exc = self.run.error
        phase = self.phase
        if exc is None:
            if phase is _DONE:
                return
            if phase is _STREAMING:
                if not self.gone:
                    request = self.request
                    error_log.error(
                        "ASGI app returned without finishing the response to %s %s",
                        request.method,
                        request.target,
                    )
                self._abort()
                return
            what = "a response body" if phase is _STARTED else "sending a response"
            self._fail(RuntimeError(f"the ASGI app returned without {what}"))
            return
        if phase is _INIT or phase is _STARTED:
            self._fail(exc)
            return
        if self.gone or isinstance(exc, asyncio.CancelledError):
            error_log.info("ASGI app stopped after its client left: %r", exc)
        else:
            request = self.request
            where = "while streaming" if phase is _STREAMING else "after"
            trace = "".join(traceback.format_exception(exc)).rstrip()
            error_log.error(
                "ASGI app failed %s the response to %s %s\n%s",
                where,
                request.method,
                request.target,
                trace,
            )
        if phase is _STREAMING:
            self._abort()

    def _fail(self, exc: BaseException) -> None:
        self.phase = _DONE
        self.error = exc
        self._finish()

    def _respond(self, response: Response) -> None:
        self.result = response
        run = self.run
        if run is not None:
            run.wake()

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
            except HTTPError as exc:  # 413 mid-body: the answer, whatever the app makes of it
                self._body_done = True
                self.body_error = exc
                raise
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
        if not self._over:
            end = self._end
            if end is None:
                end = self._end = asyncio.get_running_loop().create_future()
            await asyncio.shield(end)  # several receivers may wait: none may cancel it
        return {"type": "http.disconnect"}

    def _finish(self) -> None:
        """The exchange is over: receive() answers http.disconnect from now on."""
        self._over = True
        end = self._end
        if end is not None and not end.done():
            end.set_result(None)

    def _client_left(self) -> None:
        self.gone = True
        accepted = self._accepted
        if accepted is not None and not accepted.done():
            accepted.set_exception(ClientDisconnected("client disconnected"))
        self._finish()

    # -- send ----------------------------------------------------------------------------------
    def send(self, message: Message) -> Awaitable[None]:
        """Take one message of the app's response. Not a coroutine function: what is taken
        at once returns a shared, already-finished awaitable (no coroutine per message);
        a streamed chunk returns the wait for the engine."""
        kind = message["type"]
        phase = self.phase
        if kind == "http.response.body":
            if phase is _STARTED:
                body = message.get("body", b"")
                if body.__class__ is not bytes:
                    body = bytes(body)
                if not message.get("more_body", False):
                    self.phase = _DONE
                    response = _new(Response)  # the constructor's coercions are not needed
                    response.status = self.status
                    response.body = body
                    response.headers = self.headers  # type: ignore[assignment]  # set by start
                    response.reason = None
                    response.raw = False
                    if self.run is None:  # answered in one go: nobody to wake, none waits
                        self.result = response
                        self._over = True
                    else:
                        self._respond(response)
                        self._finish()
                    return _TAKEN
                self.phase = _STREAMING
                self._respond(Response(self.status, StreamBody(self), self.headers))
                return self._hand(body, False)
            if phase is _STREAMING:
                return self._hand(bytes(message.get("body", b"")), not message.get("more_body"))
        elif kind == "http.response.start":
            if phase is _INIT:
                status = message["status"]
                self.status = status if status.__class__ is int else int(status)
                self.headers = response_headers(message.get("headers", ()))
                self.phase = _STARTED
                return _TAKEN
        elif kind == "http.response.pathsend":
            if phase is _STARTED:
                self.phase = _DONE
                path = Path(message["path"])
                self._respond(Response(self.status, FileBody(path), self.headers))
                self._finish()
                return _TAKEN
        if self.gone:
            return _raising(ClientDisconnected("client disconnected"))
        return _raising(RuntimeError(f"unexpected ASGI message {kind!r} in phase {phase.value!r}"))

    async def _hand(self, chunk: bytes, last: bool) -> None:
        """Give ``chunk`` to the engine and wait until it asks for the next one."""
        if last:
            self.phase = _DONE
        if self.gone:
            raise ClientDisconnected("client disconnected")
        if self._discard or (not chunk and not last):
            return
        self._chunk = chunk
        self._last = last
        run = self.run
        if run is not None:
            run.wake()
        accepted = self._accepted = asyncio.get_running_loop().create_future()
        await accepted

    # -- the engine's side of a streamed body ---------------------------------------------------
    async def next_chunk(self) -> bytes | None:
        """The next chunk for the engine, None at the end (raises ``BodyAborted``)."""
        accepted = self._accepted
        if accepted is not None and not accepted.done():
            accepted.set_result(None)  # the previous chunk is written: send() returns
        run = self.run
        assert run is not None  # a streamed or tail body: the app waited
        while self._chunk is None:
            if self._ended:
                self._finish()
                if not run.done:
                    await run.finish(ABANDON_GRACE)
                return None
            if self._aborted:
                raise BodyAborted("the ASGI app did not finish its response")
            if run.done:
                self._app_ended()
                if run.held is not None:
                    raise run.held
                continue
            run.output = self._has_chunk
            await run
        chunk = self._chunk
        self._chunk = None
        if self._last:
            self._ended = True
        return chunk

    def _abort(self) -> None:
        """The response cannot be completed: the engine's next chunk raises BodyAborted."""
        self._aborted = True
        self._chunk = None
        self._finish()

    async def stream_closed(self) -> None:
        """The engine closed the stream: at its end, for a HEAD answer (the rest of the
        body is dropped), or because the client left. The app is then driven to its end."""
        if self._ended:
            accepted = self._accepted
            if accepted is not None and not accepted.done():
                accepted.set_result(None)  # the last chunk was taken: its send() returns
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
        run = self.run
        assert run is not None  # a streamed or tail body: the app waited
        if not run.done:
            await run.finish(ABANDON_GRACE)
            if run.error is not None:
                self._app_ended()
            if run.held is not None:
                raise run.held


class TailBody:
    """A bytes body whose app still runs (a background task): the engine writes the body,
    then the next ``__anext__`` drives the app to its end."""

    __slots__ = ("cycle", "body")

    def __init__(self, cycle: HttpCycle, body: bytes) -> None:
        self.cycle = cycle
        self.body: bytes | None = body

    def __aiter__(self) -> TailBody:
        return self

    async def __anext__(self) -> bytes:
        body = self.body
        if body is not None:
            self.body = None
            return body
        await self.aclose()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        run = self.cycle.run
        assert run is not None  # a streamed or tail body: the app waited
        if not run.done:
            await run.finish(ABANDON_GRACE)
            if run.error is not None:
                self.cycle._app_ended()
            if run.held is not None:
                raise run.held


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
        await self.cycle.stream_closed()


def response_headers(raw: Any) -> Headers:
    """ASGI ``[name, value]`` byte pairs as engine ``Headers`` (latin-1, names as sent).
    Cached by value with their serialised block: apps send the same few header sets."""
    try:
        key = tuple(raw)
        known = _HEADER_SETS.get(key)
    except TypeError:  # [name, value] lists: not hashable
        key, known = None, None
    if known is not None:  # Headers.from_items, without the classmethod call
        headers = _new(Headers)
        headers._items = known[0].copy()
        headers._block = known[1]
        return headers
    items = []
    for name, value in raw:
        text = bytes(name).decode("latin-1")
        items.append((text.lower(), text, bytes(value).decode("latin-1")))
    headers = Headers.from_list(items)
    if key is not None and len(items) <= 16:
        if len(_HEADER_SETS) >= 1024:
            _HEADER_SETS.clear()
        _HEADER_SETS[key] = (items.copy(), wire.header_block(headers))
    return headers


class _Taken:
    """What ``send`` returns for a message taken at once: awaiting it returns None."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        return _NOTHING  # type: ignore[return-value]  # an iterator always exhausted


_NOTHING: Iterator[Any] = iter(())
_TAKEN = _Taken()


async def _raising(exc: BaseException) -> None:
    raise exc


async def _coroutine(awaitable: Awaitable[None]) -> None:
    await awaitable
