"""One ASGI ``http`` request/response cycle: the app's ``receive`` and ``send``, and the
``Response`` the engine writes. The app runs in a task of its own (started by the handler,
``handlers/asgi.py``); the handler awaits ``cycle.ready``, resolved once the response is
known.

States (``Phase``): nothing sent yet (``INIT``), ``http.response.start`` received
(``STARTED``), body streaming (``STREAMING``), and ``DONE``. The response becomes known at
the first body message:

- fast path: the first ``http.response.body`` has ``more_body`` False: a plain ``bytes``
  ``Response``, the engine's fastest path. The app's task may run on (a background task):
  it is neither awaited nor cancelled, and the connection serves its next request;
- streaming: otherwise, a ``Response`` whose body is ``StreamBody``, an async iterator the
  engine pulls. The hand-off holds one chunk: ``send`` returns once the engine took its
  chunk (the engine writes it and waits for the write queue to drain below its high-water
  mark before it takes the next one), so memory stays bounded whatever the app sends;
- ``http.response.pathsend``: a ``FileBody`` (sendfile).

``receive`` streams ``http.request`` chunks from ``request.body`` as the app asks (the
socket is read as fast as the app consumes), then waits until the response is done or the
client has gone, and returns ``http.disconnect``. Once the client has gone (the handler
or the stream was cancelled by the engine), ``send`` raises ``ClientDisconnected`` (an
``OSError``, spec 2.4), and an app still running ``ABANDON_GRACE`` seconds later is
cancelled."""

from __future__ import annotations

import asyncio
import re
import traceback
from collections.abc import Awaitable, Generator, Iterator, MutableMapping
from enum import Enum
from pathlib import Path
from typing import Any

from framework.bounded_cache import BoundedCache
from framework.http import wire
from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import BodyAborted, FileBody, Response
from framework.logs import error_log

Message = MutableMapping[str, Any]
_new = object.__new__

