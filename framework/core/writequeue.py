"""``WriteQueue``: the one write path for client sockets and pipes (CGI stdin).

Write now when the fd takes it, queue the rest, flush only when the loop says the fd is
writable, and let producers wait (``drain``) above a high-water mark until the backlog falls
below a low-water mark. A peer that goes away (EPIPE, ECONNRESET, EBADF...) is an event, not
a crash: the queue moves to a closed state, records ``error`` and wakes every waiter.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections import deque
from collections.abc import Callable

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
_MAX_IOV = 64  # buffers handed to one sendmsg/writev call


class WriteQueue:
    """Buffered non-blocking writer for one socket or pipe fd.

    ``write(data)`` never blocks and never raises for a dead peer (the data is dropped and
    ``error`` is set). ``await drain()`` gives backpressure, ``await flush()`` waits for an
    empty queue, ``await sendfile(...)`` sends a file slice zero-copy. ``close()`` closes the
    fd once everything is flushed; ``abort()`` closes it now. With ``owns_fd=False`` the fd
    is left open (the owner closes it). ``timeout`` (seconds, 0 = none) aborts the queue
    with ``TimeoutError`` when data stays pending that long without any write progress.
    ``on_lost(exc)`` is called once if the peer goes away or the timeout fires.
    """

    __slots__ = (
        "_loop",
        "_sock",
        "_fd",
        "_buf",
        "_buffered",
        "_high",
        "_low",
        "_writing",
        "_waiters",
        "_error",
        "_closed",
        "_closing",
        "_owns_fd",
        "_released",
        "_in_sendfile",
        "_timeout",
        "_timer",
        "_progress_at",
        "on_lost",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        target: socket.socket | int,
        *,
        high_water: int = HIGH_WATER,
        low_water: int = LOW_WATER,
        owns_fd: bool = True,
        timeout: float = 0.0,
        on_lost: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._loop = loop
        if isinstance(target, socket.socket):
            self._sock: socket.socket | None = target
            self._fd = target.fileno()
        else:
            self._sock = None
            self._fd = target
            os.set_blocking(target, False)
        self._buf: deque[memoryview] = deque()
        self._buffered = 0
        self._high = high_water
        self._low = min(low_water, high_water)
        self._writing = False  # add_writer registered
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._error: BaseException | None = None
        self._closed = False
        self._closing = False
        self._owns_fd = owns_fd
        self._released = False
        self._in_sendfile = False
        self._timeout = timeout
        self._timer: asyncio.TimerHandle | None = None
        self._progress_at = 0.0
        self.on_lost = on_lost

    # -- state ---------------------------------------------------------------------------
    @property
    def fd(self) -> int:
        """The file descriptor written to."""
        return self._fd

    @property
    def buffered(self) -> int:
        """Bytes accepted by ``write`` and not yet handed to the kernel."""
        return self._buffered

    @property
    def closed(self) -> bool:
        """True once the queue no longer writes (closed, aborted or the peer went away)."""
        return self._closed

    @property
    def error(self) -> BaseException | None:
        """Why the queue closed on its own (peer gone, timeout), else None."""
        return self._error

    @property
    def full(self) -> bool:
        """True above the high-water mark: a producer should ``await drain()``."""
        return self._buffered > self._high

    def set_timeout(self, timeout: float) -> None:
        """Change the no-progress timeout (0 disables it)."""
        self._timeout = timeout

    # -- writing -------------------------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` now as far as the fd accepts it; queue the rest."""
        if self._closed or self._closing or not data:
            return
        if not isinstance(data, bytes):
            data = bytes(data)  # the caller may reuse its buffer
        if not self._buf and not self._in_sendfile:
            try:
                n = self._sock.send(data) if self._sock is not None else os.write(self._fd, data)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError as exc:
                self._fail(exc)
                return
            if n == len(data):
                return
            self._buf.append(memoryview(data)[n:])
            self._buffered = len(data) - n
        else:
            self._buf.append(memoryview(data))
            self._buffered += len(data)
        if not self._in_sendfile:
            self._start_writing()

    def _start_writing(self) -> None:
        if not self._writing:
            self._writing = True
            self._loop.add_writer(self._fd, self._on_writable)
            self._progress_at = self._loop.time()
            self._arm_timer()

    def _stop_writing(self) -> None:
        if self._writing:
            self._writing = False
            self._loop.remove_writer(self._fd)

    def _on_writable(self) -> None:
        buf = self._buf
        try:
            if len(buf) == 1:
                view = buf[0]
                n = self._sock.send(view) if self._sock is not None else os.write(self._fd, view)
            else:
                views = [buf[i] for i in range(min(len(buf), _MAX_IOV))]
                if self._sock is not None:
                    n = self._sock.sendmsg(views)
                else:
                    n = os.writev(self._fd, views)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._fail(exc)
            return
        if n:
            self._progress_at = self._loop.time()
        self._buffered -= n
        while n:
            head = buf[0]
            if n >= len(head):
                n -= len(head)
                buf.popleft()
            else:
                buf[0] = head[n:]
                n = 0
        if not buf:
            self._stop_writing()
            if self._closing:
                self._finish_close()
        self._wake()

    def _wake(self) -> None:
        if not self._waiters:
            return
        keep = []
        for threshold, fut in self._waiters:
            if fut.done():
                continue
            if self._error is not None or self._closed:
                fut.set_result(None)
            elif self._buffered <= threshold:
                fut.set_result(None)
            else:
                keep.append((threshold, fut))
        self._waiters = keep

    async def _wait_below(self, threshold: int) -> None:
        while self._buffered > threshold:
            if self._closed:
                break
            fut = self._loop.create_future()
            self._waiters.append((threshold, fut))
            await fut
        if self._error is not None:
            raise ConnectionError(str(self._error) or type(self._error).__name__)
        if self._closed and self._buffered:
            raise ConnectionError("write queue closed")

    async def drain(self) -> None:
        """Return at once below the high-water mark; otherwise wait until the backlog is at
        or below the low-water mark. Raises ``ConnectionError`` if the peer is gone."""
        if self._error is not None:
            raise ConnectionError(str(self._error) or type(self._error).__name__)
        if self._buffered <= self._high:
            return
        await self._wait_below(self._low)

    async def flush(self) -> None:
        """Wait until everything written so far is handed to the kernel."""
        if self._error is not None:
            raise ConnectionError(str(self._error) or type(self._error).__name__)
        if self._buffered:
            await self._wait_below(0)

    async def sendfile(self, file_fd: int, offset: int, count: int) -> int:
        """Send ``count`` bytes of ``file_fd`` from ``offset`` with ``os.sendfile`` (after
        flushing what is queued). Returns the bytes sent (fewer only if the file is shorter).
        Raises ``ConnectionError`` if the peer goes away."""
        await self.flush()
        if self._closed:
            raise ConnectionError("write queue closed")
        sent = 0
        self._in_sendfile = True
        self._progress_at = self._loop.time()
        try:
            while sent < count:
                try:
                    n = os.sendfile(self._fd, file_fd, offset + sent, count - sent)
                except (BlockingIOError, InterruptedError):
                    await self._writable()
                    continue
                except OSError as exc:
                    self._fail(exc)
                    break
                if n == 0:
                    break  # the file is shorter than announced
                sent += n
                self._progress_at = self._loop.time()
        finally:
            self._in_sendfile = False
        if self._error is not None:
            raise ConnectionError(str(self._error) or type(self._error).__name__)
        if self._buf and not self._closed:
            self._start_writing()
        return sent

    async def _writable(self) -> None:
        fut = self._loop.create_future()
        self._waiters.append((-1, fut))  # only woken by an error or close
        self._loop.add_writer(self._fd, _set_done, fut)
        self._writing = True
        self._arm_timer()
        try:
            await fut
        finally:
            if self._writing and not self._closed:
                self._writing = False
                self._loop.remove_writer(self._fd)
        if self._error is not None:
            raise ConnectionError(str(self._error) or type(self._error).__name__)
        if self._closed:
            raise ConnectionError("write queue closed")

    # -- timeout ---------------------------------------------------------------------------
    def _arm_timer(self) -> None:
        if self._timeout > 0 and self._timer is None:
            self._timer = self._loop.call_at(self._progress_at + self._timeout, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._closed or not (self._writing or self._in_sendfile):
            return
        deadline = self._progress_at + self._timeout
        if self._loop.time() >= deadline:
            self._fail(TimeoutError("send timed out"))
        else:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    # -- closing ---------------------------------------------------------------------------
    def notify_close(self) -> None:
        """Queue what tells the peer no more data follows (TLS close_notify; nothing on a
        plain fd, whose FIN says it)."""

    def close(self) -> None:
        """Close the fd once the queue is flushed (at once when it is empty)."""
        if self._closed:
            self._release_fd()
            return
        if self._closing:
            return
        self._closing = True
        if not self._buf and not self._in_sendfile:
            self._finish_close()

    def abort(self) -> None:
        """Drop whatever is queued and close the fd now."""
        if self._closed:
            self._release_fd()
            return
        self._buf.clear()
        self._buffered = 0
        self._finish_close()

    def _finish_close(self) -> None:
        self._stop_writing()
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._release_fd()
        self._wake()

    def _release_fd(self) -> None:
        if self._owns_fd and not self._released:
            self._released = True
            try:
                if self._sock is not None:
                    self._sock.close()
                else:
                    os.close(self._fd)
            except OSError:
                pass

    def _fail(self, exc: BaseException) -> None:
        if self._closed:
            return
        # kept without its traceback: that would hold the frame that failed, and through it
        # this queue and the body being written, in a cycle only the cyclic GC frees
        self._error = exc.with_traceback(None)
        self._buf.clear()
        self._buffered = 0
        self._stop_writing()
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closing:
            self._release_fd()
        self._wake()
        if self.on_lost is not None:
            callback, self.on_lost = self.on_lost, None
            try:
                callback(exc)
            except Exception:  # noqa: BLE001 - never raise out of a loop callback
                pass


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
