"""The request body as a bounded async stream, fed by the HTTP engine.

Backpressure: when more than ``high_water`` bytes are buffered the engine is asked to stop
reading the socket (``pause``); once the consumer has taken enough to fall below
``low_water`` it is asked to resume. The consumer therefore controls how fast the client may
send, and memory stays bounded whatever the body size.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from framework.http.errors import HTTPError

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024


class RequestBody:
    """Async iterator of body chunks (``async for chunk in body``) plus ``read()``.

    Engine side: ``feed(data)``, ``feed_eof()``, ``fail(exc)``.
    """

    __slots__ = (
        "length",
        "limit",
        "received",
        "_chunks",
        "_buffered",
        "_eof",
        "_exc",
        "_waiter",
        "_paused",
        "_pause",
        "_resume",
        "_on_first_read",
        "_started",
        "_high",
        "_low",
    )

    def __init__(
        self,
        length: int | None = None,
        *,
        limit: int = 0,
        pause: Callable[[], None] | None = None,
        resume: Callable[[], None] | None = None,
        on_first_read: Callable[[], None] | None = None,
        high_water: int = HIGH_WATER,
        low_water: int = LOW_WATER,
    ) -> None:
        self.length = length  # Content-Length, or None for a chunked body
        self.limit = limit  # client_max_body_size (0 = unlimited); enforced by the engine
        self.received = 0
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = length == 0
        self._exc: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._pause = pause
        self._resume = resume
        self._on_first_read = on_first_read
        self._started = False
        self._high = high_water
        self._low = low_water

    @classmethod
    def empty(cls) -> RequestBody:
        return cls(0)

    # -- engine side -------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self._eof or self._exc is not None:
            return
        self.received += len(data)
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered >= self._high and not self._paused and self._pause is not None:
            self._paused = True
            self._pause()
        self._wake()

    def feed_eof(self) -> None:
        self._eof = True
        self._wake()

    def fail(self, exc: BaseException) -> None:
        """End the stream with an error (client gone, timeout, 413 mid-stream...)."""
        if self._exc is None and not (self._eof and not self._chunks):
            self._exc = exc
        self._chunks.clear()
        self._buffered = 0
        self._wake()

    @property
    def complete(self) -> bool:
        """True once the whole body has arrived (it may not all be consumed yet)."""
        return self._eof

    @property
    def started(self) -> bool:
        """True once a consumer has asked for data."""
        return self._started

    @property
    def exhausted(self) -> bool:
        """True when the consumer has seen the end of the body."""
        return self._eof and not self._chunks

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- consumer side -----------------------------------------------------------------
    def __aiter__(self) -> RequestBody:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._next()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def _next(self) -> bytes | None:
        if not self._started:
            self._started = True
            if self._on_first_read is not None:
                self._on_first_read()
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._paused and self._buffered <= self._low:
                    self._paused = False
                    if self._resume is not None:
                        self._resume()
                return chunk
            if self._exc is not None:
                raise self._exc
            if self._eof:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def read(self, limit: int | None = None) -> bytes:
        """Read the whole body. Raises ``HTTPError(413)`` past ``limit`` (default: the
        location's ``client_max_body_size``; 0 = unlimited)."""
        cap = self.limit if limit is None else limit
        parts: list[bytes] = []
        total = 0
        async for chunk in self:
            total += len(chunk)
            if cap and total > cap:
                raise HTTPError(413, close=True)
            parts.append(chunk)
        return b"".join(parts)
