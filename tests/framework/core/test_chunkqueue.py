"""ChunkQueue: the read-side flow control shared by request bodies and CGI stdout."""

from __future__ import annotations

import asyncio

import pytest

from framework.core.chunkqueue import ChunkQueue


def _queue(events: list[str]) -> ChunkQueue:
    return ChunkQueue(
        high_water=10,
        low_water=4,
        pause=lambda: events.append("pause"),
        resume=lambda: events.append("resume"),
    )


def test_the_producer_is_paused_at_high_water_and_resumed_at_low_water_once_each():
    events: list[str] = []
    queue = _queue(events)
    queue.put(b"12345")
    assert events == []
    queue.put(b"67890")
    queue.put(b"abc")  # already paused: no second pause
    assert events == ["pause"] and queue.buffered == 13
    assert queue.get_nowait() == b"12345"
    assert events == ["pause"]  # 8 bytes left: above low water
    assert queue.get_nowait() == b"67890"
    assert events == ["pause", "resume"]
    assert queue.get_nowait() == b"abc"
    assert queue.get_nowait() is None
    assert events == ["pause", "resume"]


def test_a_waiting_consumer_gets_chunks_then_none_at_the_end():
    async def main() -> list[bytes | None]:
        queue = ChunkQueue(high_water=100, low_water=10)
        loop = asyncio.get_running_loop()
        loop.call_soon(queue.put, b"a")
        loop.call_soon(queue.put, b"b")
        loop.call_soon(queue.put_eof)
        return [await queue.get(), await queue.get(), await queue.get(), await queue.get()]

    assert asyncio.run(main()) == [b"a", b"b", None, None]


def test_an_error_is_raised_after_the_chunks_before_it_and_the_first_error_wins():
    async def main() -> ChunkQueue:
        queue = ChunkQueue(high_water=100, low_water=10)
        queue.put(b"kept")
        queue.fail(ConnectionResetError("first"))
        queue.fail(TimeoutError("second"))
        assert await queue.get() == b"kept"
        with pytest.raises(ConnectionResetError, match="first"):
            await queue.get()
        return queue

    assert asyncio.run(main()).error is not None


def test_exhausted_needs_both_the_end_and_every_chunk_taken():
    queue = ChunkQueue(high_water=100, low_water=10)
    queue.put(b"x")
    queue.put_eof()
    assert queue.eof and not queue.exhausted
    queue.get_nowait()
    assert queue.exhausted
    assert ChunkQueue(high_water=1, low_water=0, eof=True).exhausted
