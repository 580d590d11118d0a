"""Gzip-compressed response bodies (stdlib ``zlib``, gzip wrapper): bytes compressed at
once, files read and compressed in bounded chunks, async streams compressed chunk by chunk
with a sync flush at each chunk boundary (what a slow CGI or a plugin wrote so far reaches
the client), and a bounded cache of compressed small static content.

Memory per response is bounded by ``READ_SIZE`` plus zlib's own state (about 256 KiB at
the default window and memory level), whatever the body's size."""

from __future__ import annotations

import asyncio
import os
import stat as stat_mod
import time
import zlib
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from framework.http.response import FileBody
from handlers.static_cache import SETTLE_NS, stat_key

GZIP_WBITS = 31  # zlib's gzip wrapper (header + CRC32 trailer)
READ_SIZE = 64 * 1024
INLINE_LIMIT = 256 * 1024  # files up to this size are read and compressed in one go
YIELD_EVERY = 16  # file chunks between two turns of the event loop
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC


def compress_bytes(data: bytes, level: int) -> bytes:
    """``data`` as one gzip member."""
    return zlib.compress(data, level, wbits=GZIP_WBITS)


class CompressedCache:
    """A bounded LRU of compressed content.

    Keys say what the content is, so an entry can never be served for other content:
    ``(bytes, level)`` for an in-memory body (the very object the static file cache
    returns on each hit, whose hash Python caches), or a file's ``stat_key`` (inode,
    device, size, mtime and ctime of the descriptor the static handler opened beneath the
    root) plus the level. Files modified within ``SETTLE_NS`` are never cached: a same-size
    rewrite could keep a coarse mtime."""

    __slots__ = ("_entries", "_total", "max_total", "max_item")

    def __init__(self, max_total: int = 16 * 1024 * 1024, max_item: int = INLINE_LIMIT) -> None:
        self._entries: dict[object, tuple[bytes, int]] = {}
        self._total = 0
        self.max_total = max_total
        self.max_item = max_item

    def get(self, key: object) -> bytes | None:
        found = self._entries.pop(key, None)
        if found is None:
            return None
        self._entries[key] = found  # most recently used goes last
        return found[0]

    def put(self, key: object, compressed: bytes, cost: int) -> None:
        """Remember ``compressed`` under ``key``; ``cost`` is the bytes the entry holds."""
        if cost > self.max_item:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._total -= old[1]
        while self._entries and self._total + cost > self.max_total:
            _, (_, dropped) = _pop_oldest(self._entries)
            self._total -= dropped
        self._entries[key] = (compressed, cost)
        self._total += cost

    def __len__(self) -> int:
        return len(self._entries)


def _pop_oldest(entries: dict[object, tuple[bytes, int]]) -> tuple[object, tuple[bytes, int]]:
    key = next(iter(entries))
    return key, entries.pop(key)


cache = CompressedCache()


def compress_cached_bytes(data: bytes, level: int) -> bytes:
    """``compress_bytes`` through the cache (for static content: it repeats)."""
    key = (data, level)
    found = cache.get(key)
    if found is None:
        found = compress_bytes(data, level)
        cache.put(key, found, len(data) + len(found))
    return found


def _open(body: FileBody) -> tuple[int, bool]:
    """``(fd, opened)``: the body's descriptor (opened here for a ``Path``)."""
    if isinstance(body.file, Path):
        fd = os.open(body.file, _OPEN_FLAGS)
        if not stat_mod.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(f"{body.file} is not a regular file")
        return fd, True
    return body.file.fileno(), False


def close_file_body(body: FileBody) -> None:
    """Close an open file a ``FileBody`` holds (a ``Path`` holds nothing)."""
    if not isinstance(body.file, Path):
        try:
            body.file.close()
        except OSError:
            pass


