"""Reading a CGI script's stdout and stderr through the loop.

``PipeReader`` buffers stdout up to a high-water mark while the reader is registered with
the loop; above it the fd is unregistered, the pipe fills and the script blocks in write()
until the consumer (the response being sent) catches up. ``StderrLog`` always reads, so a
flood of stderr can never block the script, and logs only a bounded amount.
"""

from __future__ import annotations

import asyncio
import os

from framework.core.chunkqueue import ChunkQueue
from framework.logs import ErrorLog

READ_SIZE = 256 * 1024
HIGH_WATER = 512 * 1024
LOW_WATER = 128 * 1024

STDERR_MAX_BYTES = 64 * 1024
STDERR_MAX_LINE = 2048


class PipeReader:
    """Buffered, flow-controlled reads from a non-blocking pipe fd (which it owns)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fd: int,
        *,
        high_water: int = HIGH_WATER,
        low_water: int = LOW_WATER,
    ) -> None:
        self._loop = loop
        self._fd: int | None = fd
        self._queue = ChunkQueue(
            high_water=high_water,
            low_water=low_water,
            pause=self._unregister,
            resume=self._register,
        )
        self._registered = False
        self._register()

    @property
    def eof(self) -> bool:
        """True when the writer closed its end (or we did) and everything read has been taken."""
        return self._queue.exhausted

    def _register(self) -> None:
        if not self._registered and self._fd is not None and not self._queue.eof:
            self._loop.add_reader(self._fd, self._on_readable)
            self._registered = True

    def _unregister(self) -> None:
        if self._registered and self._fd is not None:
            self._loop.remove_reader(self._fd)
        self._registered = False

    def _read_fd(self) -> bytes | None:
        """One read: data, or None when the pipe has nothing now; at end of file (or on an
        error, kept for ``read``) stops reading and ends the queue."""
        assert self._fd is not None
        try:
            data = os.read(self._fd, READ_SIZE)
        except BlockingIOError:
            return None
        except OSError as exc:
            self._queue.fail(exc)
            data = b""
        if not data:
            self._unregister()
            self._queue.put_eof()
        return data

    def _on_readable(self) -> None:
        data = self._read_fd()
        if data:
            self._queue.put(data)  # pauses (unregisters) at the high-water mark

    async def read(self) -> bytes:
        """The next chunk of output; ``b""`` at end of file."""
        data = await self._queue.get()
        return b"" if data is None else data

    def read_nowait(self) -> bytes | None:
        """Output available right now: a chunk, ``b""`` at end of file, or None when the
        script has not written more yet (never waits)."""
        data = self._queue.get_nowait()
        if data is not None:
            return data
        if self._queue.eof or self._fd is None:
            return b""
        return self._read_fd()

    def close(self) -> None:
        """Stop reading and close the fd (the writer gets EPIPE/SIGPIPE on its next write)."""
        self._unregister()
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        self._queue.clear()
        self._queue.put_eof()


class StderrLog:
    """Reads a script's stderr as it comes and logs it line by line, capped per request
    (``max_bytes``; then one "stderr truncated" note, the rest read and discarded)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fd: int,
        log: ErrorLog,
        label: str,
        *,
        max_bytes: int = STDERR_MAX_BYTES,
    ) -> None:
        self._loop = loop
        self._fd: int | None = fd
        self._log = log
        self._label = label
        self._left = max_bytes
        self._partial = b""
        self._truncated = False
        loop.add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        self._read_once()

    def _read_once(self) -> bool:
        """One read; True when it got data (there may be more)."""
        assert self._fd is not None
        try:
            data = os.read(self._fd, READ_SIZE)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            self._flush_partial()
            self._close_fd()
            return False
        if self._left > 0:  # over the cap: keep the pipe drained, log nothing
            self._log_lines(data)
        return True

    def _log_lines(self, data: bytes) -> None:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > STDERR_MAX_LINE:
            lines.append(self._partial)
            self._partial = b""
        for line in lines:
            self._emit(line)

    def _emit(self, line: bytes) -> None:
        if self._left <= 0:
            return
        self._left -= len(line) + 1
        text = line[:STDERR_MAX_LINE].rstrip(b"\r").decode("utf-8", "replace")
        self._log.error("%s: %s", self._label, text)
        if self._left <= 0 and not self._truncated:
            self._truncated = True
            self._log.error("%s: stderr truncated", self._label)

    def _flush_partial(self) -> None:
        if self._partial:
            self._emit(self._partial)
            self._partial = b""

    def close(self) -> None:
        """Log what is already in the pipe (often a failing script's last words), then
        close it. Bounded: a script that keeps writing cannot hold us here."""
        for _ in range(16):
            if self._fd is None or not self._read_once():
                break
        self._flush_partial()
        self._close_fd()

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            self._loop.remove_reader(fd)
            os.close(fd)
