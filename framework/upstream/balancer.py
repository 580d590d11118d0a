"""Peer selection for one upstream group, per worker, as nginx does it.

- Weighted round-robin is nginx's smooth variant: every pick adds each candidate's weight
  to its ``current`` score, takes the highest and subtracts the total from it, so
  ``weight=2`` and ``weight=1`` give A A B spread out (A B A), not bursts.
- ``least_conn``: the fewest active requests relative to weight, ties broken by the
  weighted round-robin.
- Passive health: a failed attempt counts against the peer; ``max_fails`` failures mark it
  unavailable for ``fail_timeout`` (``max_fails=0`` never marks it). After that time it is
  tried again; a success clears the count. A group of one server is never marked down.
- ``backup`` servers are used only when no primary server is available. When nothing is
  available the request fails with 502 ("no live upstreams"), as in nginx.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from framework.config.directives_proxy import Upstream, UpstreamServer
from framework.upstream.connection import Address


@dataclass(eq=False)
class Peer:
    """One upstream address (a server whose name resolves to two addresses is two peers)."""

    name: str  # host:port as written, for logs
    address: Address
    weight: int = 1
    max_fails: int = 1
    fail_timeout: float = 10.0
    backup: bool = False
    down: bool = False
    fails: int = 0
    failed_at: float = 0.0
    current: int = 0
    active: int = 0  # requests in flight (least_conn)

    def available(self, now: float, single: bool) -> bool:
        if self.down:
            return False
        if single or self.max_fails == 0 or self.fails < self.max_fails:
            return True
        return now - self.failed_at >= self.fail_timeout


@dataclass(eq=False)
class PeerGroup:
    """The peers of one upstream (or of one ``proxy_pass http://host:port``)."""

    name: str
    peers: list[Peer]
    least_conn: bool = False
    keepalive: int = 0
    keepalive_timeout: float = 60.0
    keepalive_requests: int = 1000
    _single: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self._single = len([p for p in self.peers if not p.backup]) == 1 and not any(
            p.backup for p in self.peers
        )

    def pick(self, tried: set[Peer]) -> Peer | None:
        """The peer for the next attempt, not one of ``tried``; None when none is left."""
        if self._single:
            only = self.peers[0]
            return None if only in tried or only.down else only
        now = time.monotonic()
        for backup in (False, True):
            candidates = [
                p
                for p in self.peers
                if p.backup is backup and p not in tried and p.available(now, self._single)
            ]
            if candidates:
                return self._choose(candidates)
        return None

    def _choose(self, candidates: list[Peer]) -> Peer:
        if len(candidates) == 1:
            return candidates[0]
        if self.least_conn:
            least = min(p.active / p.weight for p in candidates)
            candidates = [p for p in candidates if p.active / p.weight == least]
            if len(candidates) == 1:
                return candidates[0]
        total = 0
        best = candidates[0]
        for peer in candidates:
            peer.current += peer.weight
            total += peer.weight
            if peer.current > best.current:
                best = peer
        best.current -= total
        return best

    def failed(self, peer: Peer) -> None:
        """An attempt on ``peer`` failed (connect error, timeout, invalid answer)."""
        peer.fails += 1
        peer.failed_at = time.monotonic()

    def succeeded(self, peer: Peer) -> None:
        peer.fails = 0

    @property
    def tries(self) -> int:
        """Attempts a request may make: each peer once."""
        return len(self.peers)


def resolve(host: str, port: int) -> list[Address]:
    """The addresses of ``host`` (an IP literal or a name, resolved now: blocking, which
    is why it is done when a worker builds its handlers, as nginx resolves at startup)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: dict[tuple, Address] = {}
    for family, _, _, _, sockaddr in infos:
        seen.setdefault(sockaddr[:2], (family, sockaddr))
    return list(seen.values())


def _peers(server: UpstreamServer) -> Iterable[Peer]:
    for address in resolve(server.host, server.port):
        yield Peer(
            name=server.address,
            address=address,
            weight=server.weight,
            max_fails=server.max_fails,
            fail_timeout=server.fail_timeout,
            backup=server.backup,
            down=server.down,
        )


def group_for_upstream(upstream: Upstream) -> PeerGroup:
    """The peer group of an ``upstream`` block (names resolved now)."""
    peers = [peer for server in upstream.servers for peer in _peers(server)]
    return PeerGroup(
        upstream.name,
        peers,
        least_conn=upstream.least_conn,
        keepalive=upstream.keepalive,
        keepalive_timeout=upstream.keepalive_timeout,
        keepalive_requests=upstream.keepalive_requests,
    )


def group_for_host(host: str, port: int) -> PeerGroup:
    """The implicit group of ``proxy_pass http://host:port`` (every address of the name;
    no keep-alive, as nginx without an ``upstream`` block)."""
    server = UpstreamServer(host=host, port=port)
    return PeerGroup(server.address, list(_peers(server)))
