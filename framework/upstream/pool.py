"""Keep-alive pools: idle upstream connections kept per upstream group, per worker.

nginx's ``keepalive N`` is the number of idle connections the group's cache holds in each
worker (the most recently used are kept; busy ones are not limited). A connection goes back
only after a complete response that allows keep-alive; while idle, any byte or EOF from the
upstream closes it; after ``keepalive_timeout`` idle or ``keepalive_requests`` requests it
is closed.

One difference in timing: the connections above ``N`` are closed once they have been idle
for ``EXCESS_GRACE`` seconds, not at release. An event loop finishes a burst of answers in
one pass before it reads the clients' next requests, so with more than ``N`` requests in
flight the pool would close the excess at every burst and connect again at the next one
(one new connection per 12 requests under ``wrk -c50`` with ``keepalive 32``). A load that
stops leaves ``N`` idle connections after the grace, as nginx does at once.
"""

from __future__ import annotations

import asyncio
from collections import deque

from framework.upstream.balancer import Peer, PeerGroup
from framework.upstream.connection import UpstreamConnection

EXCESS_GRACE = 1.0  # seconds an idle connection above ``keepalive`` is kept for the next burst


class ConnectionPool:
    """Idle connections of one ``PeerGroup`` (at most ``group.keepalive``)."""

    def __init__(self, group: PeerGroup) -> None:
        self.group = group
        self._idle: deque[tuple[Peer, UpstreamConnection]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None  # one timer for keepalive_timeout
        self._trimmer: asyncio.TimerHandle | None = None  # one timer for the excess
        self.opened = 0  # connections opened so far (tests and benchmarks look at it)

    def take(self, peer: Peer) -> UpstreamConnection | None:
        """The most recently used idle connection to ``peer``, or None."""
        idle = self._idle
        for index in range(len(idle) - 1, -1, -1):
            owner, conn = idle[index]
            if owner is not peer:
                continue
            if index == len(idle) - 1:
                idle.pop()
            else:
                del idle[index]
            conn.idle = False
            conn.on_idle_close = None
            if conn.usable:
                return conn
            conn.close()
        return None

    async def connect(
        self, peer: Peer, *, connect_timeout: float, send_timeout: float
    ) -> UpstreamConnection:
        """A new connection to ``peer`` (raises ``OSError`` or ``UpstreamTimeout``)."""
        conn = await UpstreamConnection.open(
            peer.address, connect_timeout=connect_timeout, send_timeout=send_timeout
        )
        self.opened += 1
        return conn

    def release(self, peer: Peer, conn: UpstreamConnection) -> None:
        """Keep ``conn`` for reuse (or close it when the pool is full or it is used up)."""
        group = self.group
        if group.keepalive <= 0 or not conn.usable or conn.requests >= group.keepalive_requests:
            conn.close()
            return
        conn.stop_read_timer()
        conn.idle = True
        conn.on_idle_close = self._forget
        loop = conn.loop
        conn.idle_since = loop.time()
        self._idle.append((peer, conn))
        if len(self._idle) > group.keepalive and self._trimmer is None:
            self._trimmer = loop.call_later(self._grace(), self._trim, loop)
        if self._sweeper is None:
            self._sweeper = loop.call_later(group.keepalive_timeout, self._sweep, loop)

    def _forget(self, conn: UpstreamConnection) -> None:
        for index, (_, idle) in enumerate(self._idle):
            if idle is conn:
                del self._idle[index]
                return

    def _grace(self) -> float:
        return min(EXCESS_GRACE, self.group.keepalive_timeout)

    def _trim(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close the least recently used idle connections above ``keepalive`` that were
        idle for the grace (the ones idle for less may be taken by the next burst)."""
        self._trimmer = None
        idle = self._idle
        keep = self.group.keepalive
        grace = self._grace()
        now = loop.time()
        while len(idle) > keep and now - idle[0][1].idle_since >= grace:
            _, conn = idle.popleft()
            conn.close()
        if len(idle) > keep:
            self._trimmer = loop.call_at(idle[0][1].idle_since + grace, self._trim, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close the connections idle for ``keepalive_timeout`` (the oldest are first)."""
        self._sweeper = None
        timeout = self.group.keepalive_timeout
        now = loop.time()
        idle = self._idle
        while idle and now - idle[0][1].idle_since >= timeout:
            _, conn = idle.popleft()
            conn.close()
        if idle:
            due = idle[0][1].idle_since + timeout
            self._sweeper = loop.call_at(due, self._sweep, loop)

    @property
    def idle(self) -> int:
        return len(self._idle)

    def close(self) -> None:
        """Close every idle connection (worker shutdown)."""
        for timer in (self._sweeper, self._trimmer):
            if timer is not None:
                timer.cancel()
        self._sweeper = self._trimmer = None
        while self._idle:
            _, conn = self._idle.popleft()
            conn.close()
