"""Keep-alive pools: idle upstream connections kept per upstream group, per worker.

nginx's ``keepalive N`` is the number of idle connections the group's cache holds in each
worker (the most recently used are kept). A connection goes back only after a complete
response that allows keep-alive; while idle, any byte or EOF from the upstream closes it;
after ``keepalive_timeout`` idle or ``keepalive_requests`` requests it is closed.
"""

from __future__ import annotations

import asyncio
from collections import deque

from framework.upstream.balancer import Peer, PeerGroup
from framework.upstream.connection import UpstreamConnection


class ConnectionPool:
    """Idle connections of one ``PeerGroup`` (at most ``group.keepalive``)."""

    def __init__(self, group: PeerGroup) -> None:
        self.group = group
        self._idle: deque[tuple[Peer, UpstreamConnection, asyncio.TimerHandle]] = deque()
        self.opened = 0  # connections opened so far (tests and benchmarks look at it)

    def take(self, peer: Peer) -> UpstreamConnection | None:
        """The most recently used idle connection to ``peer``, or None."""
        for index in range(len(self._idle) - 1, -1, -1):
            owner, conn, timer = self._idle[index]
            if owner is not peer:
                continue
            del self._idle[index]
            timer.cancel()
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
        conn.incoming.wake()
        loop = conn.loop
        timer = loop.call_later(group.keepalive_timeout, self._expire, conn)
        self._idle.append((peer, conn, timer))
        while len(self._idle) > group.keepalive:
            _, oldest, old_timer = self._idle.popleft()
            old_timer.cancel()
            oldest.close()

    def _forget(self, conn: UpstreamConnection) -> None:
        for index, (_, idle, timer) in enumerate(self._idle):
            if idle is conn:
                timer.cancel()
                del self._idle[index]
                return

    def _expire(self, conn: UpstreamConnection) -> None:
        self._forget(conn)
        conn.close()

    @property
    def idle(self) -> int:
        return len(self._idle)

    def close(self) -> None:
        """Close every idle connection (worker shutdown)."""
        while self._idle:
            _, conn, timer = self._idle.popleft()
            timer.cancel()
            conn.close()
