"""A WebSocket chat (the ``ws_chat`` plugin: every message to every member with
``send_nowait``): fifty clients each get every message; a member that never reads is dropped
once it is more than ``SEND_BACKLOG_LIMIT`` behind (after the kernel's buffers), without
stalling the others or growing the server's memory; members that leave abruptly are gone
from the room."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from websocket_fixtures import start_ws_server
from websocket_frames import TEXT, frame, open_websocket
from websockets.asyncio.client import ClientConnection, connect

from framework.testing import wait_until

CLIENTS = 50


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = start_ws_server(tmp_path_factory.mktemp("ws-chat"))
    yield server
    server.stop()


async def members(ws: ClientConnection, expected: int) -> None:
    """Wait until the room has ``expected`` members (asked with ``count``)."""
    for _ in range(200):
        await ws.send("count")
        while True:
            answer = await asyncio.wait_for(ws.recv(), 10)
            if isinstance(answer, str) and answer.isdigit():
                break
        if int(answer) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the room never had {expected} members")


def test_fifty_clients_each_get_every_message(srv):
    async def main() -> None:
        url = f"ws://127.0.0.1:{srv.port}/chat"
        clients = [await connect(url, compression=None) for _ in range(CLIENTS)]
        try:
            await members(clients[0], CLIENTS)
            for i, ws in enumerate(clients):
                await ws.send(f"hello from {i}")
            expected = {f"hello from {i}" for i in range(CLIENTS)}

            async def collect(ws: ClientConnection) -> set[str]:
                got: set[str] = set()
                while got != expected:
                    message = await asyncio.wait_for(ws.recv(), 10)
                    if isinstance(message, str) and message.startswith("hello"):
                        got.add(message)
                return got

            results = await asyncio.gather(*(collect(ws) for ws in clients))
            assert all(r == expected for r in results)
        finally:
            await asyncio.gather(*(ws.close() for ws in clients))

    asyncio.run(main())


def test_a_client_that_never_reads_is_dropped_without_stalling_the_others(srv):
    rss_before = srv.rss_kib()
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.settimeout(10)
    slow.connect(("127.0.0.1", srv.port))
    open_websocket(slow, "/chat")
    payload = "x" * 65536

    async def main() -> None:
        url = f"ws://127.0.0.1:{srv.port}/chat"
        fast = [await connect(url, compression=None, max_size=None) for _ in range(3)]
        try:
            await members(fast[0], 4)

            async def receive_all(ws: ClientConnection) -> None:
                n = 0
                while n < 300:  # everything, in order
                    message = str(await asyncio.wait_for(ws.recv(), 10))
                    if not message.isdigit():
                        assert message.startswith(f"{n}:")
                        n += 1

            readers = [asyncio.create_task(receive_all(ws)) for ws in fast[1:]]
            for n in range(300):  # 19 MiB to each member, paced by the sender's own copy
                await fast[0].send(f"{n}:" + payload)
                while not str(await asyncio.wait_for(fast[0].recv(), 10)).startswith(f"{n}:"):
                    pass
            await asyncio.gather(*readers)
            await members(fast[0], 3)  # the slow one was dropped
        finally:
            await asyncio.gather(*(ws.close() for ws in fast))

    try:
        asyncio.run(main())
    finally:
        slow.close()
    assert srv.wait_for_log("dropped: more than")
    assert srv.rss_kib() - rss_before < 64 * 1024


def test_members_that_vanish_leave_the_room(srv):
    async def main() -> None:
        url = f"ws://127.0.0.1:{srv.port}/chat"
        watcher = await connect(url, compression=None)
        try:
            await members(watcher, 1)
            socks = []
            for _ in range(6):
                sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                open_websocket(sock, "/chat")
                socks.append(sock)
            await members(watcher, 7)
            for i, sock in enumerate(socks):
                if i % 2:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    sock.sendall(frame(TEXT, b"half a", fin=False))
                    sock.shutdown(socket.SHUT_WR)
                sock.close()
            await members(watcher, 1)
        finally:
            await watcher.close()

    asyncio.run(main())
    assert wait_until(lambda: srv.get("/index.html").status == 200)
