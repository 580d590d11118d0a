"""Per-connection deadlines: one loop timer that enforces client_header_timeout,
client_body_timeout and client_body_min_rate, keepalive_timeout and the handler's
no-progress limit.

The body deadline is the earlier of two: client_body_timeout after the last body read, and
the rate deadline ``start + client_body_timeout + received / client_body_min_rate`` (after
a first client_body_timeout, the body must arrive at the minimum rate on average, as
Apache's mod_reqtimeout ``MinRate``), so a body trickled a byte at a time cannot live
forever. Time while the handler holds the body back (reading paused) moves ``start``.

``DeadlineTimers`` is a mixin of ``Connection``: it keeps no state of its own (the slots are
on ``Connection``), so the hot path reads the same attributes as before.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from framework.http.errors import HTTPError
from framework.http.request import Request
from framework.logs import error_log

if TYPE_CHECKING:
    from framework.config.models import ServerConfig
    from framework.http.body import RequestBody

_PAUSE_BODY = 1  # reading paused: the handler is not reading its body
_PAUSE_PIPELINE = 2  # reading paused: enough requests are queued ahead
_PAUSE_STOP = 4  # reading stopped for good

_NEVER = float("inf")


class DeadlineTimers:
    """The timer half of ``Connection`` (see there for the attributes it uses)."""

    __slots__ = ()

    loop: asyncio.AbstractEventLoop
    task: asyncio.Task[None]
    defaults: ServerConfig
    pending: deque[tuple[Request, int]]
    peer: tuple[str, int]
    local: tuple[str, int]
    _timer: asyncio.TimerHandle | None
    _timer_at: float
    _deadline: float
    _timer_kind: str
    _paused: int
    _closed: bool
    _busy: bool
    _body: RequestBody | None
    _body_req: Request | None
    _hreq: Request | None
    _hlast: float
    _hexpired: bool
    _body_since: float
    _eof: bool

    def _set_deadline(self, kind: str, delay: float) -> None:
        if delay <= 0:
            self._clear_deadline()
            return
        now = self.loop.time()
        when = now + delay
        self._deadline = when
        if kind == "body":
            self._body_since = now  # the body clock starts (client_body_min_rate)
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
        if self._eof and not self.pending:  # its client's FIN was read before it started
            self._client_may_be_gone(request)

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
        request = self._body_req
        if self._timer_kind == "body" and request is not None:
            now = self.loop.time()
            loc = request.location
            timeout = loc.client_body_timeout if loc is not None else 60.0
            due = now + timeout
            rate = loc.client_body_min_rate if loc is not None else 0
            body = self._body
            if rate and body is not None:
                by_rate = self._body_since + timeout + body.received / rate
                if by_rate < due:
                    due = by_rate
            self._deadline = due
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
        # time the server itself holds the client back does not count against it: the
        # handler not reading its body, or earlier pipelined requests still being answered
        # (nginx does not time a request head before it starts to read it)
        held = (kind == "body" and self._paused & _PAUSE_BODY) or (
            kind == "head" and (self.pending or self._busy or self._paused & _PAUSE_PIPELINE)
        )
        if now < self._deadline or held:
            if held:
                self._deadline = now + (
                    self._body_timeout(self._body_req)  # type: ignore[arg-type]
                    if kind == "body"
                    else self.defaults.client_header_timeout
                )
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
            if self._body_req is not None:
                error_log.info(
                    "client body of %s %s too slow, answering 408",
                    self._body_req.method,
                    self._body_req.original_uri,
                )
            self._stop_for_good()
            if body is not None:
                body.fail(HTTPError(408, "client body timeout", close=True))
                self._body = None
            if not self._busy:
                self._wake()


def _handler_timeout(request: Request) -> float:
    """How long a handler may go without progress: the location's send_timeout, or its
    cgi_timeout when longer (a CGI run is bounded by that itself); 0 = unbounded (a
    proxied location, bounded by proxy_connect/read/send_timeout)."""
    loc = request.location
    if loc is None:
        return 60.0
    proxy = loc.proxy_pass
    if proxy is not None and proxy.declared_in(loc.span):
        return 0.0  # the proxy bounds each attempt itself (proxy_*_timeout)
    if loc.cgi:
        if loc.cgi_timeout <= 0:
            return 0.0
        return max(loc.send_timeout, loc.cgi_timeout)
    return loc.send_timeout
