"""The request body as a bounded async stream, fed by the HTTP engine.

Backpressure: when more than ``high_water`` bytes are buffered the engine is asked to stop
reading the socket (``pause``); once the consumer has taken enough to fall below
``low_water`` it is asked to resume. The consumer therefore controls how fast the client may
send, and memory stays bounded whatever the body size.
"""

from __future__ import annotations

from collections.abc import Callable

from framework.core.chunkqueue import ChunkQueue
from framework.http.errors import HTTPError

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024


class RequestBody:
    """Async iterator of body chunks (``async for chunk in body``) plus ``read()``.

    Engine side: ``feed(data)``, ``feed_eof()``, ``fail(exc)``.
    """

    __slots__ = ("length", "limit", "received", "_queue", "_on_first_read", "_started")

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
        self._queue = ChunkQueue(
            high_water=high_water,
            low_water=low_water,
            pause=pause,
            resume=resume,
            eof=length == 0,
        )
        self._on_first_read = on_first_read
        self._started = False

    @classmethod
    def empty(cls) -> RequestBody:
        """A body of zero bytes (requests without one)."""
        return cls(0)

    # -- engine side -------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Hand the consumer bytes read from the client (ignored once ended or failed)."""
        queue = self._queue
        if queue.eof or queue.error is not None:
            return
        self.received += len(data)
        queue.put(data)

    def feed_eof(self) -> None:
        """The whole body has arrived."""
        self._queue.put_eof()

    def fail(self, exc: BaseException) -> None:
        """End the stream with an error (client gone, timeout, 413 mid-stream...)."""
        queue = self._queue
        if not queue.exhausted:  # a body already read to its end stays a success
            queue.fail(exc)
        queue.clear()
        queue.wake()

    @property
    def complete(self) -> bool:
        """True once the whole body has arrived (it may not all be consumed yet)."""
        return self._queue.eof

    @property
    def started(self) -> bool:
        """True once a consumer has asked for data."""
        return self._started

    @property
    def exhausted(self) -> bool:
        """True when the consumer has seen the end of the body."""
        return self._queue.exhausted

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
        return await self._queue.get()

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
