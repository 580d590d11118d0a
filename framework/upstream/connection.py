"""``UpstreamConnection``: one non-blocking TCP connection to an upstream server.

Writes go through a ``WriteQueue`` (its no-progress timeout is ``proxy_send_timeout``);
reads are taken by a loop reader into a ``ChunkQueue`` that stops reading the socket above
its high-water mark, so a slow client pauses the upstream instead of filling memory. The
read timeout (``proxy_read_timeout``) counts only while the socket is being read and a
response is awaited: a paused read (client backpressure) never times the upstream out.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections.abc import Callable

from framework.core.chunkqueue import ChunkQueue
from framework.core.writequeue import WriteQueue

READ_SIZE = 256 * 1024
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024

Address = tuple[int, tuple]  # (address family, sockaddr)

# recv(256 KiB) would mmap and unmap a new object per read: read into one shared buffer
# (one loop calls one reader at a time) and copy out what arrived
_BUFFER = bytearray(READ_SIZE)
_VIEW = memoryview(_BUFFER)


class UpstreamTimeout(TimeoutError):
    """The upstream did not answer (or accept data) within the configured timeout."""


_IN_PROGRESS = frozenset({errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR})


async def _connect(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, sockaddr: tuple | str, timeout: float
) -> None:
    """A non-blocking connect to the already resolved ``sockaddr``: ``connect_ex``, then wait
    until the socket is writable and read ``SO_ERROR``. ``loop.sock_connect`` would do the
    same on asyncio, but uvloop's resolves the address again in libuv's thread pool (a thread
    hop per connection, and threads the I/O core must not have)."""
    code = sock.connect_ex(sockaddr)
    if code == 0:
        return
    if code not in _IN_PROGRESS:
        raise OSError(code, os.strerror(code))
    fd = sock.fileno()
    done: asyncio.Future[None] = loop.create_future()

    def writable() -> None:
        if not done.done():
            done.set_result(None)

    def expired() -> None:
        if not done.done():
            done.set_exception(UpstreamTimeout("upstream timed out while connecting"))

    loop.add_writer(fd, writable)
    timer = loop.call_later(timeout, expired) if timeout > 0 else None
    try:
        await done
    finally:
        loop.remove_writer(fd)
        if timer is not None:
            timer.cancel()
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        raise OSError(code, os.strerror(code))


class UpstreamConnection:
    """A connected socket with its write queue and read queue.

    ``incoming.get()`` gives the bytes read (None at EOF), or raises the read error, an
    ``UpstreamTimeout`` or the error that ``fail`` was given. ``idle`` is set while the
    connection sits in a keep-alive pool: then any byte or EOF from the upstream closes it
    (``on_idle_close`` tells the pool)."""

    __slots__ = (
        "loop",
        "sock",
        "fd",
        "address",
        "queue",
        "incoming",
        "requests",
        "idle",
        "idle_since",
        "parser",
        "on_idle_close",
        "_reading",
        "_closed",
        "_read_timeout",
        "_last_read",
        "_timer",
        "__weakref__",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        address: Address,
        *,
        send_timeout: float = 60.0,
    ) -> None:
        self.loop = loop
        self.sock = sock
        self.fd = sock.fileno()
        self.address = address
        self.queue = WriteQueue(loop, sock, timeout=send_timeout, owns_fd=False)
        self.queue.on_lost = self._write_lost
        self.incoming = ChunkQueue(
            high_water=HIGH_WATER, low_water=LOW_WATER, pause=self._pause, resume=self._resume
        )
        self.requests = 0  # requests sent on this connection
        self.idle = False
        self.idle_since = 0.0
        self.parser: object | None = None  # the last response's parser, reused when kept alive
        self.on_idle_close: Callable[[UpstreamConnection], None] | None = None
        self._reading = False
        self._closed = False
        self._read_timeout = 0.0
        self._last_read = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._resume()

    @classmethod
    async def open(
        cls,
        address: Address,
        *,
        connect_timeout: float,
        send_timeout: float,
    ) -> UpstreamConnection:
        """Connect to ``address``; raises ``OSError`` (refused, unreachable...) or
        ``UpstreamTimeout`` after ``connect_timeout`` seconds."""
        loop = asyncio.get_running_loop()
        family, sockaddr = address
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            if family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await _connect(loop, sock, sockaddr, connect_timeout)
        except BaseException:
            sock.close()
            raise
        return cls(loop, sock, address, send_timeout=send_timeout)

    # -- state ---------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def usable(self) -> bool:
        """Open, with nothing unread and no EOF or error seen: may carry a new request."""
        incoming = self.incoming
        return (
            not self._closed
            and not self.queue.closed
            and incoming.buffered == 0
            and not incoming.eof
            and incoming.error is None
        )

    # -- reading -------------------------------------------------------------------------
    def _resume(self) -> None:
        if self._reading or self._closed or self.incoming.eof:
            return
        self._reading = True
        self.loop.add_reader(self.fd, self._on_readable)
        self._last_read = self.loop.time()

    def _pause(self) -> None:
        if self._reading:
            self._reading = False
            self.loop.remove_reader(self.fd)

    def _on_readable(self) -> None:
        try:
            n = self.sock.recv_into(_BUFFER)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._pause()
            self.incoming.fail(exc)
            if self.idle:
                self._idle_closed()
            return
        if self.idle:  # a pooled connection: the upstream closed it (or spoke out of turn)
            self._pause()
            self._idle_closed()
            return
        self._last_read = self.loop.time()
        if not n:
            self._pause()
            self.incoming.put_eof()
            return
        self.incoming.put(_VIEW[:n].tobytes())  # pauses reading at the high-water mark

    def _idle_closed(self) -> None:
        callback, self.on_idle_close = self.on_idle_close, None
        self.close()
        if callback is not None:
            callback(self)

    def _write_lost(self, exc: BaseException) -> None:
        if isinstance(exc, TimeoutError):
            exc = UpstreamTimeout("upstream timed out while sending the request")
        self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        """End the read side with ``exc`` (wakes a waiting reader)."""
        self.incoming.fail(exc)

    # -- read timeout ----------------------------------------------------------------------
    def start_read_timer(self, timeout: float) -> None:
        """From now on, fail reads when nothing arrives for ``timeout`` seconds while the
        socket is being read (0: never)."""
        self._read_timeout = timeout
        self._last_read = self.loop.time()
        if timeout > 0 and self._timer is None:
            self._timer = self.loop.call_at(self._last_read + timeout, self._on_timer)

    def stop_read_timer(self) -> None:
        """No read timeout from now on (an armed timer lapses when it fires: cheaper than
        cancelling and re-creating one per request on a kept-alive connection)."""
        self._read_timeout = 0.0

    def _on_timer(self) -> None:
        self._timer = None
        timeout = self._read_timeout
        if timeout <= 0 or self._closed:
            return
        now = self.loop.time()
        if not self._reading:  # paused by backpressure, or at EOF: not the upstream's fault
            self._last_read = now
        elif now - self._last_read >= timeout:
            self.incoming.fail(UpstreamTimeout("upstream timed out while reading the response"))
            return
        self._timer = self.loop.call_at(self._last_read + timeout, self._on_timer)

    # -- closing -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the socket now (what is queued is dropped)."""
        if self._closed:
            return
        self._closed = True
        self._read_timeout = 0.0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pause()
        self.queue.abort()
        self.incoming.clear()
        if self.incoming.error is None and not self.incoming.eof:
            self.incoming.fail(ConnectionAbortedError("upstream connection closed"))
        try:
            self.sock.close()
        except OSError:
            pass
