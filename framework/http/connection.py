"""One client connection: httptools parsing on a raw non-blocking socket, keep-alive, ordered
pipelining, request bodies streamed with backpressure, response writing through the
``WriteQueue``, and the header/body/keep-alive timeouts.

Parsing happens in the reader callback; each complete request head becomes a ``Request``
that is routed at once (so ``client_max_body_size`` is known before the body is read) and
queued. One task per connection answers the queued requests strictly in order.

The head checks live in ``head``; response writing, the timers and closing are the mixins
``ResponseWriter`` (``responder``), ``DeadlineTimers`` (``deadlines``) and
``ConnectionCloser`` (``closing``), which share ``Connection``'s slots.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import httptools

from framework.core.hangup import HangupWatcher, watcher_for
from framework.core.tls import TlsError, TlsSession, TlsWriteQueue
from framework.core.writequeue import WriteQueue
from framework.http.body import RequestBody
from framework.http.closing import LINGER_TIME as LINGER_TIME  # re-exported
from framework.http.closing import ConnectionCloser, _unread
from framework.http.deadlines import (
    _NEVER,
    _PAUSE_BODY,
    _PAUSE_PIPELINE,
    _PAUSE_STOP,
    DeadlineTimers,
)
from framework.http.errors import HTTPError
from framework.http.head import FRAMING_HEADERS, check_head
from framework.http.headers import Headers
from framework.http.llhttp import (
    bad_method_status,
    last_head_end,
    new_parser,
    parser_inside_body,
    versionless,
)
from framework.http.preamble import Preamble, Start, plain_http_to_tls_response
from framework.http.proxy_protocol import ProxyProtocolError
from framework.http.request import Request
from framework.http.responder import SMALL_FILE as SMALL_FILE  # re-exported
from framework.http.responder import ResponseWriter
from framework.http.response import Response
from framework.http.trailers import TrailerGuard
from framework.http.tunnel import (
    PAUSE_UPGRADE,
    Tunnel,
    Upgrade,
    UpgradeHold,
    serve_tunnel,
    upgrade_problem,
)
from framework.logs import error_log
from framework.stats import stats

if TYPE_CHECKING:
    from framework.config.models import ServerConfig
    from framework.pipeline import Application

READ_SIZE = 256 * 1024
MAX_REQUEST_LINE = 8192
PIPELINE_DEPTH = 8  # requests parsed ahead of the one being answered
DRAIN_LIMIT = 1024 * 1024  # unread body bytes we discard to keep a connection alive
PREAMBLE_READ = 4096  # bytes read at a time before HTTP (PROXY header, TLS ClientHello)
PLAIN_HTTP_TO_TLS = 497  # nginx's internal status: answered as a 400 with its own page

_NO_BODY = RequestBody.empty()  # stateless once at EOF: shared by body-less requests
_READ_BUFFER = bytearray(READ_SIZE)  # one loop, one reader at a time: shared
_READ_VIEW = memoryview(_READ_BUFFER)
_TLS_BUFFER = bytearray(READ_SIZE)  # ciphertext, before it is decrypted into _READ_BUFFER
_TLS_VIEW = memoryview(_TLS_BUFFER)


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


class Connection(ResponseWriter, DeadlineTimers, ConnectionCloser):
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
        "_by_heads",
        "_piece_ends_head",
        "_header_max",
        "_hreq",
        "_hlast",
        "_hexpired",
        "_hup",
        "_hup_on",
        "_hup_seen",
        "_trailers",
        "_body_since",
        "_body_paused_at",
        "_reader",
        "_scheme",
        "_proxy_addr",
        "_tls",
        "_tls_context",
        "_preamble",
        "_plain_on_tls",
        "_tunnel",
    )

    def __init__(
        self,
        owner: Owner,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        peer: tuple[str, int],
        local: tuple[str, int],
        *,
        tls: ssl.SSLContext | None = None,
        proxy_protocol: bool = False,
    ) -> None:
        """Serve ``sock``; with ``tls``, over TLS with that server context; with
        ``proxy_protocol``, after a PROXY protocol header."""
        self.owner = owner
        self.loop = loop
        self.sock = sock
        self.fd = sock.fileno()
        self.peer = peer
        self.local = local
        self.defaults: ServerConfig = owner.app.default_server(local)
        self._header_max = self.defaults.client_header_max_size
        if tls is None:
            self.queue = WriteQueue(loop, sock, on_lost=self._on_write_lost)
        else:
            self.queue = TlsWriteQueue(loop, sock, on_lost=self._on_write_lost)
        self.parser = new_parser(self)
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
        self._framing: list[tuple[str, str, str]] = []  # those of FRAMING_HEADERS
        self._head_size = 0
        self._head_raw = 0  # bytes of a head in progress (-1: it began in this read)
        self._fed_body = 0  # body bytes in the data being parsed
        self._in_head = False
        self._body: RequestBody | None = None  # the body being received
        self._body_req: Request | None = None
        self._discard = -1  # >= 0: discarding an unread body, with this budget left
        self._reject_status = 0
        self._upgrade = False
        self._by_heads: bytes | None = None  # not None: feed the next read by heads
        self._piece_ends_head = False  # the piece being fed ends where a head may end
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
        self._trailers: TrailerGuard | None = None  # made at the first chunked body
        self._body_since = 0.0  # start of the body clock (client_body_min_rate), pauses excluded
        self._body_paused_at = 0.0
        self._scheme = "http"
        self._proxy_addr: tuple[str, int] | None = None  # the PROXY header's source
        self._tls: TlsSession | None = None
        self._tls_context = tls
        self._plain_on_tls = False  # plain HTTP on a TLS address: its request gets a 400
        self._tunnel: UpgradeHold | Tunnel | None = None  # input after an upgrade request
        if tls is not None or proxy_protocol:
            self._preamble: Preamble | None = Preamble(
                proxy_protocol=proxy_protocol, tls=tls is not None
            )
            self._reader = self._on_preamble_readable
        else:
            self._preamble = None
            self._reader = self._on_readable
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
            self.loop.add_reader(self.fd, self._reader)

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self.loop.remove_reader(self.fd)

    def pause(self, reason: int = _PAUSE_BODY) -> None:
        if reason == _PAUSE_BODY and not self._paused & _PAUSE_BODY:
            self._body_paused_at = self.loop.time()  # the handler holds the body back
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
        if self._tunnel is not None and self._tunnel.hangup():
            return
        request = self._hreq
        if request is not None and not request.body.complete:
            if request._half_close_ok and self._body_in_kernel(request.body):
                return  # the final read (_on_eof) decides once the body is parsed
            request = None  # gone in the middle of its body
        self._eof = True
        if request is not None:
            self._client_may_be_gone(request)  # nothing but the FIN is left
        else:
            self._lost()

    def _body_in_kernel(self, body: RequestBody) -> bool:
        """Whether the rest of ``body`` may already sit unread in the kernel (chunked: any
        unread byte counts, the framing cannot be told without parsing)."""
        unread = _unread(self.fd)
        if body.length is None:
            return unread > 0
        return unread >= body.length - body.received

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
            rest = body.length - body.received
            if self._tls is not None:  # the kernel holds records: allow their overhead
                rest += (rest // _TLS_RECORD_DATA + 1) * _TLS_RECORD_OVERHEAD
            unread -= rest
        if self._tls is not None:
            # a close_notify alert may sit before the FIN; no request fits in its size
            return unread > _TLS_CLOSE_NOTIFY
        return unread > 0

    def resume(self, reason: int = _PAUSE_BODY) -> None:
        if reason == _PAUSE_BODY and self._paused & _PAUSE_BODY:
            # time the handler held the body back does not count against the client's rate
            self._body_since += self.loop.time() - self._body_paused_at
            self._touch_body_deadline()
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
        self._received(n)

    def _received(self, n: int) -> None:
        """Parse the ``n`` bytes of input in ``_READ_BUFFER``."""
        # httptools copies what it keeps, so the shared buffer can be reused at once
        if self._by_heads is None and _READ_BUFFER.find(b"\t", 0, n) < 0:
            self._feed(_READ_VIEW[:n])  # no HTAB at all: the common case
            return
        if self._by_heads is not None or (
            (_READ_BUFFER.find(b"\t\r", 0, n) >= 0 or _READ_BUFFER[n - 1] == 9)
            and self._head_may_end_in(n)
        ):  # a head may end in this read, after a line ending in HTAB (rare)
            self._feed_by_heads(_READ_VIEW[:n])
            return
        self._feed(_READ_VIEW[:n])

    def _head_may_end_in(self, n: int) -> bool:
        """Can a request head end in the ``n`` bytes just read? Not inside a body of known
        length that goes past them, nor inside a chunked body unless they hold a blank
        line (binary body data is full of HTABs: it must not take the slow path)."""
        body = self._body
        if body is None:
            return True
        if body.length is not None:
            return body.length - body.received < n
        return _READ_BUFFER.find(b"\r\n\r\n", 0, n) >= 0

    def _feed_by_heads(self, data: memoryview) -> None:
        """``_feed`` in pieces that each end where a head may end (a blank line, also one
        split across reads). llhttp strips trailing SP from a Transfer-Encoding value but
        not HTAB (RFC 9112 OWS), and refuses ``chunked<HTAB>`` right at the end of the
        head, without saying where that is: fed this way, the end of the piece is the end
        of that head, and parsing goes on inside the chunked body ``check_head`` accepted.
        Only reads with a line ending in HTAB, and those that continue their head, go here."""
        raw = bytes(data)
        tail = self._by_heads or b""
        self._by_heads = None
        seen = tail + raw
        skip = len(tail)
        pos = 0
        while pos < len(raw) and not self._paused & _PAUSE_STOP:
            i = seen.find(b"\r\n\r\n", max(pos + skip - 3, 0))
            while 0 <= i and i + 4 - skip <= pos:
                i = seen.find(b"\r\n\r\n", i + 1)
            end = len(raw) if i < 0 else i + 4 - skip
            self._piece_ends_head = i >= 0
            self._feed(raw[pos:end])
            pos = end
        self._piece_ends_head = False
        if self._in_head and not self._paused & _PAUSE_STOP:
            self._by_heads = seen[-3:]  # the head goes on in the next read

    def _feed(self, data: bytes | memoryview) -> None:
        if self._tunnel is not None:  # not HTTP (for now): after an upgrade request
            self._tunnel.feed(data)
            return
        trailers = self._trailers
        if trailers is not None and trailers.skipping:
            found = trailers.skip(data)
            if found is None:
                return
            ending, offset = found
            self._feed(ending)
            rest = data[offset:]
            if rest and not self._closing:
                self._feed(rest)
            return
        self._fed_body = 0
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._parse_on_after_upgrade(data, exc.args[0])
            return
        except httptools.HttpParserInvalidMethodError:
            self._reject_from_parser(self._reject_status or bad_method_status(data))
            return
        except httptools.HttpParserError as exc:
            status = self._reject_status
            if not status:
                msg = str(exc)
                if msg.startswith("Invalid HTTP version"):
                    status = 505
                elif "Transfer-Encoding`" in msg and "invalid `Transfer" in msg:
                    if self._piece_ends_head and self._parse_on_in_chunked_body():
                        return
                    status = 501
                else:
                    status = 400
            self._reject_from_parser(status)
            return
        if trailers is not None and trailers.state:
            trailers.parsed(data)  # in a trailer section: bounded, then skipped
        if self._in_head and not self._headers and self._url and versionless(self, data):
            self._reject_from_parser(400)  # HTTP/0.9 style: no head will follow, do not wait
            return
        if self._in_head:
            # a head arriving in pieces: httptools buffers partial lines, so bound them
            if self._head_raw >= 0:
                self._head_raw += len(data)
            else:  # it began in this data: count from there
                self._head_raw = max(0, len(data) - last_head_end(data) - self._fed_body)
            if self._head_raw > self._header_max + MAX_REQUEST_LINE:
                status = 414 if self._url_len > MAX_REQUEST_LINE or not self._headers else 431
                self._reject_from_parser(status)

    def _parse_on_after_upgrade(self, data: bytes | memoryview, offset: int) -> None:
        """webserv performs no protocol upgrade (h2c, a WebSocket ``Upgrade``): such a request
        is an ordinary one, its body read as usual and the connection kept for the next.
        llhttp stops at the end of the head and skips the body of an upgrade request, so
        parsing goes on from there; with a body, in a new parser primed to be inside a body
        of the same framing."""
        upgrade, self._upgrade = self._upgrade, False
        if self.parser.get_method() == b"CONNECT" or self._closing:
            self._stop_for_good()  # a tunnel was asked for: answer it, read nothing more
            return
        body = self._body
        if upgrade and body is not None:
            self.parser = parser_inside_body(self, body.length)
        elif not upgrade and self.pending:
            # a bodiless upgrade request: hold what follows until its answer is known
            self._tunnel = UpgradeHold(self.pending[-1][0], bytes(data[offset:]))
            self.pause(PAUSE_UPGRADE)
            return
        rest = data[offset:]
        if rest:
            self._feed(rest)

    def _release_hold(self) -> None:
        """The upgrade request was answered without a 101: parse what followed it."""
        hold = self._tunnel
        assert isinstance(hold, UpgradeHold)
        self._tunnel = None
        self.resume(PAUSE_UPGRADE)
        for chunk in hold.chunks:
            self._feed(chunk)

    def _parse_on_in_chunked_body(self) -> bool:
        """llhttp refused a ``Transfer-Encoding: chunked<HTAB>`` head that ``check_head``
        accepted as chunked, at the end of a piece of ``_feed_by_heads``: go on with a
        parser inside that chunked body. False when that is not the case."""
        body = self._body
        if body is None or body.length is not None or self._in_head:
            return False
        self.parser = parser_inside_body(self, None)
        return True

    def _on_eof(self) -> None:
        self._eof = True
        self._stop_reading()
        if self._tunnel is not None:
            self._tunnel.put_eof()
        body = self._body
        if body is not None:
            body.fail(ConnectionError("client closed the connection"))
        request = self._hreq
        if request is not None and not self.pending:
            # a FIN behind pipelined requests still queued only means "no more after
            # these"; one while the handler of the last request runs may mean it is gone
            if body is not None:
                self._lost()  # gone in the middle of its body
                return
            self._client_may_be_gone(request)
        self._wake()

    # -- before HTTP: the PROXY header, TLS --------------------------------------------------
    def _set_reader(self, reader: Callable[[], None]) -> None:
        self._reader = reader
        if self._reading:
            self.loop.add_reader(self.fd, reader)  # replaces the callback

    def _on_preamble_readable(self) -> None:
        """The first bytes of a ``proxy_protocol`` or ``ssl`` connection (``Preamble``),
        bounded in size there and in time by client_header_timeout (the "idle" deadline)."""
        try:
            data = self.sock.recv(PREAMBLE_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._abort()
            return
        if not data:
            error_log.info("client %s closed the connection before a request", self.peer[0])
            self._abort()
            return
        preamble = self._preamble
        assert preamble is not None
        try:
            opening = preamble.feed(data)
        except ProxyProtocolError as exc:
            error_log.error(
                'broken header: "%s" while reading PROXY protocol, client: %s (%s)',
                data[:107].decode("latin-1"),
                self.peer[0],
                exc,
            )
            self._abort()
            return
        if opening is None:
            return
        self._preamble = None
        self._proxy_addr = opening.proxy_source
        if opening.start is Start.TLS:
            assert self._tls_context is not None
            tls = self._tls = TlsSession(self._tls_context, refuse_alpn=opening.refuse_alpn)
            self.queue.tls = tls  # type: ignore[attr-defined]
            self._scheme = "https"
            tls.incoming.write(opening.data)
            self._set_reader(self._on_tls_readable)
            self._tls_input()
            return
        self._plain_on_tls = opening.start is Start.HTTP_ON_TLS
        self._set_reader(self._on_readable)
        n = len(opening.data)
        if n:
            _READ_BUFFER[:n] = opening.data
            self._received(n)

    def _on_tls_readable(self) -> None:
        try:
            # into a shared buffer: recv(256 KiB) would mmap and unmap a new object each time
            n = self.sock.recv_into(_TLS_BUFFER)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._lost()
            return
        tls = self._tls
        assert tls is not None
        if not n:
            if not tls.established:
                error_log.info("peer %s closed the connection in the TLS handshake", self.peer[0])
                self._abort()
            else:
                self._on_eof()
            return
        tls.incoming.write(_TLS_VIEW[:n])
        self._tls_input()

    def _tls_input(self) -> None:
        """Step the handshake, then decrypt and parse whatever records are complete."""
        tls = self._tls
        assert tls is not None
        queue: TlsWriteQueue = self.queue  # type: ignore[assignment]
        if not tls.established:
            try:
                done = tls.handshake()
            except TlsError as exc:
                alert = tls.outgoing.read()
                if alert:
                    queue.write_raw(alert)
                error_log.info("TLS handshake with %s failed: %s", self.peer[0], exc)
                self._finish(False)
                return
            out = tls.outgoing.read()
            if out:
                queue.write_raw(out)
            if not done:
                return
            # the request gets its own client_header_timeout, as after nginx's handshake
            self._set_deadline("idle", self.defaults.client_header_timeout)
        while True:
            try:
                n = tls.read_into(_READ_BUFFER)
            except TlsError as exc:
                error_log.info("TLS error from %s: %s", self.peer[0], exc)
                self._lost()
                return
            if n < 0:
                break
            if n == 0:  # close_notify
                self._on_eof()
                return
            self._received(n)
            if self._closed or self._paused & _PAUSE_STOP or not tls.more_input():
                break
        out = tls.output()  # e.g. the answer to a TLS 1.3 KeyUpdate
        if out:
            queue.write_raw(out)

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
        if lower in FRAMING_HEADERS:
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
        checked = check_head(version, self._framing, self._url)
        if isinstance(checked, int):
            return checked
        target, path, query, host, length, chunked, expect = checked
        headers = Headers.from_list(self._headers)  # a new list is made for the next head
        raw_method = parser.get_method()
        method = _METHODS.get(raw_method) or raw_method.decode("ascii")
        keep_alive = parser.should_keep_alive()
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
        request.scheme = self._scheme
        request.proxy_protocol_addr = self._proxy_addr
        if self._plain_on_tls:
            request.keep_alive = False
            self.pending.append((request, PLAIN_HTTP_TO_TLS))
            self._wake()
            self._reject_status = -1
            raise _Reject
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
            if parser.should_upgrade():
                self._upgrade = True  # llhttp will skip this body: _feed takes it up
            if not expect:  # with 100-continue the client waits for us first
                self._set_deadline("body", self._body_timeout(request))
        else:
            self._clear_deadline()
        self.pending.append((request, early))
        if len(self.pending) >= PIPELINE_DEPTH:
            self.pause(_PAUSE_PIPELINE)
        self._wake()
        return 0

    def on_chunk_header(self) -> None:
        trailers = self._trailers
        if trailers is None:
            trailers = self._trailers = TrailerGuard(self._header_max)
        trailers.last_chunk()

    def on_body(self, data: bytes) -> None:
        self._fed_body += len(data)
        trailers = self._trailers
        if trailers is not None:
            trailers.body_data()
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
            if self._upgrade:
                return  # not the end: llhttp skipped the body of an upgrade request
            if self._trailers is not None:
                self._trailers.done()
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
        request.scheme = self._scheme
        request.proxy_protocol_addr = self._proxy_addr
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
                    if self._timer_kind == "head":
                        # a pipelined head begun while earlier requests were answered: its
                        # clock starts now, as nginx starts it when it reads the request
                        self._set_deadline("head", self.defaults.client_header_timeout)
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
                        if early == PLAIN_HTTP_TO_TLS:
                            response = plain_http_to_tls_response()
                        elif request.location is not None:
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
                    if response.status == 101 or response.body.__class__ is Upgrade:
                        problem = upgrade_problem(self, request, response)
                        if not problem:
                            stats.requests += 1
                            await serve_tunnel(self, request, response)  # logs it
                            break
                        error_log.error("%s %s: %s", request.method, request.target, problem)
                        request.keep_alive = False
                        response = self.owner.app.error_response(request, 500)
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
                if self.queue.full:
                    # a client that does not read what it asked for: answer nothing more
                    # until it does (the pipeline bound then stops reading too), so the
                    # memory a connection holds stays bounded; send_timeout ends the wait
                    try:
                        await self.queue.drain()
                    except ConnectionError:
                        break
                if not self._keep_alive_after(request, response):
                    linger = (
                        linger
                        or bool(early)
                        or response.status >= 400
                        or not request.body.complete  # unread input: avoid a reset
                    )
                    break
                if self._tunnel is not None and self._tunnel.request is request:
                    self._release_hold()
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


_TLS_RECORD_DATA = 16384  # most plaintext in one TLS record
_TLS_RECORD_OVERHEAD = 29  # TLS 1.2 GCM: header 5 + explicit nonce 8 + tag 16 (TLS 1.3: 22)
# the largest close_notify record (TLS 1.2 AES-GCM: 5 + 8 + 2 + 16); the smallest request
# ("GET / HTTP/1.0\r\n\r\n", 18 bytes) takes at least 39 in a record
_TLS_CLOSE_NOTIFY = 31
