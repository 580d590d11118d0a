"""How a ``Connection`` ends: at once when the client is gone, after the queued bytes are sent,
or lingering (reading and discarding) after an error answer so the client sees the answer
rather than a reset; and the graceful-stop / reload checks.

``ConnectionCloser`` is a mixin of ``Connection``: it keeps no state of its own (the slots are
on ``Connection``).
"""

from __future__ import annotations

import asyncio
import fcntl
import socket
import struct
import termios
from collections import deque
from typing import TYPE_CHECKING

from framework.http.deadlines import _NEVER
from framework.stats import stats

if TYPE_CHECKING:
    from framework.core.writequeue import WriteQueue
    from framework.http.body import RequestBody
    from framework.http.connection import Owner
    from framework.http.request import Request
    from framework.http.tunnel import Tunnel, UpgradeHold

LINGER_TIME = 2.0  # seconds we read and discard after answering an error, before closing
HALF_CLOSE_GRACE = 1.0  # seconds a handler running when its client sent a FIN may finish
_PROBE = b"HTTP/1.1 100 Continue\r\n\r\n"
_DISCARD_SIZE = 256 * 1024  # bytes read at a time while lingering (as READ_SIZE)


class ConnectionCloser:
    """The closing half of ``Connection`` (see there for the attributes it uses)."""

    __slots__ = ()

    owner: Owner
    loop: asyncio.AbstractEventLoop
    sock: socket.socket
    fd: int
    queue: WriteQueue
    task: asyncio.Task[None]
    pending: deque[tuple[Request, int]]
    _waiter: asyncio.Future[None] | None
    _reading: bool
    _closing: bool
    _closed: bool
    _busy: bool
    _in_head: bool
    _url: list[bytes]
    _body: RequestBody | None
    _timer: asyncio.TimerHandle | None
    _timer_at: float
    _timer_kind: str
    _hup_on: bool
    _hreq: Request | None
    _tunnel: UpgradeHold | Tunnel | None

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():  # cancelled before it ever ran: nothing else will close us
            self._abort()

    def _on_write_lost(self, exc: BaseException) -> None:
        self._lost()

    def _lost(self) -> None:
        """The client went away (or stalled past send_timeout): stop everything."""
        if self._closed:
            return
        body = self._body
        if body is not None:
            body.fail(ConnectionError("client gone"))
        request = self._hreq
        if request is not None:
            request._client_gone()  # request.disconnected, before its handler is cancelled
        task = self.task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()  # cancels the handler; aclose()s a streaming body
        else:
            self._abort()

    def _client_may_be_gone(self, request: Request) -> None:
        """The client sent its FIN (and its whole request) while the handler of ``request``,
        or its streamed body, runs. nginx and uvicorn take that as the client leaving, and
        a plain close looks the same until a write fails; lighttpd answers a CGI. So: a
        handler that opted in (``request.answer_after_half_close()``) is answered, and any
        other still running a moment later is cancelled and ``request.disconnected`` set.
        The moment lets a quick answer reach a client that only half-closed."""
        if request._half_close_ok:
            self._probe_half_closed(request)
        else:
            self.loop.call_later(HALF_CLOSE_GRACE, self._end_if_still_running, request)

    def _end_if_still_running(self, request: Request) -> None:
        if self._closed or self._hreq is not request:
            return
        if request._half_close_ok:  # it opted in after the FIN
            self._probe_half_closed(request)
        else:
            self._lost()

    def _probe_half_closed(self, request: Request) -> None:
        """Tell a client that only half-closed from one that closed: before any byte of the
        response, an HTTP/1.1 client may get a ``100 Continue`` at any time (RFC 9110 15.2:
        it must parse unexpected 1xx), and a closed socket answers it with a reset. Without
        a reset a moment later, the handler goes on; otherwise it is cancelled (a CGI is
        killed) instead of running to its timeout for nobody."""
        if not self._busy or request.http_version != "1.1" or self.queue.closed:
            return  # the response has begun (a write will fail), or no 1xx is allowed
        self.queue.write(_PROBE)
        self.loop.call_later(HALF_CLOSE_GRACE, self._end_if_reset, request)

    def _end_if_reset(self, request: Request) -> None:
        if self._closed or self._hreq is not request:
            return
        try:
            error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except OSError:
            error = -1
        if error:
            self._lost()

    def _abort(self) -> None:
        if self._closed:
            return
        self._stop_reading()
        self.queue.abort()
        self._done()

    def _finish(self, linger: bool) -> None:
        """Close after the queued bytes are sent; after an error answer, read and discard
        for a while first so the client sees the answer rather than a reset."""
        if self._closed:
            return
        self._stop_reading()
        if self.queue.closed or not (linger or self.queue.buffered):
            self.queue.close()
            self._done()
            return
        # keep counting this connection (graceful stop waits for it) until its bytes are out
        self.loop.create_task(self._linger() if linger else self._close_after_flush())

    async def _close_after_flush(self) -> None:
        try:
            await self.queue.flush()  # bounded by send_timeout (the queue's timeout)
        except ConnectionError:
            pass
        self.queue.close()
        self._done()

    async def _linger(self) -> None:
        self.queue.notify_close()  # TLS: close_notify before our FIN
        try:
            await asyncio.wait_for(self.queue.flush(), 10.0)
            self.sock.shutdown(socket.SHUT_WR)
        except (TimeoutError, OSError, ConnectionError):
            self._abort()
            return
        done = self.loop.create_future()

        def discard() -> None:
            try:
                data = self.sock.recv(_DISCARD_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data and not done.done():
                done.set_result(None)

        self.loop.add_reader(self.fd, discard)
        self._reading = True
        try:
            await asyncio.wait_for(done, LINGER_TIME)
        except TimeoutError:
            pass
        finally:
            self._abort()

    def _done(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._hup_on:
            self._unwatch_hangup()
        self._closing = True
        self._wake()  # a serving task waiting for the next request ends now
        if self._in_head:
            self._in_head = False
            stats.reading -= 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = _NEVER
        self._timer_kind = ""
        body = self._body
        if body is not None:
            body.fail(ConnectionError("connection closed"))
            self._body = None
        stats.active -= 1
        stats.handled += 1
        self.owner.connection_closed(self)

    def close_if_idle(self) -> bool:
        """Graceful stop: close now when no request is in progress (True if closed)."""
        self._closing = True
        if self._tunnel is not None:
            self._tunnel.server_stopping()
        if self._busy or self.pending or self._in_head:
            return False
        self._wake()
        return True

    def close_if_waiting(self) -> bool:
        """Reload: close now if idle between keep-alive requests, nothing of the next one
        arrived (True if closed). A connection with a request under way keeps going, and
        one that has not sent its first request yet keeps its client_header_timeout (its
        request may be on the way)."""
        if self._waiter is None or self.pending or self._in_head or self._body is not None:
            return False  # the serving task is not waiting for a next request
        if not self._url:  # no request seen yet
            return False
        if self._closing or self._closed or _unread(self.fd):
            return False
        self._closing = True
        self._wake()
        return True

    def abort(self) -> None:
        """Immediate stop: cancel whatever runs and close the socket."""
        if self._tunnel is not None:
            self._tunnel.server_aborting()
        self._lost()


def _unread(fd: int) -> int:
    """Bytes the kernel holds unread for socket ``fd`` (0 when it cannot tell)."""
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return 0
