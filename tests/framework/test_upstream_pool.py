"""The upstream keep-alive pool and connect against real sockets: a burst of answers above
``keepalive`` does not close the excess at once (the next burst reuses it), the excess is
closed after the grace, and connecting uses no thread (uvloop's ``sock_connect`` resolved
the address in libuv's thread pool)."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from framework.upstream import pool as pool_module
from framework.upstream.balancer import group_for_host
from framework.upstream.connection import UpstreamConnection
from framework.upstream.pool import ConnectionPool


async def _burst(keepalive: int, size: int) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    accepted: list[socket.socket] = []
    loop = asyncio.get_running_loop()
    loop.add_reader(listener.fileno(), lambda: accepted.append(listener.accept()[0]))
    group = group_for_host("127.0.0.1", listener.getsockname()[1])
    group.keepalive = keepalive
    pool = ConnectionPool(group)
    peer = group.peers[0]
    try:
        conns = [await pool.connect(peer, connect_timeout=10, send_timeout=10) for _ in range(size)]
        for conn in conns:  # the answers of a burst come back in one pass
            pool.release(peer, conn)
        assert pool.idle == size  # the excess is kept for the next burst
        again = [pool.take(peer) for _ in range(size)]
        assert {id(c) for c in again} == {id(c) for c in conns}
        assert pool.opened == size
        for conn in reversed(conns):  # conns[0] is now the most recently used
            pool.release(peer, conn)
        deadline = loop.time() + 10
        while pool.idle > keepalive and loop.time() < deadline:
            await asyncio.sleep(0.01)
        assert pool.idle == keepalive  # after the grace, keepalive N idle as in nginx
        assert [c.closed for c in conns] == [False] * keepalive + [True] * (size - keepalive)
    finally:
        pool.close()
        loop.remove_reader(listener.fileno())
        for sock in [*accepted, listener]:
            sock.close()


def test_excess_idle_connections_outlive_a_burst_then_are_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool_module, "EXCESS_GRACE", 0.05)
    asyncio.run(_burst(keepalive=2, size=6))


def test_connect_refused_is_an_oserror() -> None:
    port = socket.create_server(("127.0.0.1", 0))
    address = (socket.AF_INET, port.getsockname())
    port.close()  # nothing listens there now

    async def main() -> None:
        with pytest.raises(OSError) as info:
            await UpstreamConnection.open(address, connect_timeout=10, send_timeout=10)
        assert info.value.errno == errno.ECONNREFUSED

    asyncio.run(main())


SCRIPT = """
import asyncio, os, socket, sys
import uvloop
from framework.upstream.connection import UpstreamConnection

async def main():
    listener = socket.create_server(("127.0.0.1", 0))
    address = (socket.AF_INET, listener.getsockname())
    conns = [
        await UpstreamConnection.open(address, connect_timeout=10, send_timeout=10)
        for _ in range(3)
    ]
    print(len(os.listdir("/proc/self/task")))
    for conn in conns:
        conn.close()
    listener.close()

uvloop.run(main())
"""


def test_connect_under_uvloop_starts_no_thread() -> None:
    pytest.importorskip("uvloop")
    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs /proc")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    assert out.stdout.strip() == "1", out.stderr
