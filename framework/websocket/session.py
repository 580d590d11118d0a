"""``WebSocket``: one RFC 6455 session on an upgraded connection's ``Tunnel``, framed by
wsproto (sans-I/O).

Input is pushed by the tunnel as it arrives and parsed at once: pings are answered, a close
is answered, and complete messages wait in a bounded queue for ``receive``; above
``QUEUE_HIGH`` bytes the socket is no longer read (the client's sends block), below
``QUEUE_LOW`` reading resumes. ``send`` waits while the client's write backlog is above the
connection's high-water mark; ``send_nowait`` (fan-out) never waits and drops a client whose
backlog passes ``SEND_BACKLOG_LIMIT``. One timer per session runs the idle timeout and the
server pings.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from wsproto.connection import Connection as WsConnection
from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Ping,
    TextMessage,
)
from wsproto.extensions import Extension

from framework.logs import error_log
from framework.websocket.fastpath import server_frame, simple_messages

if TYPE_CHECKING:
    from framework.http.request import Request
    from framework.http.tunnel import Tunnel

QUEUE_HIGH = 256 * 1024  # received message bytes queued before the socket is not read
QUEUE_LOW = 64 * 1024
MESSAGE_OVERHEAD = 64  # counted per queued message, so many tiny ones are bounded too
FRAGMENT_COST = 64  # a fragment counts at least this against the message limit (empty ones too)
SEND_BACKLOG_LIMIT = 1024 * 1024  # send_nowait: a client further behind than this is dropped
CLOSE_TIMEOUT = 5.0  # seconds the peer has to answer our close frame
DEFLATE_STEP = 4096  # compressed bytes inflated at a time (bounds a deflate bomb's step)

_OPEN = ConnectionState.OPEN
_LOCAL_CLOSING = ConnectionState.LOCAL_CLOSING
_REMOTE_CLOSING = ConnectionState.REMOTE_CLOSING


class WebSocketClosed(Exception):  # noqa: N818 - an event the application handles
    """The session is over: ``code`` and ``reason`` of the close (1006: the connection was
    lost without a close frame)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"{code} {reason}".strip())
        self.code = code
        self.reason = reason


