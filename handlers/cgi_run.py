"""One execution of a CGI script, driven entirely by the event loop.

``CgiRun`` wires a ``ChildProcess`` to the I/O core: the request body goes into stdin
through a ``WriteQueue`` (a task that awaits ``drain()``), stdout is read by a flow-controlled
``PipeReader`` (which the response body pulls from), and stderr is logged as it comes. All
three run concurrently, so no ordering of reads and writes by the script can deadlock.

A wall-clock timer (``loop.call_at``) ends the run at ``cgi_timeout``: the process group gets
SIGTERM then SIGKILL and every pipe is closed. ``close()`` does the same on every other path
(client gone, error, done), and the child is reaped by ``ChildProcess`` whenever it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import tempfile
from collections.abc import AsyncIterable
from typing import IO

from framework.core.child import ChildProcess
from framework.core.writequeue import WriteQueue
from framework.http.errors import HTTPError
from framework.http.response import BodyAborted
from framework.logs import ErrorLog
from handlers.cgi_output import CgiHead, CgiHeadParser, CgiOutputError
from handlers.cgi_pipes import PipeReader, StderrLog

STDIN_HIGH_WATER = 256 * 1024
STDIN_LOW_WATER = 64 * 1024
SPOOL_READ_SIZE = 256 * 1024
EXIT_GRACE = 2.0  # after stdout EOF, how long the script may take to exit before SIGTERM


class CgiTimeout(BodyAborted):
    """The script ran past ``cgi_timeout`` (a 504 before the headers, an aborted reply
    after them)."""


class CgiRun:
    """Stdin feeding, stdout/stderr reading and the deadline of one running script."""

    def __init__(
        self,
        child: ChildProcess,
        *,
        timeout: float,
        log: ErrorLog,
        label: str,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self.child = child
        self.label = label
        self._log = log
        self.stdout = PipeReader(self._loop, child.take_stdout())
        self.stderr = StderrLog(self._loop, child.take_stderr(), log, label)
        self.stdin: WriteQueue | None = None
        if child.stdin is not None:
            self.stdin = WriteQueue(
                self._loop,
                child.take_stdin(),
                high_water=STDIN_HIGH_WATER,
                low_water=STDIN_LOW_WATER,
            )
        self.timed_out = False
        self.closed = False
        self._feeder: asyncio.Task[None] | None = None
        self._pending = b""  # output read ahead by read_complete()
        # cgi_timeout 0: no limit
        self._deadline = self._loop.time() + timeout if timeout > 0 else math.inf
        self._timer = self._loop.call_at(self._deadline, self._on_timeout) if timeout > 0 else None

    # -- stdin -----------------------------------------------------------------------------
    def feed(self, source: AsyncIterable[bytes] | None) -> None:
        """Stream ``source`` into the script's stdin in the background, then close it.

        If the script stops reading (EPIPE) the rest of ``source`` is consumed and dropped,
        so the client's body is soaked up and the connection stays in sync."""
        if source is None or self.stdin is None:
            if self.stdin is not None:
                self.stdin.close()
            return
        self._feeder = self._loop.create_task(self._feed(source, self.stdin))

    async def _feed(self, source: AsyncIterable[bytes], stdin: WriteQueue) -> None:
        try:
            async for chunk in source:
                if stdin.closed:
                    continue  # the script is not reading any more: discard
                stdin.write(chunk)
                if stdin.full:
                    with contextlib.suppress(ConnectionError):
                        await stdin.drain()
            stdin.close()  # EOF for the script once the queue is flushed
        except asyncio.CancelledError:
            stdin.abort()
            raise
        except Exception as exc:  # the client went away or sent a bad body
            stdin.abort()
            self._log.debug("%s: request body ended early: %s", self.label, exc)
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()

    async def finish_feeding(self) -> None:
        """Wait until the request body has been fully consumed (fed or discarded)."""
        if self._feeder is not None and not self._feeder.done():
            left = self.remaining()
            await asyncio.wait([self._feeder], timeout=None if left == math.inf else left)

    # -- stdout ----------------------------------------------------------------------------
    def remaining(self) -> float:
        return max(0.0, self._deadline - self._loop.time())

    async def read_head(self, parser: CgiHeadParser | None = None) -> CgiHead:
        """Read stdout until the CGI header block is complete.

        Raises ``CgiOutputError`` (bad or missing headers), ``CgiTimeout``."""
        parser = parser or CgiHeadParser()
        while True:
            data = await self.stdout.read()
            if self.timed_out:
                raise CgiTimeout
            if not data:
                raise CgiOutputError(
                    "script produced no output"
                    if parser.buffered == 0
                    else "output ended inside the header block"
                )
            head = parser.feed(data)
            if head is not None:
                return head

    async def read_complete(self, first: bytes, limit: int) -> bytes | None:
        """If the whole output is already there (``first`` plus what can be read without
        waiting, up to ``limit`` bytes, then end of file), finish the run and return it.
        Otherwise return None and keep what was read for ``body()``."""
        parts = [first]
        size = len(first)
        while size <= limit:
            data = self.stdout.read_nowait()
            if data is None:
                break
            if not data:
                await self.finish()
                self.close()
                return b"".join(parts)
            parts.append(data)
            size += len(data)
        self._pending = b"".join(parts)
        return None

    def body(self, first: bytes = b"") -> CgiBody:
        """The rest of stdout as the response body (an async iterator that owns the run)."""
        first, self._pending = self._pending + first, b""
        return CgiBody(self, first)

    async def finish(self) -> None:
        """After stdout EOF: soak up the request body and give the script a moment to
        exit (it is signalled by ``close()`` otherwise)."""
        await self.finish_feeding()
        if self.child.poll() is None:
            await self.child.wait_at_most(min(EXIT_GRACE, self.remaining()))
        code = self.child.returncode
        if code:
            self._log.warning("%s: exited with status %d", self.label, code)

    # -- ending ----------------------------------------------------------------------------
    def _on_timeout(self) -> None:
        self._timer = None
        if self.closed:
            return
        self.timed_out = True
        self._log.error(
            "%s: timed out (pid %d), killing its process group", self.label, self.child.pid
        )
        self.close()

    def close(self) -> None:
        """End the run now: stop the feeder, close every pipe, and SIGTERM (then SIGKILL)
        whatever still runs in the script's process group. Idempotent."""
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._feeder is not None and not self._feeder.done():
            self._feeder.cancel()
        if self.stdin is not None:
            self.stdin.abort()
        self.stdout.close()
        self.stderr.close()
        self.child.close_pipes()
        # even after a clean exit: background processes left in the group go too
        self.child.terminate_group()


