"""WSGI apps on the ASGI handler, in a bounded pool of daemon threads (built on ``a2wsgi``:
its middleware class, its environ builder and its ``wsgi.input``).

Why threads here, and only here: a WSGI app is blocking by design (PEP 3333: it reads
``wsgi.input`` and returns an iterable synchronously), so each request in progress needs a
thread of its own. The I/O core stays single-threaded: the threads only run the app; every
socket read and write stays on the event loop, which the threads reach through
``call_soon_threadsafe`` / ``run_coroutine_threadsafe``.

What ``_Exchange`` does differently from a2wsgi's responder:

- a request whose client left (or which the server stops) frees its thread: a2wsgi's thread
  would block forever on its full send queue or on a ``receive`` nobody answers; here every
  wait of the thread on the loop ends when the request does, and the app gets
  ``ClientGone`` at its next read or write (its iterable is closed, as PEP 3333 asks);
- output costs no loop round trip per chunk: the thread waits only when ``send_queue_size``
  messages are not yet sent, hands chunks over in batches (one loop wake-up per loop turn,
  not per chunk), and the loop merges the chunks already waiting into one send (a
  generator of many small pieces is not one engine write each);
- the status and headers go out with the first non-empty chunk (PEP 3333: an app may still
  call ``start_response`` again with ``exc_info``), and a response that reaches its
  ``Content-Length`` ends with that chunk (the engine's plain-bytes path);
- a request waits for a thread on the loop (``BoundedWSGIMiddleware.acquire``), not in the
  pool's queue: a client that leaves meanwhile only cancels a coroutine (the app never runs
  for it), and at most ``backlog`` requests wait (then 503 with ``Retry-After``);
- the environ's ``HTTP_*`` variables follow the CGI rules (``cgi_env.field_variables``:
  names with ``_`` dropped, cookies joined with ``; ``);
- the app's ``Content-Length`` holds: output past it is cut, output short of it is streamed
  (the engine closes the connection after it), a malformed or conflicting one is an error;
- for HEAD the exchange ends once the head is known (the app's iterable is closed);
- ``wsgi.errors`` writes to webserv's error log (a2wsgi gives ``sys.stdout``), and
  ``wsgi.input_terminated`` is set, so a chunked request body (no ``Content-Length``)
  reaches frameworks such as Werkzeug instead of reading as empty.

The pool's threads are daemon threads: a thread stuck in the app (an endless loop, a
blocking call without timeout) cannot keep the worker from exiting after
``shutdown_timeout`` (``ThreadPoolExecutor`` joins its threads at interpreter exit).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from a2wsgi.wsgi import Body, WSGIMiddleware, build_environ

from framework.logs import error_log
from handlers.cgi_env import field_variables

T = TypeVar("T")

DEFAULT_THREADS = 10
"""Threads per worker process (a2wsgi's default): requests a WSGI app serves at once."""


BACKLOG_PER_THREAD = 100
"""Requests that may wait for a free thread, per thread of the pool (1000 with the default
10 threads); past that the bridge answers 503 with ``Retry-After`` at once."""

RETRY_AFTER = "1"
"""``Retry-After`` (seconds) of that 503."""

MERGE_LIMIT = 256 * 1024
"""Chunks already waiting are sent as one until they add up to this many bytes."""


class ClientGone(ConnectionError):
    """Raised in the app's thread at its next read or write once the request is over
    (client gone, server stopping)."""


_Job = tuple[concurrent.futures.Future[Any], Callable[[], Any]]


class DaemonThreadPool(concurrent.futures.Executor):
    """At most ``max_workers`` daemon threads, started as needed and then kept."""

    def __init__(self, max_workers: int, name: str = "wsgi") -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._max = max_workers
        self._name = name
        self._work: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._shutdown = False

    def submit(  # type: ignore[override]
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new work after shutdown")
            self._work.put((future, functools.partial(fn, *args, **kwargs)))
            if not self._idle.acquire(blocking=False) and len(self._threads) < self._max:
                thread = threading.Thread(
                    target=self._run, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        return future

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            future, call = item
            del item
            if future.set_running_or_notify_cancel():
                try:
                    result = call()
                except BaseException as exc:  # the future carries it to the loop
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del future, call
            self._idle.release()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    item = self._work.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in threads:
            self._work.put(None)
        if wait:
            for thread in threads:
                thread.join()


class ErrorStream:
    """``wsgi.errors``: text written by the app goes to the error log, one entry per line or
    per ``flush`` (a traceback written at once stays one entry)."""

    def __init__(self) -> None:
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        if self._buffer.endswith("\n"):
            self.flush()
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        text, self._buffer = self._buffer.rstrip("\n"), ""
        if text:
            error_log.error("wsgi app: %s", text)


class _Body(Body):
    """``wsgi.input``: each read the app makes pulls the next chunk of the request body."""

    def __init__(self, exchange: _Exchange, receive: Any) -> None:
        super().__init__(exchange.loop, receive)
        self._exchange = exchange

    def _receive_more_data(self) -> bytes:
        if not self._has_more:
            return b""
        message: dict[str, Any] = self._exchange.in_loop(self.receive())  # type: ignore[arg-type]
        self._has_more = message.get("more_body", False)
        return message.get("body", b"")


class _Exchange:
    """One request. The app runs in a pool thread; what it outputs goes to the loop through
    ``outbox``, bounded by ``space`` (the thread waits only when the loop is that far
    behind, never for a round trip per chunk); the loop sends it on, merging the chunks
    that are already waiting into one. The status and headers go out with the first
    non-empty chunk (PEP 3333), and a response whose ``Content-Length`` is reached ends
    there (one ``more_body: False`` message: the engine's plain-bytes path)."""

    def __init__(
        self,
        app: Any,
        executor: Any,
        loop: asyncio.AbstractEventLoop,
        size: int,
        release: Callable[[], None] = lambda: None,
    ):
        self.app = app
        self.release = release  # frees the pool slot the request holds (once its job ends)
        self.executor = executor
        self.loop = loop
        self.outbox: asyncio.Queue[Any] = asyncio.Queue()  # messages, or what the app raised
        self.size = size
        self.space = threading.Semaphore(size)
        self.lock = threading.Lock()
        self.pending: set[concurrent.futures.Future[Any]] = set()
        self.over = False
        self.handed: list[Any] = []  # given by the thread, not yet taken by the loop
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_sent = False
        self.length: int | None = None
        self.sent = 0
        self.finished = False  # the last body message is posted

    # -- the app's thread ----------------------------------------------------------------
    def in_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it (reading the request body)."""
        with self.lock:
            if self.over:
                coro.close()
                raise ClientGone("the request is over")
            future = asyncio.run_coroutine_threadsafe(coro, self.loop)
            self.pending.add(future)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise ClientGone("the request is over") from None
        finally:
            with self.lock:
                self.pending.discard(future)

    def post(self, message: dict[str, Any]) -> None:
        """One message of output (waits while the outbox is full)."""
        self.space.acquire()
        self.hand(message)

    def hand(self, item: Any) -> None:
        """Give ``item`` to the loop: the first item since the loop last took them wakes it,
        the next ones join it (one wake-up per loop turn, not per chunk)."""
        with self.lock:
            if self.over:
                raise ClientGone("the request is over")
            self.handed.append(item)
            if len(self.handed) > 1:
                return  # the loop is already called to take them
        try:
            self.loop.call_soon_threadsafe(self.take)
        except RuntimeError:  # the loop is closed: the worker is gone
            raise ClientGone("the server stopped") from None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            if self.headers_sent:
                raise exc_info[1].with_traceback(exc_info[2])
        elif self.status is not None:
            raise RuntimeError("start_response called a second time without exc_info")
        self.status = int(status.split(" ", 1)[0])
        pairs = [
            (name.strip().lower().encode("latin-1"), value.strip().encode("latin-1"))
            for name, value in headers
        ]
        lengths = {
            part.strip()
            for name, value in pairs
            if name == b"content-length"
            for part in value.split(b",")
        }
        self.length = None
        if lengths:
            # PEP 3333 holds the server to the app's Content-Length: it must be one number
            if len(lengths) > 1 or not all(v.isdigit() for v in lengths):
                raise ValueError(f"the WSGI app gave an invalid Content-Length: {lengths!r}")
            value = lengths.pop()
            self.length = int(value)
            pairs = [(n, v) for n, v in pairs if n != b"content-length"]
            pairs.append((b"content-length", value))
        self.headers = pairs
        return self.write

    def write(self, data: bytes) -> None:
        """Output: the ``write`` callable, and each chunk of the app's iterable."""
        if not data:
            return
        length = self.length
        if length is not None and len(data) > length - self.sent:
            data = data[: length - self.sent]  # PEP 3333: never more than Content-Length
        self.sent += len(data)
        self.body(data, last=length is not None and self.sent >= length)

    def body(self, chunk: bytes, last: bool) -> None:
        if self.finished:
            return  # past Content-Length: the engine would not send it
        self.finished = last
        if not self.headers_sent:
            if self.status is None:
                raise RuntimeError("the WSGI app did not call start_response")
            self.headers_sent = True  # status and headers are final: the sender reads them
        self.post({"type": "http.response.body", "body": chunk, "more_body": not last})

    def run(self, environ: dict[str, Any]) -> None:
        """In a pool thread: call the app and pass on what it returns; what it raises goes
        to the loop too (the loop is woken only by what the thread posts)."""
        if self.over:  # the request ended (client gone) before a thread took it
            return
        try:
            iterable = self.app(environ, self.start_response)
            try:
                for chunk in iterable:
                    self.write(chunk)
                    if self.length is not None and self.sent >= self.length:
                        return  # the engine sends no more than Content-Length anyway
                self.body(b"", last=True)
            finally:
                close = getattr(iterable, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # noqa: BLE001 - handed to the loop, raised there
            self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        """Hand ``exc`` to the loop, unless the request is already over."""
        with contextlib.suppress(ClientGone):
            self.hand(exc)

    # -- the loop -------------------------------------------------------------------------
    def take(self) -> None:
        """Move what the thread handed over into the outbox."""
        with self.lock:
            items, self.handed = self.handed, []
        put = self.outbox.put_nowait
        for item in items:
            put(item)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            environ = self.environ(scope, receive)
        except BaseException:
            self.release()
            raise
        run = contextvars.copy_context().run
        try:
            job = self.executor.submit(run, self.run, environ)
        except RuntimeError as exc:  # the pool is shut down: the worker is stopping
            self.release()
            raise ClientGone("the server is stopping") from exc
        job.add_done_callback(self._job_done)
        try:
            await self.relay(send, scope["method"] == "HEAD")
        finally:
            self.end()

    def environ(self, scope: Any, receive: Any) -> dict[str, Any]:
        """a2wsgi's environ, with the HTTP_* variables made as for CGI: names outside
        ``[A-Za-z0-9-]`` dropped (``X_User`` cannot pose as ``X-User``), repeated fields
        joined with ``, `` (cookies with ``; ``)."""
        environ: dict[str, Any] = dict(build_environ(scope, _Body(self, receive)))
        for key in [key for key in environ if key.startswith("HTTP_")]:
            del environ[key]
        fields = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in scope["headers"]]
        environ.update(field_variables(fields))
        environ["wsgi.errors"] = ErrorStream()
        environ["wsgi.input_terminated"] = True
        return environ

    def end(self) -> None:
        """Wake the app's thread out of any wait; its next read or write raises."""
        with self.lock:
            self.over = True
            pending = list(self.pending)
        for future in pending:
            future.cancel()
        for _ in range(self.size + 1):
            self.space.release()

    def _job_done(self, job: concurrent.futures.Future[None]) -> None:
        if job.cancelled():  # dropped from the pool's queue before it ran
            self.fail(ClientGone("the server is stopping"))
        try:
            self.loop.call_soon_threadsafe(self.release)  # the thread is free again
        except RuntimeError:  # the loop is closed: the worker is gone
            pass

    async def relay(self, send: Any, head_only: bool = False) -> None:
        """Send the app's output on: the start message before the first chunk, then the
        chunks, merging those that are already waiting; raise what the app raised. For
        ``head_only`` (HEAD), the exchange ends once the head is known: the engine sends no
        body, so the app is not kept running (its iterable is closed)."""
        outbox, space = self.outbox, self.space
        message = await self.next(outbox)
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        total = 0
        while True:
            if message["more_body"]:
                parts = [message["body"]]
                size = len(message["body"])
                while message["more_body"] and size < MERGE_LIMIT and not outbox.empty():
                    message = outbox.get_nowait()
                    if isinstance(message, BaseException):
                        raise message
                    space.release()
                    parts.append(message["body"])
                    size += len(message["body"])
                if len(parts) > 1:
                    message = {
                        "type": "http.response.body",
                        "body": b"".join(parts),
                        "more_body": message["more_body"],
                    }
            total += len(message["body"])
            if not message["more_body"] and self.length is not None and total < self.length:
                # shorter than its Content-Length: streamed, so that the engine keeps the
                # app's length and closes the connection after it (a one-message answer
                # would be sent whole with a Content-Length of its own)
                await send({**message, "more_body": True})
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)
            if not message["more_body"]:
                return
            if head_only:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            message = await self.next(outbox)

    async def next(self, outbox: asyncio.Queue[Any]) -> dict[str, Any]:
        message = await outbox.get()
        if isinstance(message, BaseException):
            raise message
        self.space.release()
        return message  # type: ignore[no-any-return]


class BoundedWSGIMiddleware(WSGIMiddleware):
    """``a2wsgi.WSGIMiddleware`` serving each request with an ``_Exchange``, in a pool of at most
    ``workers`` daemon threads named ``NAME-N``. Serves ``http`` scopes (the handler runs
    no lifespan).

    A request waits for a free thread on the loop (``slots``, one per thread), not in the
    pool's queue: a request whose client leaves while it waits is only a cancelled
    coroutine, and the app never runs for it. At most ``backlog`` requests wait
    (``BACKLOG_PER_THREAD`` per thread by default); the next ones are answered 503 with
    ``Retry-After`` at once."""

    def __init__(
        self,
        app: Any,
        workers: int = DEFAULT_THREADS,
        send_queue_size: int = 10,
        name: str = "wsgi",
        backlog: int | None = None,
    ) -> None:
        super().__init__(app, workers=workers, send_queue_size=send_queue_size)
        self.executor.shutdown(wait=False)  # a2wsgi's own pool has no thread yet
        self.executor = DaemonThreadPool(workers, name)  # type: ignore[assignment]
        self.slots = asyncio.Semaphore(workers)
        self.backlog = BACKLOG_PER_THREAD * workers if backlog is None else backlog
        self.waiting = 0

    async def acquire(self) -> bool:
        """Wait for a free thread and hold it (``serve`` frees it once its job ends); False,
        at once, when ``backlog`` requests already wait."""
        if self.slots.locked() and self.waiting >= self.backlog:
            return False
        self.waiting += 1
        try:
            await self.slots.acquire()
        finally:
            self.waiting -= 1
        return True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if not await self.acquire():
                await send_busy(send)
                return
            await self.serve(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def serve(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ``http`` scope on a thread already held (``acquire``)."""
        loop = asyncio.get_running_loop()
        exchange = _Exchange(
            self.app, self.executor, loop, self.send_queue_size, self.slots.release
        )
        await exchange(scope, receive, send)

    def close(self) -> None:
        """Stop the pool: queued requests are cancelled; running ones are not waited for
        (their threads are daemons, freed at their next read or write)."""
        self.executor.shutdown(wait=False, cancel_futures=True)


BUSY_HEADERS = [(b"retry-after", RETRY_AFTER.encode()), (b"content-type", b"text/plain")]


async def send_busy(send: Any) -> None:
    """The 503 of a request past the backlog (every thread busy, too many waiting)."""
    await send({"type": "http.response.start", "status": 503, "headers": BUSY_HEADERS})
    body = b"every thread of the WSGI app is busy\n"
    await send({"type": "http.response.body", "body": body, "more_body": False})


__all__ = ["DEFAULT_THREADS", "BoundedWSGIMiddleware", "ClientGone", "DaemonThreadPool"]