# response headers as sent -> the engine's triples and their serialised block
_HEADER_SETS: BoundedCache[tuple[Any, ...], tuple[list[tuple[str, str, str]], str]] = BoundedCache(
    1024
)
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 5.6.2: a field name
ABANDON_GRACE = 5.0  # seconds an app may run on once its client left, before it is cancelled


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
        "ready",
        "tasks",
        "task",
        "phase",
        "status",
        "headers",
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
        "_taken",
        "_want",
        "_timer",
    )

    def __init__(
        self,
        request: Request,
        ready: asyncio.Future[Response],
        tasks: set[asyncio.Task[None]],
    ) -> None:
        # slots: a later store costs a fraction of an instance-dict one (hello path)
        self.request = request
        self.ready = ready  # the handler waits for the response
        self.tasks = tasks  # the handler's running app tasks (this one leaves it at its end)
        self.task: asyncio.Task[None] | None = None  # the app's task
        self.phase = _INIT
        self.status = 200
        self.headers: Headers | None = None
        self.error: BaseException | None = None  # failed the response before it was known
        self.gone = False  # the client left (or the engine gave up the exchange)
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
        self._taken: asyncio.Future[None] | None = None  # send() waits: the engine took it
        self._want: asyncio.Future[None] | None = None  # the engine waits: chunk, end, abort
        self._timer: asyncio.TimerHandle | None = None  # cancels an app ignoring its client

    # -- the handler's side ----------------------------------------------------------------
    def app_done(self, task: asyncio.Task[None]) -> None:
        """Done callback of the app's task: settle what its end means for the response."""
        self.tasks.discard(task)
        timer = self._timer
        if timer is not None:
            timer.cancel()
        cancelled = task.cancelled()
        exc = asyncio.CancelledError() if cancelled else task.exception()
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
            if cancelled:
                exc = RuntimeError("the ASGI app was cancelled before its response")
            self._fail(exc)
            return
        if exc is self.error:  # already reported (an invalid response start)
            return
        if self.gone or cancelled:
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

    def abandon(self) -> None:
        """The engine gave up the exchange (the handler or the stream was cancelled: the
        client left, or the server stops): the app hears ``http.disconnect``, its sends
        raise, and it is cancelled if it still runs ``ABANDON_GRACE`` seconds later."""
        self._client_left()
        task = self.task
        if task is not None and not task.done() and self._timer is None:
            self._timer = task.get_loop().call_later(ABANDON_GRACE, task.cancel)

    def _fail(self, exc: BaseException) -> None:
        """The response failed before it was known: the handler raises ``exc`` (a 500)."""
        self.phase = _DONE
        self.error = exc
        ready = self.ready
        if not ready.done():
            ready.set_exception(exc)
        elif self.gone:
            error_log.info("ASGI app stopped after its client left: %r", exc)
        self._finish()

    # -- receive -----------------------------------------------------------------------------
    async def receive(self) -> Message:
        """The next ``http.request`` chunk, then ``http.disconnect`` once it is over."""
        if not self._body_done and not self._over:
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
        taken = self._taken
        if taken is not None and not taken.done():
            taken.set_exception(ClientDisconnected("client disconnected"))
        self._finish()

    # -- send ----------------------------------------------------------------------------------
    def send(self, message: Message) -> Awaitable[None]:
        """Take one message of the app's response. Not a coroutine function: what is taken
        at once returns a shared, already-finished awaitable (no coroutine per message);
        a streamed chunk returns the wait for the engine."""
        kind = message["type"]
        phase = self.phase
        if self.gone:
            return _raising(ClientDisconnected("client disconnected"))
        if kind == "http.response.body":
            if phase is _STARTED:
                body = message.get("body", b"")
                if body.__class__ is not bytes:
                    body = _as_bytes(body)
                if not message.get("more_body", False):
                    self.phase = _DONE
                    response = _new(Response)  # the constructor's coercions are not needed
                    response.status = self.status
                    response.body = body
                    response.headers = self.headers  # type: ignore[assignment]  # set by start
                    response.reason = None
                    response.raw = False
                    ready = self.ready
                    if not ready.done():
                        ready.set_result(response)
                    self._over = True
                    if self._end is not None:  # a receiver waits
                        self._finish()
                    return _TAKEN
                self.phase = _STREAMING
                ready = self.ready
                if not ready.done():
                    ready.set_result(Response(self.status, StreamBody(self), self.headers))
                return self._hand(body, False)
            if phase is _STREAMING:
                body = message.get("body", b"")
                if body.__class__ is not bytes:
                    body = _as_bytes(body)
                return self._hand(body, not message.get("more_body", False))
        elif kind == "http.response.start":
            if phase is _INIT:
                try:
                    status = message["status"]
                    if status.__class__ is not int or status < 100 or status > 599:
                        status = _status(status)
                    self.status = status
                    self.headers = response_headers(message.get("headers", ()))
                except (KeyError, TypeError, ValueError) as exc:
                    return self._invalid(exc)
                self.phase = _STARTED
                return _TAKEN
        elif kind == "http.response.pathsend":
            if phase is _STARTED:
                self.phase = _DONE
                path = Path(message["path"])
                ready = self.ready
                if not ready.done():
                    ready.set_result(Response(self.status, FileBody(path), self.headers))
                self._finish()
                return _TAKEN
        return _raising(RuntimeError(f"unexpected ASGI message {kind!r} in phase {phase.value!r}"))

    def _invalid(self, exc: Exception) -> Awaitable[None]:
        """An ``http.response.start`` no HTTP response can carry: a 500 (the handler raises
        the error, which the pipeline logs), and ``send`` raises it in the app."""
        error = RuntimeError(f"invalid ASGI http.response.start: {exc}")
        self._fail(error)  # the handler raises it: logged as the failure of the request
        return _raising(error)

    async def _hand(self, chunk: bytes, last: bool) -> None:
        """Give ``chunk`` to the engine and wait until it took it."""
        if last:
            self.phase = _DONE
        if self._discard or (not chunk and not last):
            return
        loop = asyncio.get_running_loop()
        while self._chunk is not None:  # an earlier send was cancelled before its chunk went
            taken = self._taken = loop.create_future()
            await taken
        if self.gone:
            raise ClientDisconnected("client disconnected")
        if self._discard:
            return
        self._chunk = chunk
        self._last = last
        want = self._want
        if want is not None and not want.done():
            want.set_result(None)
        taken = self._taken = loop.create_future()
        await taken

    # -- the engine's side of a streamed body ---------------------------------------------------
    async def next_chunk(self) -> bytes | None:
        """The next chunk for the engine, None at the end (raises ``BodyAborted``)."""
        while True:
            chunk = self._chunk
            if chunk is not None:
                self._chunk = None
                taken = self._taken
                if taken is not None and not taken.done():
                    taken.set_result(None)  # the chunk is the engine's: send() returns
                if self._last:
                    self._ended = True
                    self._finish()
                if chunk:
                    return chunk
                continue
            if self._ended:
                return None
            if self._aborted:
                raise BodyAborted("the ASGI app did not finish its response")
            want = self._want = asyncio.get_running_loop().create_future()
            await want

    def _abort(self) -> None:
        """The response cannot be completed: the engine's next chunk raises BodyAborted."""
        self._aborted = True
        self._chunk = None
        want = self._want
        if want is not None and not want.done():
            want.set_result(None)
        self._finish()

    def stream_closed(self) -> None:
        """The engine closed the stream: at its end; early for an answer without a body
        (HEAD, 1xx, 204, 304: what the app still sends is dropped); or because it gave up
        the exchange (the client left). Never waits for the app."""
        if self._ended or self._aborted:
            return
        status = self.status
        if self.request.original_method == "HEAD" or status < 200 or status in (204, 304):
            self._discard = True
            self._chunk = None
            taken = self._taken
            if taken is not None and not taken.done():
                taken.set_result(None)
            self._finish()
            return
        self.abandon()


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


def _status(value: Any) -> int:
    """An app's response status, checked (an ``int`` from 100 to 599)."""
    if value.__class__ is not int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"status {value!r} is not an int")
    if not 100 <= value <= 599:
        raise ValueError(f"status {value!r} is outside 100..599")
    return int(value)


def _as_bytes(body: Any) -> bytes:
    """A body that is bytes-like as ``bytes`` (anything else is the app's error)."""
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"an ASGI body must be bytes, not {type(body).__name__}")


def response_headers(raw: Any) -> Headers:
    """ASGI ``[name, value]`` byte pairs as engine ``Headers`` (latin-1, names as sent).
    Cached by value with their serialised block: apps send the same few header sets.
    A name that is not an RFC 9110 token raises ``ValueError``."""
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
    token = _TOKEN.fullmatch
    for name, value in raw:
        name = bytes(name)
        if token(name) is None:
            raise ValueError(f"header name {name!r} is not a token")
        text = name.decode("latin-1")
        items.append((text.lower(), text, bytes(value).decode("latin-1")))
    headers = Headers.from_list(items)
    if key is not None and len(items) <= 16:
        _HEADER_SETS.put(key, (items.copy(), wire.header_block(headers)))
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


async def coroutine_of(awaitable: Awaitable[None]) -> None:
    """An app call that returned an awaitable object, not a coroutine, as a coroutine
    (a task needs one)."""
    await awaitable
