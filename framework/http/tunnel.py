"""Protocol upgrades: a handler answers a request that asked for one (``Connection: upgrade``
and ``Upgrade: ...``, without a body) with ``Response(101, body=Upgrade(run))``; the engine
writes the 101 head through the usual response path, stops parsing HTTP on that connection
and awaits ``run(tunnel)`` with a ``Tunnel``: the connection's byte stream after the head
(plain TCP or TLS alike). When ``run`` returns or raises, the connection is closed.

Until its answer is known, the bytes that follow an upgrade request's head are held back
(``UpgradeHold``, reading paused): a 101 makes them the tunnel's first bytes, any other
answer parses them as the next request, as before.

Flow control both ways: input goes to a bounded ``ChunkQueue`` (socket reading pauses above
its high-water mark, resumes below the low one); ``write`` goes to the connection's
``WriteQueue`` and ``drain`` waits while it is above its own mark. A tunnel has no engine
timer (the handler clock and keepalive_timeout stop at the 101): its owner keeps its own
idle timeout. Graceful stop sets ``tunnel.stopping`` at once; at shutdown_timeout (and on an
immediate stop) ``on_abort`` is called, then the run is cancelled. The access log line
(status 101, bytes written) is written when the tunnel ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from framework.core.chunkqueue import ChunkQueue
from framework.http import wire
from framework.logs import error_log

if TYPE_CHECKING:
    from framework.core.writequeue import WriteQueue
    from framework.http.connection import Connection
    from framework.http.request import Request
    from framework.http.response import Response
    from framework.pipeline import Application

HIGH_WATER = 256 * 1024  # tunnel input buffered before socket reading pauses
LOW_WATER = 64 * 1024
PAUSE_UPGRADE = 8  # a Connection pause reason (beside deadlines._PAUSE_*)

TunnelRun = Callable[["Tunnel"], Awaitable[None]]


class Upgrade:
    """The body of a ``101 Switching Protocols`` response: ``run(tunnel)`` is awaited
    once the head is written, and owns the connection until it returns. ``app`` is the
    Application that answered (set by it): the tunnel counts as in flight there."""

    __slots__ = ("run", "app")

    def __init__(self, run: TunnelRun) -> None:
        self.run = run
        self.app: Application | None = None

    def __repr__(self) -> str:
        return f"<Upgrade {getattr(self.run, '__qualname__', self.run)!r}>"


class Tunnel:
    """The byte stream of an upgraded connection (see the module docstring).

    ``await read()`` returns the next bytes, ``b""`` at end of input; ``write(data)`` queues
    bytes (dropped once the client is gone); ``await drain()`` waits while too much is
    queued and raises ``ConnectionError`` if the client is gone; ``close()`` ends the
    stream (the connection closes when ``run`` returns). ``stopping`` is set when the server
    stops gracefully (and ``on_stop``, if set, is called); ``on_abort`` (if set) is called
    just before a forced close (shutdown timeout, immediate stop) so a protocol can queue a
    last goodbye. ``sent`` counts the bytes written.

    Instead of ``read``, a protocol may take its input pushed as it arrives
    (``set_protocol``), applying backpressure with ``pause_reading``/``resume_reading``.
    """

    __slots__ = (
        "request",
        "sent",
        "stopping",
        "on_stop",
        "on_abort",
        "_conn",
        "_queue",
        "_input",
        "_closed",
        "_push",
        "_push_eof",
        "_hung_up",
    )

    def __init__(self, conn: Connection, request: Request, first: list[bytes]) -> None:
        self.request = request
        self.sent = 0
        self.stopping = asyncio.Event()
        self.on_stop: Callable[[], None] | None = None
        self.on_abort: Callable[[], None] | None = None
        self._push: Callable[[bytes], None] | None = None
        self._push_eof: Callable[[], None] | None = None
        self._hung_up = False
        self._conn = conn
        self._queue: WriteQueue = conn.queue
        self._closed = False
        self._input = ChunkQueue(
            high_water=HIGH_WATER,
            low_water=LOW_WATER,
            pause=lambda: conn.pause(PAUSE_UPGRADE),
            resume=lambda: conn.resume(PAUSE_UPGRADE),
        )
        for chunk in first:
            self._input.put(chunk)

    # -- the owner's side -----------------------------------------------------------------
    async def read(self) -> bytes:
        """The next bytes from the client; ``b""`` at end of input (or after ``close``)."""
        if self._closed:
            return b""
        chunk = await self._input.get()
        return b"" if chunk is None else chunk

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` for the client (never blocks; see ``drain``)."""
        if self._closed or not data:
            return
        self.sent += len(data)
        self._queue.write(data)

    async def drain(self) -> None:
        """Wait until the write backlog is below its mark; ``ConnectionError`` if gone."""
        await self._queue.drain()

    def close(self) -> None:
        """End the stream: no more reads or writes (queued bytes are still sent)."""
        if not self._closed:
            self._closed = True
            self._input.clear()
            self._input.put_eof()

    @property
    def full(self) -> bool:
        """True while the write backlog is above its high-water mark (``drain`` would wait)."""
        return self._queue.full

    @property
    def backlog(self) -> int:
        """Bytes written and not yet handed to the kernel."""
        return self._queue.buffered

    def abort(self) -> None:
        """Drop the connection now (queued bytes are lost); the owner's run is cancelled
        (at once, or at its next await when it calls this itself)."""
        self._closed = True
        self._conn._lost()

    def shut_down(self) -> None:
        """Forced close at the end of a retired configuration's ``shutdown_timeout``: the
        owner's ``on_abort`` (a WebSocket's 1001), then the connection is closed."""
        self._conn.abort()

    def set_protocol(
        self, data_received: Callable[[bytes], None], eof_received: Callable[[], None]
    ) -> None:
        """Push mode: from now on input is handed to ``data_received`` as it arrives (the
        bytes already buffered at once), the end of input to ``eof_received``; ``read``
        is no longer used. The callbacks run in the connection's reader: keep them short
        and never await; call ``pause_reading`` to hold input back."""
        self._push = data_received
        self._push_eof = eof_received
        queue = self._input
        while (chunk := queue.get_nowait()) is not None:
            data_received(chunk)
        if queue.eof:
            eof_received()

    def pause_reading(self) -> None:
        """Push mode: stop reading the socket until ``resume_reading``."""
        if not self._hung_up:
            self._conn.pause(PAUSE_UPGRADE)

    def resume_reading(self) -> None:
        """Push mode: read again."""
        self._conn.resume(PAUSE_UPGRADE)

    @property
    def closed(self) -> bool:
        """True after ``close`` or once the client is gone."""
        return self._closed or self._queue.closed

    # -- the engine's side ------------------------------------------------------------------
    def feed(self, data: bytes | memoryview) -> None:
        """Input from the connection (plain or decrypted TLS)."""
        if self._closed:
            return
        push = self._push
        if push is not None:
            push(bytes(data))
        else:
            self._input.put(bytes(data))

    def put_eof(self) -> None:
        """The client sent its FIN (or TLS close_notify)."""
        if self._push_eof is not None:
            if not self._closed:
                self._push_eof()
            return
        self._input.put_eof()

    def hangup(self) -> bool:
        """The client hung up while reading was paused: the rest of its input is in the
        kernel (bounded by the receive buffer, nothing more will come), so read it all."""
        self._hung_up = True
        self._input._pause = None  # never paused again: the rest is bounded by the kernel
        self._conn.resume(PAUSE_UPGRADE)
        return True

    def server_stopping(self) -> None:
        """Graceful stop: tell the owner."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        if self.on_stop is not None:
            self.on_stop()

    def server_aborting(self) -> None:
        """Forced close: the owner's last chance to queue bytes."""
        self.stopping.set()
        callback, self.on_abort = self.on_abort, None
        if callback is not None:
            try:
                callback()
            except Exception:  # noqa: BLE001
                error_log.exception("tunnel on_abort failed")


