"""``ChunkQueue``: byte chunks handed from a producer to one consumer, with flow control.

The producer ``put``s what it read; once ``high_water`` bytes are buffered it is asked to
``pause`` (stop reading its socket or pipe), and once the consumer has taken enough for the
backlog to fall to ``low_water`` it is asked to ``resume``. The consumer awaits ``get()``.
The read-side twin of ``WriteQueue``: the request body (fed from the client socket) and a
CGI script's stdout (fed from a pipe) both use it, so memory stays bounded by the marks
whatever the producer does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable


class ChunkQueue:
    """FIFO of byte chunks with one waiting consumer and high/low-water callbacks.

    ``get()`` returns the next chunk, ``None`` at end of stream, or raises the error given
    to ``fail`` once the chunks before it have been taken.
    """

    __slots__ = (
        "buffered",
        "eof",
        "error",
        "_chunks",
        "_waiter",
        "_paused",
        "_pause",
        "_resume",
        "_high",
        "_low",
    )

    def __init__(
        self,
        *,
        high_water: int,
        low_water: int,
        pause: Callable[[], None] | None = None,
        resume: Callable[[], None] | None = None,
        eof: bool = False,
    ) -> None:
        self.buffered = 0  # bytes put and not yet taken
        self.eof = eof  # the producer has no more
        self.error: BaseException | None = None
        self._chunks: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._pause = pause
        self._resume = resume
        self._high = high_water
        self._low = low_water

    @property
    def exhausted(self) -> bool:
        """True when the end of the stream has arrived and every chunk has been taken."""
        return self.eof and not self._chunks

    # -- producer side ----------------------------------------------------------------------
    def put(self, data: bytes) -> None:
        """Append a chunk; pauses the producer at the high-water mark."""
        self._chunks.append(data)
        self.buffered += len(data)
        if self.buffered >= self._high and not self._paused and self._pause is not None:
            self._paused = True
            self._pause()
        self.wake()

    def put_eof(self) -> None:
        """Mark the end of the stream."""
        self.eof = True
        self.wake()

    def fail(self, exc: BaseException) -> None:
        """End the stream with ``exc`` (the first error wins); chunks already put stay."""
        if self.error is None:
            self.error = exc
        self.wake()

    def clear(self) -> None:
        """Drop every buffered chunk (the producer stays paused if it was)."""
        self._chunks.clear()
        self.buffered = 0

    def wake(self) -> None:
        """Wake the waiting consumer, if any, so it looks at the queue again."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- consumer side ----------------------------------------------------------------------
    def get_nowait(self) -> bytes | None:
        """The next buffered chunk, or None when none is buffered (never waits nor raises)."""
        if not self._chunks:
            return None
        chunk = self._chunks.popleft()
        self.buffered -= len(chunk)
        if self._paused and self.buffered <= self._low:
            self._paused = False
            if self._resume is not None:
                self._resume()
        return chunk

    async def get(self) -> bytes | None:
        """The next chunk; None at end of stream; raises the stream's error."""
        while True:
            chunk = self.get_nowait()
            if chunk is not None:
                return chunk
            if self.error is not None:
                raise self.error
            if self.eof:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
