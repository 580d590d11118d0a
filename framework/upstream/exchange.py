"""One request/response exchange on an ``UpstreamConnection``.

``exchange`` writes the request head (and a replayable ``bytes`` body at once, or streams
an async-iterable body from a task, with backpressure), then reads until the response head
is parsed. ``UpstreamBody`` is the rest of the response as the async iterator a
``Response`` streams to the client: it reads only as fast as the client takes, and hands
the connection back (``on_done(reusable)``) when the response ends or the client leaves.
Failures come out as ``UpstreamError`` with what the failover policy needs to know: the
kind (``error``, ``timeout``, ``invalid_header``), whether any of the request went out and
whether any response byte came back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Literal

from framework.http.response import BodyAborted
from framework.upstream.connection import UpstreamConnection, UpstreamTimeout
from framework.upstream.response import InvalidResponse, ResponseParser

Kind = Literal["error", "timeout", "invalid_header"]
COALESCE = 256 * 1024  # proxy_buffering on: bytes joined into one chunk at most


class UpstreamError(Exception):
    """An attempt failed before the response head was complete."""

    def __init__(self, kind: Kind, message: str, *, sent: bool, answered: bool) -> None:
        super().__init__(message)
        self.kind = kind
        self.sent = sent  # some of the request reached the socket
        self.answered = answered  # some response byte arrived


class ClientBodyFailed(Exception):  # noqa: N818 - carries the client's error
    """Reading the client's request body failed (gone, timeout, 413): ``error`` is that
    failure, re-raised by the handler."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


RequestBody = bytes | tuple[AsyncIterable[bytes], bool]
"""A replayable body, or (chunks, chunked framing) streamed as they come."""


async def exchange(
    conn: UpstreamConnection,
    head: bytes,
    body: RequestBody,
    *,
    read_timeout: float,
    head_request: bool = False,
) -> tuple[ResponseParser, asyncio.Task[None] | None]:
    """Send the request, read the response head. Returns the parser (head parsed, maybe
    some body) and the task still streaming the request body (None when done). On failure
    the connection is closed and ``UpstreamError`` (or ``ClientBodyFailed``) raised."""
    conn.requests += 1
    queue = conn.queue
    sender: asyncio.Task[None] | None = None
    if isinstance(body, bytes):
        queue.write(head + body if body else head)
        conn.start_read_timer(read_timeout)
    else:
        queue.write(head)
        chunks, chunked = body
        sender = asyncio.get_running_loop().create_task(
            _send_body(conn, chunks, chunked, read_timeout)
        )
    parser = conn.parser
    if isinstance(parser, ResponseParser) and not head_request:
        parser.reset()  # the connection was reused after a complete response
    else:
        parser = ResponseParser(head_request=head_request)
        conn.parser = None if head_request else parser
    answered = False
    try:
        incoming = conn.incoming
        while not parser.head_done:
            data = await incoming.get()
            if data is None:
                what = "while reading response header" if answered else "before any response"
                raise UpstreamError(
                    "error",
                    f"upstream prematurely closed connection {what}",
                    sent=True,
                    answered=answered,
                )
            answered = True
            parser.feed(data)
    except UpstreamError:
        _abandon(conn, sender)
        raise
    except ClientBodyFailed:
        _abandon(conn, sender)
        raise
    except InvalidResponse as exc:
        _abandon(conn, sender)
        raise UpstreamError(
            "invalid_header", f"upstream sent an invalid response: {exc}", sent=True, answered=True
        ) from None
    except UpstreamTimeout as exc:
        _abandon(conn, sender)
        raise UpstreamError("timeout", str(exc), sent=True, answered=answered) from None
    except OSError as exc:
        _abandon(conn, sender)
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise UpstreamError(
            "error", f"upstream connection failed: {reason}", sent=True, answered=answered
        ) from None
    except BaseException:
        _abandon(conn, sender)
        raise
    if sender is not None and sender.done():
        sender = None if _sent_ok(sender) else sender
    return parser, sender


def _abandon(conn: UpstreamConnection, sender: asyncio.Task[None] | None) -> None:
    if sender is not None and not sender.done():
        sender.cancel()
    conn.close()


def _sent_ok(sender: asyncio.Task[None]) -> bool:
    return not sender.cancelled() and sender.exception() is None


async def _send_body(
    conn: UpstreamConnection, chunks: AsyncIterable[bytes], chunked: bool, read_timeout: float
) -> None:
    queue = conn.queue
    source = aiter(chunks)
    while True:
        try:
            chunk = await anext(source)
        except StopAsyncIteration:
            break
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the client's side: gone, too slow, too large
            conn.fail(ClientBodyFailed(exc))
            raise
        if not chunk:
            continue
        queue.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
        if queue.full:
            try:
                await queue.drain()
            except ConnectionError:
                return  # the upstream went away: its reader sees the error or EOF
    if chunked:
        queue.write(b"0\r\n\r\n")
    conn.start_read_timer(read_timeout)


class UpstreamBody:
    """The response body, read from the upstream as the client takes it.

    ``on_done(reusable)`` is called once: when the body ended (reusable when the upstream
    allows keep-alive and the request went out whole), or when the client left or the
    upstream failed (not reusable: the caller closes the connection). An upstream failure
    mid-body raises ``BodyAborted``: the engine logs it and cuts the client's response."""

    __slots__ = ("conn", "parser", "sender", "on_done", "coalesce", "done")

    def __init__(
        self,
        conn: UpstreamConnection,
        parser: ResponseParser,
        sender: asyncio.Task[None] | None,
        on_done: Callable[[bool], None],
        *,
        coalesce: bool,
    ) -> None:
        self.conn = conn
        self.parser = parser
        self.sender = sender
        self.on_done = on_done
        self.coalesce = coalesce
        self.done = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        parser = self.parser
        incoming = self.conn.incoming
        limit = COALESCE if self.coalesce else 0
        while True:
            chunk = parser.take(limit)
            if chunk is not None:
                return chunk
            if parser.complete:
                self.finish(ok=True)
                raise StopAsyncIteration
            try:
                data = await incoming.get()
                if data is None:
                    if parser.feed_eof():
                        continue
                    raise BodyAborted(
                        "upstream prematurely closed connection while reading upstream"
                    )
                parser.feed(data)
                while self.coalesce and parser.buffered < COALESCE and not parser.complete:
                    more = incoming.get_nowait()
                    if more is None:
                        break
                    parser.feed(more)
            except BodyAborted:
                self.finish(ok=False)
                raise
            except InvalidResponse as exc:
                self.finish(ok=False)
                raise BodyAborted(f"upstream sent an invalid response body: {exc}") from None
            except (OSError, UpstreamTimeout, ClientBodyFailed) as exc:
                self.finish(ok=False)
                raise BodyAborted(f"upstream failed while sending the response: {exc}") from None

    def finish(self, *, ok: bool) -> None:
        """Hand the connection back (once)."""
        if self.done:
            return
        self.done = True
        sender = self.sender
        sent = sender is None or (sender.done() and _sent_ok(sender))
        if sender is not None and not sender.done():
            sender.cancel()
        parser = self.parser
        self.on_done(ok and sent and parser.complete and parser.keep_alive and self.conn.usable)

    def __del__(self) -> None:
        if not self.done:  # dropped without being sent or closed: never leak the socket
            self.done = True
            self.on_done(False)

    async def aclose(self) -> None:
        """The engine is done with the body (the client left, or HEAD): not reusable
        unless the response had ended."""
        self.finish(ok=self.parser.complete and not self.parser.chunks)