class UpgradeHold:
    """The bytes after an upgrade request's head, held (reading paused) until its answer
    is known: a 101 makes them the tunnel's first bytes, anything else parses them."""

    __slots__ = ("request", "chunks")

    def __init__(self, request: Request, first: bytes) -> None:
        self.request = request
        self.chunks: list[bytes] = [first] if first else []

    def feed(self, data: bytes | memoryview) -> None:
        """Input arriving while the answer is not known (bounded by one read)."""
        self.chunks.append(bytes(data))

    def put_eof(self) -> None:
        """A FIN: the connection handles it as for any request."""

    def hangup(self) -> bool:
        """Not handled here."""
        return False

    def server_stopping(self) -> None:
        """Nothing to tell yet."""

    def server_aborting(self) -> None:
        """Nothing to tell yet."""


def upgrade_problem(conn: Connection, request: Request, response: Response) -> str:
    """Why ``response`` cannot switch protocols (``""`` when it can)."""
    if response.status != 101:
        return f"an Upgrade body with status {response.status}"
    if not isinstance(response.body, Upgrade):
        return "a 101 answer without an Upgrade body"
    hold = conn._tunnel
    if not isinstance(hold, UpgradeHold) or hold.request is not request:
        return "a 101 answer to a request that did not ask for an upgrade"
    return ""