def compress_small_file(body: FileBody, size: int, level: int) -> bytes:
    """The compressed content of a file body of ``size`` bytes (at most ``INLINE_LIMIT``),
    from the cache when that very file version was compressed before. A file that shrank
    meanwhile gives what it still holds (compression ends the framing question: the length
    is the compressed one). Closes the body's file."""
    fd, opened = _open(body)
    try:
        st = os.fstat(fd)
        whole = body.offset == 0 and size == st.st_size
        key = (stat_key(st), level) if whole else None
        if key is not None:
            found = cache.get(key)
            if found is not None:
                return found
        data = os.pread(fd, size, body.offset)
        compressed = compress_bytes(data, level)
        settled = time.time_ns() - st.st_mtime_ns >= SETTLE_NS
        if key is not None and settled and len(data) == size:
            if stat_key(os.fstat(fd)) == key[0]:
                cache.put(key, compressed, len(compressed))
        return compressed
    finally:
        if opened:
            os.close(fd)
        else:
            close_file_body(body)


class _Compressed:
    """An async iterator of gzip output; ``aclose`` releases the source whether or not
    iteration started (the engine may close a body it never read)."""

    __slots__ = ("_compressor", "_finished", "_closed")

    def __init__(self, level: int) -> None:
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, GZIP_WBITS)
        self._finished = False
        self._closed = False

    def __aiter__(self) -> _Compressed:
        return self

    async def __anext__(self) -> bytes:
        if self._finished or self._closed:
            raise StopAsyncIteration
        data = await self._next_input()
        if data is None:
            self._finished = True
            out = self._compressor.flush(zlib.Z_FINISH)
            await self.aclose()
            return out
        return data

    async def _next_input(self) -> bytes | None:
        """The next piece of compressed output, or None at the end of the input."""
        raise NotImplementedError

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._release()

    async def _release(self) -> None:
        raise NotImplementedError


class FileCompressor(_Compressed):
    """A file body compressed as it is read, ``READ_SIZE`` at a time (never all of it in
    memory), giving the event loop a turn every ``YIELD_EVERY`` reads."""

    __slots__ = ("_body", "_fd", "_opened", "_offset", "_end", "_reads")

    def __init__(self, body: FileBody, level: int) -> None:
        super().__init__(level)
        self._body = body
        self._fd = -1
        self._opened = False
        self._offset = body.offset
        self._end = None if body.length is None else body.offset + body.length
        self._reads = 0

    async def _next_input(self) -> bytes | None:
        if self._fd < 0:
            self._fd, self._opened = _open(self._body)
        while self._end is None or self._offset < self._end:
            want = READ_SIZE if self._end is None else min(READ_SIZE, self._end - self._offset)
            data = os.pread(self._fd, want, self._offset)
            if not data:
                break
            self._offset += len(data)
            self._reads += 1
            if self._reads % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a turn for the other connections of this worker
            out = self._compressor.compress(data)
            if out:
                return out
        return None

    async def _release(self) -> None:
        if self._opened:
            os.close(self._fd)
        else:
            close_file_body(self._body)


class StreamCompressor(_Compressed):
    """A streamed body compressed chunk by chunk; each chunk is flushed (``Z_SYNC_FLUSH``)
    so the client gets what the producer wrote without waiting for more. Closing this
    closes the source (how a CGI learns its client is gone)."""

    __slots__ = ("_source", "_iterator")

    def __init__(self, source: AsyncIterable[bytes], level: int) -> None:
        super().__init__(level)
        self._source = source
        self._iterator: AsyncIterator[bytes] | None = None

    async def _next_input(self) -> bytes | None:
        if self._iterator is None:
            self._iterator = self._source.__aiter__()
        while True:
            try:
                chunk = await self._iterator.__anext__()
            except StopAsyncIteration:
                return None
            if chunk:
                compressor = self._compressor
                return compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)

    async def _release(self) -> None:
        aclose = getattr(self._source, "aclose", None)
        if aclose is None and self._iterator is not None:
            aclose = getattr(self._iterator, "aclose", None)
        if aclose is not None:
            await aclose()


def compress_file(body: FileBody, level: int) -> FileCompressor:
    """``FileCompressor`` of ``body``."""
    return FileCompressor(body, level)


def compress_stream(body: AsyncIterable[bytes], level: int) -> StreamCompressor:
    """``StreamCompressor`` of ``body``."""
    return StreamCompressor(body, level)


async def no_body() -> AsyncIterator[bytes]:
    """An empty stream: a HEAD answer's body, whose length stays unknown as its GET's."""
    return
    yield b""  # pragma: no cover - makes this an async generator