class WebSocket:
    """One WebSocket session (what ``request.accept_websocket``'s session gets).

    ``await receive()`` returns the next message (``str`` for text, ``bytes`` for binary)
    and raises ``WebSocketClosed`` once the peer closed (messages received before its close
    come first); ``async for message in ws`` ends quietly at the close. ``await send(data)``
    sends one message with backpressure; ``send_nowait(data)`` queues it without waiting (for
    broadcasting), dropping a client that falls too far behind. ``await close(code,
    reason)`` runs the closing handshake. ``subprotocol`` is the negotiated one, ``request``
    the handshake request, ``close_code`` the close code once closed.
    """

    __slots__ = (
        "request",
        "subprotocol",
        "close_code",
        "close_reason",
        "_tunnel",
        "_loop",
        "_proto",
        "_deflate",
        "_max",
        "_idle",
        "_ping",
        "_messages",
        "_queued",
        "_parts",
        "_part_text",
        "_part_size",
        "_frame_size",
        "_pong",
        "_pong_task",
        "_waiter",
        "_ended_event",
        "_stop_sending",
        "_closed",
        "_discard",
        "_paused",
        "_last_rx",
        "_next_ping",
        "_timer",
        "_close_timer",
    )

    def __init__(
        self,
        tunnel: Tunnel,
        *,
        subprotocol: str | None = None,
        extensions: list[Extension] | None = None,
        max_message_size: int = 1024 * 1024,
        idle_timeout: float = 60.0,
        ping_interval: float = 20.0,
    ) -> None:
        self.request: Request = tunnel.request
        self.subprotocol = subprotocol
        self.close_code: int | None = None
        self.close_reason = ""
        self._tunnel = tunnel
        self._loop = asyncio.get_running_loop()
        self._proto = WsConnection(ConnectionType.SERVER, extensions)
        self._deflate = bool(extensions)
        self._max = max_message_size
        self._idle = idle_timeout
        self._ping = ping_interval
        self._messages: deque[str | bytes] = deque()
        self._queued = 0
        self._parts: bytearray | None = None  # the message being reassembled (UTF-8 for text)
        self._part_text = False
        self._part_size = 0  # its cost against the limit (each frame at least FRAGMENT_COST)
        self._frame_size = 0  # bytes of its current frame (wsproto splits long frames)
        self._pong: bytes | None = None  # the latest pong held while the client lags
        self._pong_task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None  # the one receive() waiting
        self._ended_event: asyncio.Event | None = None  # close() calls waiting
        self._stop_sending: asyncio.Future[None] | None = None  # send()s waiting for drain
        self._closed: WebSocketClosed | None = None  # over, for the application
        self._discard = False  # we sent a close: drop messages until the peer's close
        self._paused = False
        now = self._loop.time()
        self._last_rx = now
        self._next_ping = now + ping_interval if ping_interval > 0 else float("inf")
        self._timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        tunnel.on_stop = self._server_stopping
        tunnel.on_abort = self._server_aborting
        self._arm()
        tunnel.set_protocol(self._data_received, self._eof_received)
        if tunnel.stopping.is_set():  # the server began to stop before the session started
            self._server_stopping()

    # -- application API ---------------------------------------------------------------------
    async def receive(self) -> str | bytes:
        """The next message; raises ``WebSocketClosed`` when the session is over."""
        while True:
            messages = self._messages
            if messages:
                message = messages.popleft()
                self._queued -= len(message) + MESSAGE_OVERHEAD
                if self._paused and self._queued <= QUEUE_LOW:
                    self._paused = False
                    if self._pong_task is None:
                        self._tunnel.resume_reading()
                return message
            if self._closed is not None:
                raise self._closed
            if self._waiter is not None:
                raise RuntimeError("another coroutine is already waiting for a message")
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def __aiter__(self) -> WebSocket:
        return self

    async def __anext__(self) -> str | bytes:
        try:
            return await self.receive()
        except WebSocketClosed:
            raise StopAsyncIteration from None

    async def send(self, data: str | bytes) -> None:
        """Send one message (``str``: text, ``bytes``: binary), waiting while the client
        is behind. Raises ``WebSocketClosed`` if the session is over or closing."""
        self._write_message(data)
        tunnel = self._tunnel
        if not tunnel.full:
            return
        stop = self._stop_sending
        if stop is None:
            stop = self._stop_sending = self._loop.create_future()
        drain = self._loop.create_task(tunnel.drain())
        try:  # a close (ours, the idle timeout's, the peer's) or a loss ends the wait too
            await asyncio.wait((drain, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not drain.done():
                drain.cancel()
        if drain.done() and not drain.cancelled():
            if drain.exception() is None:
                return
            self._lost()
        raise self._closed or WebSocketClosed(self.close_code or 1006, self.close_reason)

    def send_nowait(self, data: str | bytes) -> bool:
        """Queue one message without waiting (for fan-out): False if the session is over,
        or if this client is more than ``SEND_BACKLOG_LIMIT`` bytes behind, in which case
        it is dropped (the connection is reset: a close frame would wait behind the
        backlog) so that it neither grows the server's memory nor stalls the sender."""
        if self._closed is not None or self._proto.state is not _OPEN:
            return False
        self._write_message(data)
        if self._tunnel.backlog > SEND_BACKLOG_LIMIT:
            error_log.info(
                "WebSocket client %s dropped: more than %d bytes behind",
                self.request.client[0],
                SEND_BACKLOG_LIMIT,
            )
            self._end(1006, "client too slow")
            self._tunnel.abort()
            return False
        return True

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping (its pong only counts as activity)."""
        if self._proto.state is _OPEN:
            self._tunnel.write(self._proto.send(Ping(payload)))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the session: send a close frame and wait (``CLOSE_TIMEOUT`` at most) for
        the peer's. Messages arriving meanwhile are dropped."""
        self._start_close(code, reason)
        if self._closed is None:
            self._drop_queued()
            try:
                event = self._ended_event
                if event is None:
                    event = self._ended_event = asyncio.Event()
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await event.wait()  # also while another task waits in receive()
            except TimeoutError:
                self._end(1006, "no close frame from the peer")
        self._tunnel.close()

    @property
    def closed(self) -> bool:
        """True once the session is over or closing."""
        return self._closed is not None or self._proto.state is not _OPEN

    @property
    def ended(self) -> bool:
        """True once the session is over (closing handshake done, failed or lost)."""
        return self._closed is not None

    # -- input (pushed by the tunnel) ----------------------------------------------------------
    def _data_received(self, data: bytes) -> None:
        proto = self._proto
        if self._closed is not None and not self._discard:
            return  # over: nothing more is parsed
        if proto.state is ConnectionState.CLOSED:
            return
        self._last_rx = self._loop.time()
        if self._deflate and len(data) > DEFLATE_STEP:
            for start in range(0, len(data), DEFLATE_STEP):
                proto.receive_data(data[start : start + DEFLATE_STEP])
                if not self._process():
                    return
            return
        if proto.state is _OPEN and not self._deflate and self._wsproto_idle():
            messages, used = simple_messages(data)
            if messages:
                limit = self._max
                for message in messages:
                    if limit and _size(message) > limit:
                        self._fail(1009, f"message larger than {limit} bytes")
                        return
                    self._deliver(message)
                if used == len(data):
                    return
                data = data[used:]
        proto.receive_data(data)
        self._process()

    def _wsproto_idle(self) -> bool:
        """wsproto is between frames, outside any message (the fast path may go)."""
        frames = self._proto._proto
        decoder = frames._frame_decoder
        return (
            decoder.header is None
            and not len(decoder.buffer)
            and frames._message_decoder.opcode is None
        )

    def _deliver(self, message: str | bytes) -> None:
        """A complete message for ``receive``; reading pauses above ``QUEUE_HIGH``."""
        self._messages.append(message)
        self._queued += len(message) + MESSAGE_OVERHEAD
        if self._queued >= QUEUE_HIGH and not self._paused:
            self._paused = True
            self._tunnel.pause_reading()
        self._wake()

    def _process(self) -> bool:
        """Handle the events wsproto parsed; False once the session ended."""
        proto = self._proto
        limit = self._max
        for event in proto.events():
            cls = event.__class__
            if cls is TextMessage or cls is BytesMessage:
                data = event.data  # type: ignore[attr-defined]
                if self._discard:
                    continue
                parts = self._parts
                finished = event.message_finished  # type: ignore[attr-defined]
                if parts is None and finished:
                    if limit and _size(data) > limit:
                        self._fail(1009, f"message larger than {limit} bytes")
                        return False
                    self._deliver(data)
                    continue
                raw = data.encode("utf-8", "surrogatepass") if cls is TextMessage else data
                cost = len(raw)
                if event.frame_finished:  # type: ignore[attr-defined]
                    cost += max(0, FRAGMENT_COST - self._frame_size - cost)
                    self._frame_size = 0
                else:
                    self._frame_size += cost
                self._part_size += cost
                if limit and self._part_size > limit:
                    self._fail(1009, f"message larger than {limit} bytes")
                    return False
                if parts is None:
                    parts = self._parts = bytearray()
                    self._part_text = cls is TextMessage
                parts += raw
                if finished:
                    self._parts = None
                    self._part_size = self._frame_size = 0
                    self._deliver(parts.decode("utf-8") if self._part_text else bytes(parts))
            elif cls is Ping:
                if proto.state is _OPEN:
                    pong = proto.send(event.response())  # type: ignore[attr-defined]
                    if self._tunnel.full or self._pong_task is not None:
                        self._hold_pong(pong)
                    else:
                        self._tunnel.write(pong)
            elif cls is CloseConnection:
                code, reason = event.code, event.reason  # type: ignore[attr-defined]
                state = proto.state
                if state is _OPEN or state is _LOCAL_CLOSING:  # a parse failure, not a frame
                    self._fail(code, reason)
                    return False
                if state is _REMOTE_CLOSING:
                    self._tunnel.write(proto.send(event.response()))  # type: ignore[attr-defined]
                self._end(code, reason)
                return False
            # a Pong only counts as activity (_last_rx)
        if limit and not self._deflate and not self._discard:
            decoder = proto._proto._frame_decoder
            header = decoder.header
            if header is not None and not header.opcode.iscontrol():
                coming = header.payload_len - decoder.payload_consumed
                if self._part_size + coming > limit:  # a declared length over the limit
                    self._fail(1009, f"message larger than {limit} bytes")
                    return False
        return True

    def _hold_pong(self, pong: bytes) -> None:
        """The client is not reading: keep only the latest pong (RFC 6455 5.5.3) and stop
        reading until the write backlog drains, so a ping flood cannot grow memory."""
        self._pong = pong
        if self._pong_task is None:
            self._tunnel.pause_reading()
            self._pong_task = self._loop.create_task(self._send_pong_after_drain())

    async def _send_pong_after_drain(self) -> None:
        tunnel = self._tunnel
        try:
            await tunnel.drain()
        except ConnectionError:
            self._pong_task = None
            self._lost()
            return
        self._pong_task = None
        pong, self._pong = self._pong, None
        if pong is not None and self._proto.state is _OPEN:
            tunnel.write(pong)
        if not self._paused and self._closed is None:
            tunnel.resume_reading()

    def _eof_received(self) -> None:
        self._end(1006, "connection closed without a close frame")

    # -- closing -------------------------------------------------------------------------------
    def _write_message(self, data: str | bytes) -> None:
        if self._closed is not None:
            raise self._closed
        proto = self._proto
        if proto.state is not _OPEN:
            raise WebSocketClosed(self.close_code or 1000, self.close_reason)
        if not self._deflate:
            self._tunnel.write(server_frame(data))
            return
        if isinstance(data, str):
            frame = proto.send(TextMessage(data))
        else:
            frame = proto.send(BytesMessage(data))
        self._tunnel.write(frame)

    def _start_close(self, code: int, reason: str) -> None:
        """Send our close frame (once); the session ends at the peer's answer or after
        ``CLOSE_TIMEOUT``."""
        if self._proto.state is not _OPEN:
            return
        self.close_code, self.close_reason = code, reason
        self._tunnel.write(self._proto.send(CloseConnection(code, reason)))
        self._discard = True
        self._release_senders()
        self._drop_queued()
        if self._close_timer is None and self._closed is None:
            self._close_timer = self._loop.call_later(
                CLOSE_TIMEOUT, self._end, 1006, "no close frame from the peer"
            )

    def _drop_queued(self) -> None:
        """Closing: what the application did not take is dropped, and reading resumes so the
        peer's close frame is seen."""
        self._messages.clear()
        self._queued = 0
        self._parts = None
        self._part_size = self._frame_size = 0
        if self._paused:
            self._paused = False
            self._tunnel.resume_reading()

    def _fail(self, code: int, reason: str) -> None:
        """A protocol error or a limit: close frame with ``code``, then the session ends
        (RFC 6455 7.1.7: no need to wait for the peer)."""
        if self._proto.state is _OPEN:
            self._tunnel.write(self._proto.send(CloseConnection(code, reason)))
        self._end(code, reason)

    def _end(self, code: int, reason: str) -> None:
        """The session is over for the application (after the messages queued)."""
        if self._closed is not None:
            return
        self._discard = False
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._closed = WebSocketClosed(code, reason)
        self.stop_timers()
        self._tunnel.pause_reading()
        self._wake()

    def _lost(self) -> None:
        self._end(1006, "connection lost")

    def _server_stopping(self) -> None:
        self._start_close(1001, "server stopping")

    def _server_aborting(self) -> None:
        self._start_close(1001, "server stopping")

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._closed is not None:
            if self._ended_event is not None:
                self._ended_event.set()
            self._release_senders()

    def _release_senders(self) -> None:
        """Closing or over: ``send`` calls waiting for the client to read give up."""
        stop, self._stop_sending = self._stop_sending, None
        if stop is not None and not stop.done():
            stop.set_result(None)

    # -- idle timeout and pings ------------------------------------------------------------------
    def _arm(self) -> None:
        due = self._next_ping
        if self._idle > 0:
            due = min(due, self._last_rx + self._idle)
        if due != float("inf"):
            self._timer = self._loop.call_at(due, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._closed is not None or self._proto.state is not _OPEN:
            return
        now = self._loop.time()
        if self._paused:
            self._last_rx = now  # the application holds input back: not the client's idleness
        if self._idle > 0 and now >= self._last_rx + self._idle:
            self._start_close(1001, "idle timeout")
            return
        if now >= self._next_ping:
            self._tunnel.write(self._proto.send(Ping(b"")))
            self._next_ping = now + self._ping
        self._arm()

    def finish(self) -> None:
        """The run is over: the session ends (1006 if it was still open), timers cancelled."""
        self._end(1006, "connection lost")
        self.stop_timers()
        task, self._pong_task = self._pong_task, None
        if task is not None:
            task.cancel()

    def stop_timers(self) -> None:
        """Cancel the session's timers."""
        for timer in (self._timer, self._close_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._close_timer = None


def _size(data: str | bytes) -> int:
    """The size of a message (or fragment) in bytes (UTF-8 for text)."""
    if isinstance(data, bytes) or data.isascii():
        return len(data)
    return len(data.encode("utf-8", "surrogatepass"))