class CgiBody:
    """Response body streaming the script's stdout; closing it (``aclose``, as the engine
    does when the client goes away) ends the run."""

    def __init__(self, run: CgiRun, first: bytes) -> None:
        self._run = run
        self._first = first
        self._done = False

    def __aiter__(self) -> CgiBody:
        return self

    async def __anext__(self) -> bytes:
        run = self._run
        if self._done:
            raise StopAsyncIteration
        try:
            if self._first:
                data, self._first = self._first, b""
                return data
            data = await run.stdout.read()
            if run.timed_out:
                raise CgiTimeout(f"{run.label}: timed out while sending its output")
            if data:
                return data
            await run.finish()
        except BaseException:
            self._done = True
            run.close()
            raise
        self._done = True
        run.close()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._done = True
        self._run.close()


async def spool(body: AsyncIterable[bytes], limit: int) -> tuple[IO[bytes], int]:
    """Copy a request body into an anonymous temporary file (unlinked at once); returns the
    file positioned at 0 and the body length. Raises 413 past ``limit`` (0 = no limit)."""
    spool_file = tempfile.TemporaryFile()
    total = 0
    try:
        async for chunk in body:
            total += len(chunk)
            if limit and total > limit:
                raise HTTPError(413, close=True)
            spool_file.write(chunk)
        spool_file.flush()
        spool_file.seek(0)
    except BaseException:
        spool_file.close()
        raise
    return spool_file, total


class SpoolReader:
    """The spooled body as an async iterator of blocks (regular-file reads: disk files are
    not pollable); ``aclose()`` closes the file, read to the end or not."""

    def __init__(self, spool_file: IO[bytes]) -> None:
        self._file: IO[bytes] | None = spool_file

    def __aiter__(self) -> SpoolReader:
        return self

    async def __anext__(self) -> bytes:
        if self._file is not None:
            block = os.read(self._file.fileno(), SPOOL_READ_SIZE)
            if block:
                return block
            await self.aclose()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        spool_file, self._file = self._file, None
        if spool_file is not None:
            spool_file.close()
