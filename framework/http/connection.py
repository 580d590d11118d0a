"""One client connection: httptools parsing on a raw non-blocking socket, keep-alive, ordered
pipelining, request bodies streamed with backpressure, response writing through the
``WriteQueue``, and the header/body/keep-alive timeouts.

Parsing happens in the reader callback; each complete request head becomes a ``Request``
that is routed at once (so ``client_max_body_size`` is known before the body is read) and
queued. One task per connection answers the queued requests strictly in order.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import struct
import termios
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httptools

from framework.core.hangup import HangupWatcher, watcher_for
from framework.core.writequeue import WriteQueue
from framework.http import wire
from framework.http.body import RequestBody
from framework.http.errorpage import builtin_error_response
from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import BodyAborted, FileBody, Response
from framework.logs import error_log
from framework.routing.paths import normalize_target
from framework.stats import stats

if TYPE_CHECKING:
    from framework.config.models import ServerConfig
    from framework.pipeline import Application

READ_SIZE = 256 * 1024
MAX_REQUEST_LINE = 8192
PIPELINE_DEPTH = 8  # requests parsed ahead of the one being answered
DRAIN_LIMIT = 1024 * 1024  # unread body bytes we discard to keep a connection alive
LINGER_TIME = 2.0  # seconds we read and discard after answering an error, before closing
SMALL_FILE = 64 * 1024  # files up to this size go out with the head in one send

_PAUSE_BODY = 1
_PAUSE_PIPELINE = 2
_PAUSE_STOP = 4

_NEVER = float("inf")
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "expect"})
_NO_BODY = RequestBody.empty()  # stateless once at EOF: shared by body-less requests
_READ_BUFFER = bytearray(READ_SIZE)  # one loop, one reader at a time: shared
_READ_VIEW = memoryview(_READ_BUFFER)


_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")}
_NAMES: dict[bytes, tuple[str, str]] = {}  # raw header name -> (lower-cased, as sent)


def _name_entry(raw: bytes) -> tuple[str, str]:
    """Decode a header name once; clients repeat the same few names."""
    name = raw.decode("latin-1")
    entry = (name.lower(), name)
    if len(_NAMES) >= 1024:
        _NAMES.clear()
    _NAMES[raw] = entry
    return entry


class Owner(Protocol):
    """What a connection needs from the server that accepted it."""

    app: Application
    stopping: bool

    def connection_closed(self, conn: Connection) -> None: ...


class _Reject(Exception):  # noqa: N818 - control flow inside parser callbacks
    pass


class Connection:
    """Serves one accepted client socket until it closes."""

    __slots__ = (
        "owner",
        "loop",
        "sock",
        "fd",
        "queue",
        "peer",
        "local",
        "parser",
        "defaults",
        "pending",
        "task",
        "_waiter",
        "_paused",
        "_reading",
        "_eof",
        "_closing",
        "_closed",
        "_busy",
        "_url",
        "_url_len",
        "_headers",
        "_framing",
        "_head_size",
        "_head_raw",
        "_fed_body",
        "_in_head",
        "_body",
        "_body_req",
        "_discard",
        "_reject_status",
        "_timer",
        "_timer_at",
        "_deadline",
        "_timer_kind",
        "_upgrade",
        "_header_max",
        "_hreq",
        "_hlast",
        "_hexpired",
        "_hup",
        "_hup_on",
        "_hup_seen",
    )

    def __init__(
        self,
        owner: Owner,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        peer: tuple[str, int],
        local: tuple[str, int],
    ) -> None:
        self.owner = owner
        self.loop = loop
        self.sock = sock
        self.fd = sock.fileno()
        self.peer = peer
        self.local = local
        self.defaults: ServerConfig = owner.app.default_server(local)
        self._header_max = self.defaults.client_header_max_size
        self.queue = WriteQueue(loop, sock, on_lost=self._on_write_lost)
        self.parser = httptools.HttpRequestParser(self)
        self.pending: deque[tuple[Request, int]] = deque()  # (request, early status)
        self._waiter: asyncio.Future[None] | None = None
        self._paused = 0
        self._reading = False
        self._eof = False
        self._closing = False  # no more requests after the current ones
        self._closed = False
        self._busy = False  # a handler is running
        self._url: list[bytes] = []
        self._url_len = 0
        self._headers: list[tuple[str, str, str]] = []  # (lower-cased name, name, value)
        self._framing: list[tuple[str, str, str]] = []  # those of _FRAMING_HEADERS
        self._head_size = 0
        self._head_raw = 0  # bytes of a head in progress (-1: it began in this read)
        self._fed_body = 0  # body bytes in the data being parsed
        self._in_head = False
        self._body: RequestBody | None = None  # the body being received
        self._body_req: Request | None = None
        self._discard = -1  # >= 0: discarding an unread body, with this budget left
        self._reject_status = 0
        self._upgrade = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = _NEVER  # when self._timer fires
        self._deadline = 0.0
        self._timer_kind = ""
        self._hreq: Request | None = None  # a handler (or its stream) is on the clock
        self._hlast = 0.0  # when that handler last made progress
        self._hexpired = False
        self._hup: HangupWatcher | None = None  # hangup watch while reading is paused
        self._hup_on = False
        self._hup_seen = False  # a FIN seen by the watch, behind unread requests
        stats.active += 1
        self._set_deadline("idle", self.defaults.client_header_timeout)
        self._start_reading()
        self.task = loop.create_task(self._serve())
        self.task.add_done_callback(self._on_task_done)

    # -- reading ---------------------------------------------------------------------------
    def _start_reading(self) -> None:
        if not self._reading and not self._paused and not self._closed:
            if self._hup_on:
                self._unwatch_hangup()
            self._reading = True
            self.loop.add_reader(self.fd, self._on_readable)

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self.loop.remove_reader(self.fd)

    def pause(self, reason: int = _PAUSE_BODY) -> None:
        self._paused |= reason
        self._stop_reading()
        if reason != _PAUSE_STOP and not self._eof and not self._closed:
            self._watch_hangup()

    def _watch_hangup(self) -> None:
        """While unread input holds reading back, a client that closes would go unnoticed
        (its EOF sits behind that input): watch for the hangup itself, like nginx's
        EPOLLRDHUP, so a handler or CGI is not left running for nobody. One epoll per
        worker (``HangupWatcher``) serves every connection."""
        if self._hup_on or self._hup_seen:
            return
        hup = self._hup
        if hup is None:
            hup = self._hup = watcher_for(self.loop)
        self._hup_on = hup.watch(self.fd, self._on_hangup)

    def _unwatch_hangup(self) -> None:
        if self._hup_on:
            self._hup_on = False
            self._hup.unwatch(self.fd)  # type: ignore[union-attr]

    def _on_hangup(self) -> None:
        self._hup_on = False  # the watcher forgets a socket once it reported it
        if self._closed:
            return
        # not watched again: if it is not gone now, the EOF of the final read ends it
        self._hup_seen = True
        if self._requests_still_coming():
            return  # the FIN follows requests the client wants answered (a deep pipeline)
        self._eof = True
        self._lost()

    def _requests_still_coming(self) -> bool:
        """After the client's FIN: are there requests beyond the one in progress, queued or
        still unread in the kernel? (FIONREAD, only on this rare path)"""
        if self.pending:
            return True
        unread = _unread(self.fd)
        body = self._body
        if unread and body is not None:
            if body.length is None:
                return False  # chunked: unread bytes count as the body's (cannot tell)
            unread -= body.length - body.received
        return unread > 0

    def resume(self, reason: int = _PAUSE_BODY) -> None:
        self._paused &= ~reason
        if not self._paused:
            self._start_reading()

    def _on_readable(self) -> None:
        try:
            n = self.sock.recv_into(_READ_BUFFER)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._lost()
            return
        if not n:
            self._on_eof()
            return
        # httptools copies what it keeps, so the shared buffer can be reused at once
        self._feed(_READ_VIEW[:n])

    def _feed(self, data: bytes | memoryview) -> None:
        self._fed_body = 0
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # upgrades are not supported: answer what was asked, then close
            self._stop_for_good()
            return
        except httptools.HttpParserInvalidMethodError:
            self._reject_from_parser(self._reject_status or 501)
            return
        except httptools.HttpParserError as exc:
            status = self._reject_status
            if not status:
                msg = str(exc)
                if msg.startswith("Invalid HTTP version"):
                    status = 505
                elif "Transfer-Encoding`" in msg and "invalid `Transfer" in msg:
                    status = 501
                else:
                    status = 400
            self._reject_from_parser(status)
            return
        if self._in_head and not self._headers and self._url and _versionless(self, data):
            self._reject_from_parser(400)  # HTTP/0.9 style: no head will follow, do not wait
            return
        if self._in_head:
            # a head arriving in pieces: httptools buffers partial lines, so bound them
            if self._head_raw >= 0:
                self._head_raw += len(data)
            else:  # it began in this data: count from there
                self._head_raw = max(0, len(data) - _last_head_end(data) - self._fed_body)
            if self._head_raw > self._header_max + MAX_REQUEST_LINE:
                status = 414 if self._url_len > MAX_REQUEST_LINE or not self._headers else 431
                self._reject_from_parser(status)

    def _on_eof(self) -> None:
        self._eof = True
        self._stop_reading()
        body = self._body
        if body is not None:
            body.fail(ConnectionError("client closed the connection"))
        if self._busy and not self.pending:
            # nginx: a client that closes aborts the request in progress; a FIN behind
            # pipelined requests still queued only means "no more after these"
            self._lost()
            return
        self._wake()

    # -- httptools callbacks ---------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._in_head = True
        stats.reading += 1
        self._url = []
        self._url_len = 0
        self._headers = []
        self._framing = []
        self._head_size = 0
        self._head_raw = -1
        if self._timer_kind != "head":
            self._set_deadline("head", self.defaults.client_header_timeout)

    def on_url(self, url: bytes) -> None:
        self._url.append(url)
        self._url_len += len(url)
        # the head's size counts the request line: method SP target SP HTTP/x.y CRLF, and
        # the empty line that ends the head
        self._head_size = len(self.parser.get_method()) + 14
        if self._url_len + self._head_size - 4 > MAX_REQUEST_LINE:  # line without CRLFs
            self._reject_status = 414
            raise _Reject

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:  # a trailer: never changes framing or routing
            if name.lower() == b"content-length":
                self._reject_status = 400
                raise _Reject
            return
        self._head_size += len(name) + len(value) + 4
        if self._head_size + self._url_len > self._header_max:
            self._reject_status = 431
            raise _Reject
        known = _NAMES.get(name)
        if known is None:
            known = _name_entry(name)
        lower = known[0]
        # llhttp strips leading OWS only; trailing OWS is not part of the value either
        item = (lower, known[1], value.decode("latin-1").rstrip(" \t"))
        self._headers.append(item)
        if lower in _FRAMING_HEADERS:
            self._framing.append(item)

    def on_headers_complete(self) -> None:
        self._in_head = False
        stats.reading -= 1
        status = self._check_head()
        if status:
            self._reject_status = status
            raise _Reject

    def _check_head(self) -> int:
        parser = self.parser
        version = parser.get_http_version()
        if version not in ("1.1", "1.0"):
            return 400 if version.startswith("0.") else 505
        host_value: str | None = None
        lengths: list[str] = []
        codings: list[str] = []
        expect = False
        for lower, _, value in self._framing:
            if lower == "host":
                if host_value is not None:
                    return 400
                host_value = value
            elif lower == "content-length":
                lengths.append(value)
            elif lower == "transfer-encoding":
                codings.append(value)
            else:
                expect = value.strip().lower() == "100-continue"
        headers = Headers.from_list(self._headers)  # a new list is made for the next head
        if host_value is None:
            if version == "1.1":
                return 400
            host_value = ""
            host = ""
        else:
            host = wire.host_name(host_value)  # type: ignore[assignment]
            if host is None:
                return 400
        length: int | None = 0
        chunked = False
        if codings:
            if lengths:
                return 400
            status = wire.check_transfer_encoding(codings, version)
            if status:
                return status
            chunked = True
            length = None
        elif lengths:
            if len(lengths) > 1:
                return 400
            length = wire.parse_content_length(lengths[0])
            if length is None:
                return 400
        url = self._url
        target = (url[0] if len(url) == 1 else b"".join(url)).decode("latin-1")
        try:
            path, query = normalize_target(target)
        except HTTPError as exc:
            return exc.status
        raw_method = parser.get_method()
        method = _METHODS.get(raw_method) or raw_method.decode("ascii")
        keep_alive = parser.should_keep_alive()
        if target[:1] != "/" and target != "*":
            # absolute-form: the target's authority replaces Host (RFC 9112 3.2.2, nginx)
            host_value = wire.authority_of(target)
            if host_value is None:
                return 400
            host = wire.host_name(host_value) or ""
        request = Request.parsed(
            method,
            target,
            path,
            query,
            headers,
            self.peer,
            self.local,
            version,
            host,
            _NO_BODY,
            keep_alive,
        )
        early = 0
        try:
            self.owner.app.route(request)
        except HTTPError as exc:
            early = exc.status
        except Exception:  # noqa: BLE001 - a routing bug must not kill the connection
            error_log.exception("routing %s failed", target)
            early = 500
        location = request.location
        if chunked or length:
            limit = location.client_max_body_size if location is not None else 0
            if not early and limit and length is not None and length > limit:
                early = 413
            if early:
                # the body is not wanted: do not read it, answer and close
                request.keep_alive = False
                self.pending.append((request, early))
                self._wake()
                self._reject_status = -1
                raise _Reject
            body = RequestBody(
                length,
                limit=limit,
                pause=self.pause,
                resume=self.resume,
                on_first_read=(lambda: self._send_continue(request)) if expect else None,
            )
            request.body = body
            if expect and version == "1.1":
                request.state["expect_continue"] = True
            self._body = body
            self._body_req = request
            if not expect:  # with 100-continue the client waits for us first
                self._set_deadline("body", self._body_timeout(request))
        else:
            self._clear_deadline()
        self.pending.append((request, early))
        if len(self.pending) >= PIPELINE_DEPTH:
            self.pause(_PAUSE_PIPELINE)
        self._wake()
        return 0

    def on_body(self, data: bytes) -> None:
        self._fed_body += len(data)
        body = self._body
        if body is None:
            return
        if self._discard >= 0:
            self._discard -= len(data)
            if self._discard < 0:
                self._reject_status = -1
                raise _Reject
            self._touch_body_deadline()
            return
        limit = body.limit
        if limit and body.received + len(data) > limit:
            body.fail(HTTPError(413, "request body too large", close=True))
            self._body = None
            self._reject_status = -1
            raise _Reject
        body.feed(data)
        self._touch_body_deadline()

    def on_message_complete(self) -> None:
        body = self._body
        if body is not None:
            body.feed_eof()
            self._body = None
            self._body_req = None
            self._discard = -1
        if self._timer_kind == "body":
            self._clear_deadline()

    # -- rejection ---------------------------------------------------------------------------
    def _reject_from_parser(self, status: int) -> None:
        """A framing or header error: answer ``status`` after the requests already queued,
        then close. Bytes after the error are never parsed."""
        self._stop_for_good()
        self._reject_status = 0
        if status <= 0:  # already handled (early 413, overflowing drain): just stop
            self._wake()
            return
        body = self._body
        if body is not None:
            # the error is in the middle of a body a handler may be reading
            body.fail(HTTPError(400, "invalid request body framing", close=True))
            self._body = None
            owner = self._body_req
            for i, (req, _) in enumerate(self.pending):
                if req is owner:  # not answered yet: it gets the 400
                    req.keep_alive = False
                    self.pending[i] = (req, status)
                    self._wake()
                    return
            if self._busy:
                return
        target = b"".join(self._url).decode("latin-1") if self._url else ""
        request = Request("-" if not self._url else self._method_or_dash(), target, "/")
        request.client = self.peer
        request.server = self.local
        request.keep_alive = False
        request.http_version = "1.1"
        self.pending.append((request, status))
        self._wake()

    def _method_or_dash(self) -> str:
        try:
            return self.parser.get_method().decode("ascii")
        except Exception:  # noqa: BLE001
            return "-"

    def _stop_for_good(self) -> None:
        self._closing = True
        self.pause(_PAUSE_STOP)

    # -- timers ------------------------------------------------------------------------------
    def _set_deadline(self, kind: str, delay: float) -> None:
        if delay <= 0:
            self._clear_deadline()
            return
        when = self.loop.time() + delay
        self._deadline = when
        self._timer_kind = kind
        if self._timer_at > when:  # else the armed timer fires first and re-arms itself
            self._rearm(when)

    def _clear_deadline(self) -> None:
        self._timer_kind = ""

    def _rearm(self, when: float) -> None:
        if self._timer_at > when:
            timer = self._timer
            if timer is not None:
                timer.cancel()
            self._timer = self.loop.call_at(when, self._on_timer)
            self._timer_at = when

    def _start_handler_clock(self, request: Request) -> None:
        """Bound the time a handler (or its streamed body) may go without progress."""
        now = self.loop.time()
        self._hreq = request
        self._hlast = now
        limit = _handler_timeout(request)
        if limit > 0:
            self._rearm(now + limit)

    def _check_handler_clock(self, now: float) -> bool:
        """True when the running handler ran out of time (and was dealt with)."""
        request = self._hreq
        if request is None:
            return False
        limit = _handler_timeout(request)  # the location may have changed (redirects)
        if limit <= 0:
            return False
        if self._body_req is request and not self._paused & _PAUSE_BODY:
            self._hlast = now  # waiting for the client's body: client_body_timeout rules
        due = self._hlast + limit
        if now < due:
            self._rearm(due)
            return False
        self._hreq = None
        if self._busy:
            error_log.error(
                "handler for %s %s did not answer in %gs, answering 504",
                request.method,
                request.original_uri,
                limit,
            )
            self._hexpired = True
            self.task.cancel()
        else:
            error_log.error(
                "response body of %s %s stalled for %gs, closing the connection",
                request.method,
                request.original_uri,
                limit,
            )
            self._lost()
        return True

    def _touch_body_deadline(self) -> None:
        if self._timer_kind == "body" and self._body_req is not None:
            self._deadline = now = self.loop.time() + self._body_timeout(self._body_req)
            if self._hreq is not None:
                self._hlast = now  # a handler reading its body is making progress

    @staticmethod
    def _body_timeout(request: Request) -> float:
        loc = request.location
        return loc.client_body_timeout if loc is not None else 60.0

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = _NEVER
        if self._closed:
            return
        now = self.loop.time()
        if self._check_handler_clock(now):
            return
        kind = self._timer_kind
        if not kind:
            return
        if now < self._deadline or (kind == "body" and self._paused & _PAUSE_BODY):
            if kind == "body" and self._paused & _PAUSE_BODY:
                self._deadline = now + self._body_timeout(self._body_req)  # type: ignore[arg-type]
            self._rearm(self._deadline)
            return
        self._timer_kind = ""
        if kind == "idle":
            self._abort()
        elif kind == "head":
            self._stop_for_good()
            if not self._busy and not self.pending:
                request = Request("-", "", "/")
                request.client, request.server, request.keep_alive = self.peer, self.local, False
                self.pending.append((request, 408))
                self._wake()
        elif kind == "body":
            body = self._body
            self._stop_for_good()
            if body is not None:
                body.fail(HTTPError(408, "client body timeout", close=True))
                self._body = None
            if not self._busy:
                self._wake()

    # -- the serving task --------------------------------------------------------------------
    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _serve(self) -> None:
        pending = self.pending
        linger = False
        try:
            while True:
                if not pending:
                    if self._closing or self._eof or self.owner.stopping:
                        break
                    self._waiter = self.loop.create_future()
                    stats.waiting += 1
                    try:
                        await self._waiter
                    finally:
                        stats.waiting -= 1
                    self._waiter = None
                    continue
                request, early = pending.popleft()
                if self._paused & _PAUSE_PIPELINE and len(pending) < PIPELINE_DEPTH:
                    self.resume(_PAUSE_PIPELINE)
                stats.writing += 1
                try:
                    if early:
                        request.keep_alive = False
                        linger = True
                        if request.location is not None:
                            response = await self.owner.app.respond_error(request, early)
                        else:
                            response = self.owner.app.error_response(request, early)
                    else:
                        self._busy = True
                        self._start_handler_clock(request)
                        try:
                            response = await self.owner.app.respond(request)
                        except asyncio.CancelledError:
                            if not self._hexpired or self.task.uncancel():
                                raise
                            self._hexpired = False
                            request.keep_alive = False
                            response = self.owner.app.error_response(request, 504)
                        finally:
                            self._busy = False
                            self._hreq = None
                            if self._hexpired:  # the handler swallowed the cancellation
                                self._hexpired = False
                                self.task.uncancel()
                    if response.body.__class__ is bytes and not response.raw:
                        sent = self._send_bytes(request, response)
                    else:
                        sent = await self._send(request, response)
                finally:
                    stats.writing -= 1
                stats.requests += 1
                app = self.owner.app
                app.log_access(request, response.status, sent)
                if self.queue.closed:
                    break
                if not self._keep_alive_after(request, response):
                    linger = (
                        linger
                        or bool(early)
                        or response.status >= 400
                        or not request.body.complete  # unread input: avoid a reset
                    )
                    break
                if not pending and not self._body and not self._in_head:
                    server = request.server_config or self.defaults
                    if server.keepalive_timeout <= 0:
                        break
                    self._set_deadline("idle", server.keepalive_timeout)
        except asyncio.CancelledError:
            self._abort()
            return
        except Exception:  # noqa: BLE001 - the engine must never take the server down
            error_log.exception("connection from %s failed", self.peer[0])
            self._abort()
            return
        self._finish(linger)

    def _keep_alive_after(self, request: Request, response: Response) -> bool:
        # closing means "nothing after the requests already queued" (e.g. a pipelined 400)
        if not request.keep_alive or (self._closing and not self.pending) or self.owner.stopping:
            return False
        body = request.body
        if body.length == 0 or body.complete:
            return True
        # the handler left (part of) the body unread: discard a bounded amount, or close
        if body.length is not None:
            left = body.length - body.received
            if left > DRAIN_LIMIT:
                return False
            budget = left
        else:
            budget = DRAIN_LIMIT
        body.fail(ConnectionError("body discarded"))
        self._discard = budget
        self.resume(_PAUSE_BODY)
        return True

    def _send_continue(self, request: Request) -> None:
        if request.state.pop("expect_continue", False) and not self.queue.closed:
            self.queue.write(_CONTINUE)
        if self._body_req is request:
            self._set_deadline("body", self._body_timeout(request))

    # -- writing -------------------------------------------------------------------------------
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
        if request.state.pop("expect_continue", False) and not request.body.complete:
            request.keep_alive = False  # no 100 was sent: the client may never send the body
        headers = response.headers
        body = response.body
        keep = self._keep_alive_hint(request, headers)
        head_only = request.method == "HEAD"
        parts = [wire.head_start(status, response.reason), wire.header_block(headers)]
        if status < 200 or status == 204 or status == 304:  # never a body
            if isinstance(body, FileBody):
                _close_file(body)
            elif hasattr(body, "aclose"):
                await body.aclose()  # type: ignore[union-attr]
            parts.append(_connection_header(request, keep))
            queue.write(wire.encode_head("".join(parts)))
            request.keep_alive = keep
            return 0
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
        state = request.state
        if state and state.pop("expect_continue", False) and not request.body.complete:
            request.keep_alive = False  # no 100 was sent: the client may never send the body
        headers = response.headers
        body: bytes = response.body  # type: ignore[assignment]
        keep = self._keep_alive_hint(request, headers)
        request.keep_alive = keep
        start = wire.head_start(status, response.reason) + wire.header_block(headers)
        if status < 200 or status == 204 or status == 304:  # never a body
            queue.write(wire.encode_head(start + _connection_header(request, keep)))
            return 0
        size = len(body)
        head_only = request.method == "HEAD"
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
            fd = os.open(body.file, os.O_RDONLY) if opened else body.file.fileno()  # type: ignore[union-attr, arg-type]
        except OSError:
            error_log.error('open() "%s" failed', body.file)
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
        sent = 0
        aclose = getattr(body, "aclose", None)
        try:
            if head_only:
                return 0
            self._start_handler_clock(request)  # a stream that stops yielding is cut off
            async for chunk in body:  # type: ignore[attr-defined]
                if not chunk:
                    continue
                if queue.closed:
                    break
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
                if queue.full:
                    await queue.drain()
                self._hlast = self.loop.time()
                if length is not None and sent >= length:
                    break
            else:
                if chunked:
                    queue.write(b"0\r\n\r\n")
            if length is not None and sent < length:
                request.keep_alive = False  # short body: only a close can tell the client
        except ConnectionError:
            request.keep_alive = False
        except asyncio.CancelledError:
            raise
        except BodyAborted as exc:  # expected (e.g. a CGI timeout): one line, no traceback
            error_log.error("response to %s %s aborted: %s", request.method, request.target, exc)
            request.keep_alive = False
            queue.abort()
        except Exception:  # noqa: BLE001 - a failing stream aborts this response only
            error_log.exception("response body of %s failed", request.target)
            request.keep_alive = False
            queue.abort()
        finally:
            self._hreq = None
            if aclose is not None:
                try:
                    await aclose()
                except Exception:  # noqa: BLE001
                    error_log.exception("closing the response body of %s", request.target)
        return sent

    async def _send_raw(self, request: Request, response: Response) -> int:
        """A body that is the whole message (NPH): written as is, then the connection ends."""
        queue = self.queue
        loc = request.location
        queue.set_timeout(loc.send_timeout if loc is not None else 60.0)
        request.keep_alive = False
        body = response.body
        if isinstance(body, bytes):
            queue.write(body)
            return len(body)
        if isinstance(body, FileBody):
            _close_file(body)
            raise TypeError("a raw response body must be bytes or an async iterator")
        sent = 0
        aclose = getattr(body, "aclose", None)
        self._start_handler_clock(request)
        try:
            async for chunk in body:  # type: ignore[union-attr]
                if queue.closed:
                    break
                queue.write(chunk)
                sent += len(chunk)
                if queue.full:
                    await queue.drain()
                self._hlast = self.loop.time()
        except ConnectionError:
            pass
        except BodyAborted as exc:
            error_log.error("response to %s %s aborted: %s", request.method, request.target, exc)
            queue.abort()
        except Exception:  # noqa: BLE001 - a failing stream aborts this response only
            error_log.exception("response body of %s failed", request.target)
            queue.abort()
        finally:
            self._hreq = None
            if aclose is not None:
                try:
                    await aclose()
                except Exception:  # noqa: BLE001
                    error_log.exception("closing the response body of %s", request.target)
        return sent

    # -- closing ---------------------------------------------------------------------------------
    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():  # cancelled before it ever ran: nothing else will close us
            self._abort()

    def _on_write_lost(self, exc: BaseException) -> None:
        self._lost()

    def _lost(self) -> None:
        """The client went away (or stalled past send_timeout): stop everything."""
        if self._closed:
            return
        body = self._body
        if body is not None:
            body.fail(ConnectionError("client gone"))
        task = self.task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()  # cancels the handler; aclose()s a streaming body
        else:
            self._abort()

    def _abort(self) -> None:
        if self._closed:
            return
        self._stop_reading()
        self.queue.abort()
        self._done()

    def _finish(self, linger: bool) -> None:
        """Close after the queued bytes are sent; after an error answer, read and discard
        for a while first so the client sees the answer rather than a reset."""
        if self._closed:
            return
        self._stop_reading()
        if self.queue.closed or not (linger or self.queue.buffered):
            self.queue.close()
            self._done()
            return
        # keep counting this connection (graceful stop waits for it) until its bytes are out
        self.loop.create_task(self._linger() if linger else self._close_after_flush())

    async def _close_after_flush(self) -> None:
        try:
            await self.queue.flush()  # bounded by send_timeout (the queue's timeout)
        except ConnectionError:
            pass
        self.queue.close()
        self._done()

    async def _linger(self) -> None:
        try:
            await asyncio.wait_for(self.queue.flush(), 10.0)
            self.sock.shutdown(socket.SHUT_WR)
        except (TimeoutError, OSError, ConnectionError):
            self._abort()
            return
        done = self.loop.create_future()

        def discard() -> None:
            try:
                data = self.sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data and not done.done():
                done.set_result(None)

        self.loop.add_reader(self.fd, discard)
        self._reading = True
        try:
            await asyncio.wait_for(done, LINGER_TIME)
        except TimeoutError:
            pass
        finally:
            self._abort()

    def _done(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._hup_on:
            self._unwatch_hangup()
        self._closing = True
        self._wake()  # a serving task waiting for the next request ends now
        if self._in_head:
            self._in_head = False
            stats.reading -= 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = _NEVER
        self._timer_kind = ""
        body = self._body
        if body is not None:
            body.fail(ConnectionError("connection closed"))
            self._body = None
        stats.active -= 1
        stats.handled += 1
        self.owner.connection_closed(self)

    def close_if_idle(self) -> bool:
        """Graceful stop: close now when no request is in progress (True if closed)."""
        self._closing = True
        if self._busy or self.pending or self._in_head:
            return False
        self._wake()
        return True

    def close_if_waiting(self) -> bool:
        """Reload: close now if idle between keep-alive requests, nothing of the next one
        arrived (True if closed). A connection with a request under way keeps going, and
        one that has not sent its first request yet keeps its client_header_timeout (its
        request may be on the way)."""
        if self._waiter is None or self.pending or self._in_head or self._body is not None:
            return False  # the serving task is not waiting for a next request
        if not self._url:  # no request seen yet
            return False
        if self._closing or self._closed or _unread(self.fd):
            return False
        self._closing = True
        self._wake()
        return True

    def abort(self) -> None:
        """Immediate stop: cancel whatever runs and close the socket."""
        self._lost()


def _handler_timeout(request: Request) -> float:
    """How long a handler may go without progress: the location's send_timeout, or its
    cgi_timeout when longer (a CGI run is bounded by that itself); 0 = unbounded."""
    loc = request.location
    if loc is None:
        return 60.0
    if loc.cgi:
        if loc.cgi_timeout <= 0:
            return 0.0
        return max(loc.send_timeout, loc.cgi_timeout)
    return loc.send_timeout


def _last_head_end(data: bytes | memoryview) -> int:
    """Where a head that began in ``data`` and is not complete can start at the earliest:
    just after the last blank line (the end of an earlier head or chunked body), else 0."""
    raw = bytes(data)
    crlf = raw.rfind(b"\r\n\r\n")
    lf = raw.rfind(b"\n\n")
    return max(crlf + 4 if crlf >= 0 else 0, lf + 2 if lf >= 0 else 0)


def _versionless(conn: Connection, data: bytes | memoryview) -> bool:
    """The request line being parsed ended right after its target, without a version (a
    bare ``GET /path``): its target is followed by CR or LF near the end of ``data``. Only on
    a line that has no version yet (llhttp reports 0.0, or 0.9 once past the line)."""
    if conn.parser.get_http_version() not in ("0.0", "0.9"):
        return False
    url = conn._url[-1]
    tail = bytes(data[-(len(url) + 64) :])
    end = tail.rfind(url) + len(url)
    return end >= len(url) and tail[end : end + 1] in (b"\r", b"\n")


def _unread(fd: int) -> int:
    """Bytes the kernel holds unread for socket ``fd`` (0 when it cannot tell)."""
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return 0


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
