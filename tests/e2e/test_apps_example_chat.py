"""examples/apps/chat: the page is served, every message reaches every client, a client
that leaves abruptly is announced, and a client that stops reading does not hold the room
up (it is dropped with close code 1008)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from pathlib import Path

from websockets.sync.client import ClientConnection, connect
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request

from framework.testing import ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "apps" / "chat"


def start(serve: Callable[..., ServerProcess], tmp_path: Path) -> ServerProcess:
    site = tmp_path / "chat"
    shutil.copytree(EXAMPLE, site, ignore=shutil.ignore_patterns("__pycache__"))
    conf = site / "webserv.conf"
    text = conf.read_text().replace("127.0.0.1:8082", "127.0.0.1:{port}")
    # a session the server failed to end would cost the teardown 30 s, not 2
    return serve("shutdown_timeout 2s;\n" + text, cwd=site, startup_timeout=30)


def join(srv: ServerProcess, name: str) -> ClientConnection:
    url = f"ws://127.0.0.1:{srv.port}/ws?name={name}"
    return connect(url, open_timeout=10, legacy=True)  # type: ignore[call-arg]


def until(ws: ClientConnection, expected: str) -> list[str]:
    """Messages up to and including ``expected`` (10 s per message)."""
    seen: list[str] = []
    while not seen or seen[-1] != expected:
        seen.append(str(ws.recv(timeout=10)))
    return seen


def test_the_page_is_served_and_messages_reach_everyone(serve, tmp_path):
    srv = start(serve, tmp_path)
    page = srv.get("/")
    assert page.status == 200 and b"new WebSocket(" in page.body

    alice = join(srv, "alice")
    until(alice, "* alice joined")
    bob = join(srv, "bob")
    until(alice, "* bob joined")
    until(bob, "* bob joined")
    carol = join(srv, "carol")
    for ws in (alice, bob, carol):
        until(ws, "* carol joined")

    alice.send("hello room")
    for ws in (alice, bob, carol):
        assert until(ws, "alice: hello room")[-1] == "alice: hello room"

    carol.socket.setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
    )
    carol.socket.close()  # no close frame: a reset
    until(alice, "* carol left")
    until(bob, "* carol left")
    alice.close()
    until(bob, "* alice left")
    bob.close()


def raw_client(srv: ServerProcess, name: str) -> tuple[socket.socket, WSConnection]:
    """A WebSocket client with a tiny receive buffer that reads nothing after the 101."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", srv.port))
    ws = WSConnection(ConnectionType.CLIENT)
    sock.sendall(ws.send(Request(host=f"127.0.0.1:{srv.port}", target=f"/ws?name={name}")))
    while True:
        ws.receive_data(sock.recv(1))  # byte by byte: read nothing past the handshake
        if any(isinstance(event, AcceptConnection) for event in ws.events()):
            return sock, ws


def test_a_client_that_stops_reading_is_dropped_and_does_not_hold_the_room_up(serve, tmp_path):
    srv = start(serve, tmp_path)
    fast = join(srv, "fast")
    until(fast, "* fast joined")
    slow_sock, slow = raw_client(srv, "slow")
    until(fast, "* slow joined")

    big = "x" * 60_000
    for i in range(300):  # about 18 MB to every client: far more than the slow one buffers
        fast.send(f"{i} {big}")
        assert str(fast.recv(timeout=10)) == f"fast: {i} {big}"

    codes = []
    while True:  # the slow client reads now: what was buffered, then its close frame
        try:
            data = slow_sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        slow.receive_data(data)
        codes += [e.code for e in slow.events() if isinstance(e, CloseConnection)]
        if codes:
            break
    assert codes == [1008]
    slow_sock.sendall(slow.send(CloseConnection(code=1008)))
    slow_sock.close()
    until(fast, "* slow left")  # the app's receive loop ended: the server let it go
    fast.close()
