"""Response writing for ``Connection``: heads, ``bytes``/file/streamed/raw bodies through the
``WriteQueue``, ``100 Continue``, and the ``Connection`` header keep-alive decides.

``ResponseWriter`` is a mixin of ``Connection``: it keeps no state of its own (the slots are on
``Connection``), so writing a response costs no extra indirection.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from framework.http import wire
from framework.http.errorpage import builtin_error_response, without_version
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import BodyAborted, FileBody, Response
from framework.logs import error_log

if TYPE_CHECKING:
    from framework.config.models import ServerConfig
    from framework.core.writequeue import WriteQueue
    from framework.http.connection import Owner

SMALL_FILE = 64 * 1024  # files up to this size go out with the head in one send

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_NOT_ON_304 = ("content-type", "content-length", "accept-ranges")


class ResponseWriter:
    """The writing half of ``Connection`` (see there for the attributes it uses)."""

    __slots__ = ()

    owner: Owner
    loop: asyncio.AbstractEventLoop
    queue: WriteQueue
    defaults: ServerConfig
    pending: deque[tuple[Request, int]]
    _closing: bool
    _body_req: Request | None
    _hreq: Request | None
    _hlast: float

    def _send_continue(self, request: Request) -> None:
        if request.state.pop("expect_continue", False) and not self.queue.closed:
            self.queue.write(_CONTINUE)
        if self._body_req is request:
            self._set_deadline("body", self._body_timeout(request))

    async def _send(self, request: Request, response: Response) -> int:
        """Write ``response``; returns the body bytes sent."""
        if response.raw:
            return await self._send_raw(request, response)
        if isinstance(response.body, bytes):
            return self._send_bytes(request, response)
        status = response.status
        if status == 444:  # nginx: close the connection without a response
            request.keep_alive = False
            return 0
        queue = self.queue
        loc = request.location
        queue.set_timeout(loc.send_timeout if loc is not None else 60.0)
        tokens = (loc if loc is not None else self.defaults.context).server_tokens
        if request.state.pop("expect_continue", False) and not request.body.complete:
            request.keep_alive = False  # no 100 was sent: the client may never send the body
        headers = response.headers
        body = response.body
        keep = self._keep_alive_hint(request, headers)
        head_only = request.original_method == "HEAD"
        if status < 200 or status == 204 or status == 304:  # never a body
            if isinstance(body, FileBody):
                _close_file(body)
            elif hasattr(body, "aclose"):
                await body.aclose()  # type: ignore[union-attr]
            queue.write(_bodiless_head(request, response, keep, tokens))
            request.keep_alive = keep
            return 0
        parts = [wire.head_start(status, response.reason, tokens), wire.header_block(headers)]
        if isinstance(body, FileBody):
            request.keep_alive = keep
            return await self._send_file(request, body, parts, keep, head_only)
        return await self._send_stream(request, headers, body, parts, keep, head_only)

    def _send_bytes(self, request: Request, response: Response) -> int:
        """``_send`` for a ``bytes`` body (not raw): head and body in one write, no await."""
        status = response.status
        if status == 444:  # nginx: close the connection without a response
            request.keep_alive = False
            return 0
        queue = self.queue
        loc = request.location
        queue.set_timeout(loc.send_timeout if loc is not None else 60.0)
        tokens = (loc if loc is not None else self.defaults.context).server_tokens
        state = request.state
        if state and state.pop("expect_continue", False) and not request.body.complete:
            request.keep_alive = False  # no 100 was sent: the client may never send the body
        headers = response.headers
        body: bytes = response.body  # type: ignore[assignment]
        keep = self._keep_alive_hint(request, headers)
        request.keep_alive = keep
        if status < 200 or status == 204 or status == 304:  # never a body
            queue.write(_bodiless_head(request, response, keep, tokens))
            return 0
        if not tokens:  # server_tokens off: a built-in page without the version
            body = without_version(body)
        start = wire.head_start(status, response.reason, tokens) + wire.header_block(headers)
        size = len(body)
        head_only = request.original_method == "HEAD"
        if head_only and not size:  # a HEAD answer may state the GET length itself
            given = headers.get("content-length")
            size = (wire.parse_content_length(given) or 0) if given is not None else 0
        head = wire.encode_head(
            f"{start}Content-Length: {size}\r\n{_connection_header(request, keep)}"
        )
        if head_only or not body:
            queue.write(head)
            return 0
        queue.write(head + body)
        return size

    def _keep_alive_hint(self, request: Request, headers: Headers) -> bool:
        if not request.keep_alive or (self._closing and not self.pending) or self.owner.stopping:
            return False
        conn = headers.get("connection")
        if conn is not None and "close" in conn.lower():
            return False
        server = request.server_config or self.defaults
        return server.keepalive_timeout > 0

    async def _send_file(
        self, request: Request, body: FileBody, parts: list[str], keep: bool, head_only: bool
    ) -> int:
        queue = self.queue
        opened = isinstance(body.file, Path)
        try:
            # O_NONBLOCK: opening a FIFO must not block the worker (it is refused below)
            fd = os.open(body.file, _OPEN_FLAGS) if opened else body.file.fileno()  # type: ignore[union-attr, arg-type]
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
        except OSError as exc:
            error_log.error('open() "%s" failed (%s)', body.file, exc.strerror)
            if not opened:
                _close_file(body)
            return await self._send(request, builtin_error_response(500))
        if not regular:
            error_log.error('"%s" is not a regular file', body.file)
            if opened:
                os.close(fd)
            else:
                _close_file(body)
            return await self._send(request, builtin_error_response(500))
        try:
            if body.length is not None and not opened:
                size = body.length  # the handler opened and stat-ed it (static): trusted
            else:
                total = os.fstat(fd).st_size
                end = total if body.length is None else min(total, body.offset + body.length)
                size = max(0, end - body.offset)
            parts.append(f"Content-Length: {size}\r\n")
            parts.append(_connection_header(request, keep))
            head = wire.encode_head("".join(parts))
            if head_only or size == 0:
                queue.write(head)
                return 0
            if size <= SMALL_FILE:
                data = os.pread(fd, size, body.offset)
                queue.write(head + data)
                if len(data) < size:
                    request.keep_alive = False  # the file shrank: the framing is broken
                return len(data)
            queue.write(head)
            try:
                sent = await queue.sendfile(fd, body.offset, size)
            except ConnectionError:
                return 0
            if sent < size:
                request.keep_alive = False
            return sent
        finally:
            if opened:
                os.close(fd)
            else:
                _close_file(body)

    async def _send_stream(
        self,
        request: Request,
        headers: Headers,
        body: object,
        parts: list[str],
        keep: bool,
        head_only: bool,
    ) -> int:
        queue = self.queue
        given = headers.get("content-length")
        length = wire.parse_content_length(given) if given is not None else None
        chunked = False
        if length is not None:
            parts.append(f"Content-Length: {length}\r\n")
        elif head_only:
            pass
        elif request.http_version == "1.1":
            parts.append("Transfer-Encoding: chunked\r\n")
            chunked = True
        else:
            keep = False  # HTTP/1.0 with unknown length: the close ends the body
        parts.append(_connection_header(request, keep))
        request.keep_alive = keep
        queue.write(wire.encode_head("".join(parts)))
        if head_only:
            self._hreq = None
            await _close_body(request, body)
            return 0
        sent = 0

        def write(chunk: bytes) -> bool:
            nonlocal sent
            if length is not None:
                room = length - sent
                if len(chunk) > room:
                    chunk = chunk[:room]
                    request.keep_alive = False
                if chunk:
                    queue.write(chunk)
            elif chunked:
                queue.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            else:
                queue.write(chunk)
            sent += len(chunk)
            return length is None or sent < length

        if await self._pump(request, body, write):
            if chunked:
                queue.write(b"0\r\n\r\n")
            if length is not None and sent < length:
                request.keep_alive = False  # short body: only a close can tell the client
        else:
            request.keep_alive = False
        return sent

    async def _send_raw(self, request: Request, response: Response) -> int:
        """A body that is the whole message (NPH): written as is, then the connection ends."""
        queue = self.queue
        loc = request.location
        queue.set_timeout(loc.send_timeout if loc is not None else 60.0)
        request.keep_alive = False
        body = response.body
        if isinstance(body, FileBody):
            _close_file(body)
            raise TypeError("a raw response body must be bytes or an async iterator")
        head = _RawHead() if request.original_method == "HEAD" else None
        if isinstance(body, bytes):
            data = head.take(body) if head is not None else body
            queue.write(data)
            return len(data)
        sent = 0

        def write(chunk: bytes) -> bool:
            nonlocal sent
            if head is not None:
                chunk = head.take(chunk)
            if chunk:
                queue.write(chunk)
                sent += len(chunk)
            return head is None or not head.done

        await self._pump(request, body, write)
        return sent

    async def _pump(self, request: Request, body: object, write: Callable[[bytes], bool]) -> bool:
        """Feed ``body``'s chunks to ``write`` (which queues them and returns False once it
        wants no more) with backpressure, the handler clock cut-off ticking between chunks.

        True when the stream ended (or ``write`` stopped it); False when the peer went away
        or the stream failed (the queue is then aborted, and the failure logged). The body
        iterator is always closed."""
        queue = self.queue
        self._start_handler_clock(request)  # a stream that stops yielding is cut off
        try:
            async for chunk in body:  # type: ignore[attr-defined]
                if not chunk:
                    continue
                if queue.closed:
                    return False
                more = write(chunk)
                if queue.full:
                    await queue.drain()
                self._hlast = self.loop.time()
                if not more:
                    break
            return True
        except ConnectionError:
            return False
        except BodyAborted as exc:  # expected (e.g. a CGI timeout): one line, no traceback
            error_log.error("response to %s %s aborted: %s", request.method, request.target, exc)
            queue.abort()
            return False
        except Exception:  # noqa: BLE001 - a failing stream aborts this response only
            error_log.exception("response body of %s failed", request.target)
            queue.abort()
            return False
        finally:
            self._hreq = None
            await _close_body(request, body)


async def _close_body(request: Request, body: object) -> None:
    """``aclose()`` a streamed body (how a CGI learns its client is done), logging failures."""
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # noqa: BLE001
            error_log.exception("closing the response body of %s", request.target)


class _RawHead:
    """Cuts a raw (NPH) message after its head, for HEAD: "HEAD has no body" holds
    whatever a script writes."""

    __slots__ = ("_tail", "done")

    def __init__(self) -> None:
        self._tail = b""  # the last bytes seen, for an end of head split across chunks
        self.done = False

    def take(self, chunk: bytes) -> bytes:
        """The part of ``chunk`` that belongs to the head."""
        if self.done:
            return b""
        seen = self._tail + chunk
        # the head ends at the first empty line, CRLF or bare LF (as clients accept it)
        crlf = seen.find(b"\r\n\r\n")
        lf = seen.find(b"\n\n")
        if crlf < 0 and lf < 0:
            self._tail = seen[-3:]
            return chunk
        self.done = True
        end = crlf + 4 if lf < 0 or 0 <= crlf < lf else lf + 2
        return chunk[: end - len(self._tail)]


def _bodiless_head(request: Request, response: Response, keep: bool, tokens: bool) -> bytes:
    """The head of a 1xx/204/304 answer, which never has a body. A 304 also drops the
    content headers of the representation (as nginx does): it has no content."""
    headers = response.headers
    if response.status == 304 and any(name in headers for name in _NOT_ON_304):
        headers = headers.copy()
        for name in _NOT_ON_304:
            headers.pop(name)
    start = wire.head_start(response.status, response.reason, tokens)
    start += wire.header_block(headers)
    return wire.encode_head(start + _connection_header(request, keep))


def _connection_header(request: Request, keep: bool) -> str:
    if not keep:
        return "Connection: close\r\n\r\n"
    if request.http_version == "1.0":
        return "Connection: keep-alive\r\n\r\n"
    return "\r\n"


def _close_file(body: object) -> None:
    if isinstance(body, FileBody) and not isinstance(body.file, Path):
        try:
            body.file.close()
        except OSError:
            pass
