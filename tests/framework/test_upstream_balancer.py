"""Peer selection: nginx's smooth weighted round-robin, least_conn, backup servers and
passive health (max_fails within fail_timeout; a single server is never marked down)."""

from __future__ import annotations

import socket
from collections import Counter

from framework.config.directives_proxy import Upstream, UpstreamServer
from framework.upstream.balancer import Peer, PeerGroup, group_for_upstream


def peer(name: str, **kw: object) -> Peer:
    return Peer(name=name, address=(socket.AF_INET, ("127.0.0.1", 1)), **kw)  # type: ignore[arg-type]


def picks(group: PeerGroup, count: int) -> list[str]:
    out = []
    for _ in range(count):
        chosen = group.pick(set())
        assert chosen is not None
        out.append(chosen.name)
    return out


def test_smooth_weighted_round_robin_is_nginx_order() -> None:
    group = PeerGroup("g", [peer("a", weight=5), peer("b"), peer("c")])
    # nginx's documented sequence for weights 5, 1, 1
    assert picks(group, 7) == ["a", "a", "b", "a", "c", "a", "a"]


def test_weights_over_many_picks() -> None:
    group = PeerGroup("g", [peer("a", weight=3), peer("b", weight=2), peer("c")])
    assert Counter(picks(group, 600)) == {"a": 300, "b": 200, "c": 100}


def test_least_conn_prefers_the_idle_peer() -> None:
    a, b = peer("a"), peer("b")
    group = PeerGroup("g", [a, b], least_conn=True)
    a.active = 3
    assert picks(group, 3) == ["b", "b", "b"]
    b.active = 3
    assert set(picks(group, 4)) == {"a", "b"}  # a tie: round-robin


def test_tried_peers_are_skipped_and_backup_comes_last() -> None:
    a, b, spare = peer("a"), peer("b"), peer("spare", backup=True)
    group = PeerGroup("g", [a, b, spare])
    assert group.pick({a}) is b
    assert group.pick({a, b}) is spare
    assert group.pick({a, b, spare}) is None
    assert group.tries == 3


def test_max_fails_marks_a_peer_down_for_fail_timeout() -> None:
    a, b = peer("a", max_fails=2, fail_timeout=30), peer("b")
    group = PeerGroup("g", [a, b])
    group.failed(a)
    assert "a" in picks(group, 2)  # one failure of two allowed
    group.failed(a)
    assert set(picks(group, 4)) == {"b"}
    a.failed_at -= 31  # fail_timeout elapsed: tried again
    assert "a" in picks(group, 2)
    group.succeeded(a)
    assert a.fails == 0


def test_max_fails_zero_never_marks_down_and_down_is_never_used() -> None:
    a, b = peer("a", max_fails=0), peer("b", down=True)
    group = PeerGroup("g", [a, b])
    for _ in range(5):
        group.failed(a)
    assert picks(group, 3) == ["a", "a", "a"]


def test_a_single_server_is_never_marked_down() -> None:
    only = peer("only")
    group = PeerGroup("g", [only])
    for _ in range(5):
        group.failed(only)
    assert group.pick(set()) is only


def test_everything_down_is_no_live_upstreams() -> None:
    a, b = peer("a"), peer("b")
    group = PeerGroup("g", [a, b])
    group.failed(a)
    group.failed(b)
    assert group.pick(set()) is None


def test_group_of_an_upstream_resolves_names() -> None:
    upstream = Upstream(
        name="u",
        servers=[UpstreamServer(host="127.0.0.1", port=8001, weight=2),
                 UpstreamServer(host="localhost", port=8002, backup=True)],
        keepalive=4,
    )  # fmt: skip
    group = group_for_upstream(upstream)
    assert group.keepalive == 4
    assert group.peers[0].address == (socket.AF_INET, ("127.0.0.1", 8001))
    assert group.peers[0].weight == 2
    assert all(p.backup for p in group.peers[1:]) and len(group.peers) >= 2