async def serve_tunnel(conn: Connection, request: Request, response: Response) -> None:
    """Write the 101 head, then run the tunnel until its owner returns, and log it."""
    hold = conn._tunnel
    assert isinstance(hold, UpgradeHold)
    upgrade = response.body
    assert isinstance(upgrade, Upgrade)
    request.keep_alive = False
    loc = request.location
    queue = conn.queue
    queue.set_timeout(loc.send_timeout if loc is not None else 60.0)
    tokens = (loc if loc is not None else conn.defaults.context).server_tokens
    head = wire.head_start(101, response.reason, tokens) + wire.header_block(response.headers)
    connection = response.headers.get("connection") or "upgrade"  # header_block leaves it out
    queue.write(wire.encode_head(f"{head}Connection: {connection}\r\n\r\n"))
    tunnel = Tunnel(conn, request, hold.chunks)
    # in flight in the Application that answered (after a reload conn.owner.app is the new
    # one): the old one's shutdown waits for it; no await since respond() returned
    app = upgrade.app or conn.owner.app
    app.hold_tunnel(tunnel)
    conn._tunnel = tunnel
    conn._busy = True  # graceful stop waits for it (and tells it: ``stopping``)
    conn._hreq = None  # no handler clock: the owner keeps its own idle timeout
    conn._clear_deadline()
    if conn._eof:
        tunnel.put_eof()
    if not tunnel._input._paused:
        conn.resume(PAUSE_UPGRADE)
    if conn._closing and conn.owner.stopping:  # a graceful stop began during the handshake
        tunnel.server_stopping()
    try:
        await upgrade.run(tunnel)
    except ConnectionError:
        pass  # the client is gone
    except asyncio.CancelledError:
        request._client_gone()  # the client left (or a forced stop): request.disconnected
        raise
    except Exception:  # noqa: BLE001 - the owner's failure ends this connection only
        error_log.exception("tunnel of %s %s failed", request.method, request.original_uri)
    finally:
        tunnel._closed = True
        conn._busy = False
        app.release_tunnel(tunnel)
        app.log_access(request, 101, tunnel.sent)  # also when cancelled (client gone, stop)


__all__ = ["Tunnel", "TunnelRun", "Upgrade", "UpgradeHold", "serve_tunnel", "upgrade_problem"]
