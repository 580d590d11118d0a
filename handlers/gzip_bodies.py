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


async def compress_file(body: FileBody, level: int) -> AsyncIterator[bytes]:
    """A file body compressed as it is read, ``READ_SIZE`` at a time (never all of it in
    memory), giving the event loop a turn every ``YIELD_EVERY`` reads."""
    fd, opened = _open(body)
    try:
        compressor = zlib.compressobj(level, zlib.DEFLATED, GZIP_WBITS)
        offset = body.offset
        end = None if body.length is None else offset + body.length
        reads = 0
        while end is None or offset < end:
            want = READ_SIZE if end is None else min(READ_SIZE, end - offset)
            data = os.pread(fd, want, offset)
            if not data:
                break
            offset += len(data)
            out = compressor.compress(data)
            if out:
                yield out
            reads += 1
            if reads % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a turn for the other connections of this worker
        yield compressor.flush(zlib.Z_FINISH)
    finally:
        if opened:
            os.close(fd)
        else:
            close_file_body(body)


async def compress_stream(body: AsyncIterable[bytes], level: int) -> AsyncIterator[bytes]:
    """A streamed body compressed chunk by chunk; each chunk is flushed (``Z_SYNC_FLUSH``)
    so the client gets what the producer wrote without waiting for more. Closing this
    closes ``body`` (how a CGI learns its client is gone)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, GZIP_WBITS)
    try:
        async for chunk in body:
            if chunk:
                yield compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
        yield compressor.flush(zlib.Z_FINISH)
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()


async def no_body() -> AsyncIterator[bytes]:
    """An empty stream: a HEAD answer's body, whose length stays unknown as its GET's."""
    return
    yield b""  # pragma: no cover - makes this an async generator
