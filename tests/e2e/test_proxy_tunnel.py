"""Upgrade tunnelling through the proxy to a real WebSocket server (``websockets``): the
upstream's 101 is the client's, frames flow both ways (many, large), an abrupt client close
ends the upstream connection, and a location without nginx's Upgrade recipe does not
tunnel."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
import websockets
from proxy_fixtures import STARTUP_TIMEOUT, Backend

from framework.testing import ServerProcess, wait_until

CONFIG = """
server {
    listen 127.0.0.1:{port};
    location /ws {
        proxy_pass http://127.0.0.1:WS;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
    }
    location /no-upgrade { proxy_pass http://127.0.0.1:WS; }
}
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Backend]]:
    base = tmp_path_factory.mktemp("proxy-tunnel")
    backend = Backend("one", ws=True).start()
    server = None
    try:
        server = ServerProcess(
            CONFIG.replace("WS", str(backend.ws_port)), cwd=base, startup_timeout=STARTUP_TIMEOUT
        ).start()
        yield server, backend
    finally:
        if server is not None:
            server.stop()
        backend.stop()


def test_websocket_echo_through_the_tunnel(proxy: tuple[ServerProcess, Backend]) -> None:
    server, _ = proxy

    async def session() -> None:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws", max_size=None) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            big = bytes(range(256)) * 8192  # 2 MiB: many reads and writes each way
            await ws.send(big)
            assert await ws.recv() == big
            for i in range(200):
                await ws.send(f"m{i}")
            assert [await ws.recv() for _ in range(200)] == [f"m{i}" for i in range(200)]

    asyncio.run(session())


def test_many_clients_at_once(proxy: tuple[ServerProcess, Backend]) -> None:
    server, _ = proxy

    async def one(n: int) -> str:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
            await ws.send(f"client {n}")
            return str(await ws.recv())

    async def run() -> list[str]:
        return await asyncio.gather(*(one(n) for n in range(30)))

    assert asyncio.run(run()) == [f"client {n}" for n in range(30)]


def test_abrupt_client_close_ends_the_upstream_connection(
    proxy: tuple[ServerProcess, Backend],
) -> None:
    server, backend = proxy
    baseline = backend.stats()["ws_open"]
    sock = server.connect()
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"\r\nConnection: upgrade" in head.replace(b"Upgrade\r", b"upgrade\r")
    assert wait_until(lambda: backend.stats()["ws_open"] == baseline + 1)
    sock.close()  # no close frame
    assert wait_until(lambda: backend.stats()["ws_open"] == baseline)


def test_no_tunnel_without_the_upgrade_headers(proxy: tuple[ServerProcess, Backend]) -> None:
    server, _ = proxy

    async def attempt() -> None:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/no-upgrade"):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(attempt())


def test_a_client_that_does_not_read_pauses_the_tunnel(
    proxy: tuple[ServerProcess, Backend],
) -> None:
    server, _ = proxy
    sock = server.connect(timeout=10)
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert sock.recv(65536).startswith(b"HTTP/1.1 101 ")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    payload = b"p" * (1 << 20)
    # a masked binary frame (mask 0): the echo server sends each one back, we read none
    frame = b"\x82\xff" + len(payload).to_bytes(8, "big") + b"\0\0\0\0" + payload
    before = server.rss_kib()
    pushed = 0
    sock.settimeout(5)  # a stall detector: the pushing stops when the tunnel pauses
    try:
        while pushed < 400 * len(frame):
            sock.sendall(frame)
            pushed += len(frame)
    except TimeoutError:
        pass
    grown = server.rss_kib() - before
    print(f"pushed {pushed >> 20} MiB before the tunnel paused, RSS +{grown} KiB")
    sock.close()
    # the echo comes back to a client that reads nothing: the proxy stops reading the
    # upstream, the upstream stops reading, and the proxy stops reading the client
    assert pushed < 200 * len(frame), pushed
    assert grown < 32 * 1024, grown
