"""The ASGI ``websocket`` scope end to end with the ``websockets`` client: echo of text
and bytes, the scope, subprotocol and accept headers, close codes both ways, close before
accept (403), the denial-response extension, a failing app (1011), a Starlette route, and
messages well above the socket buffers."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from framework.testing import ServerProcess, read_response, wait_until

APPS = Path(__file__).resolve().parent.parent / "apps"

CONFIG = f"""
server {{
    listen 127.0.0.1:{{port}};
    asgi_app_dir {APPS};
    location /ws {{ asgi asgi_ws_apps:echo; asgi_root_path /ws; }}
    location /refuse {{ asgi asgi_ws_apps:refuse; }}
    location /deny {{ asgi asgi_ws_apps:deny; }}
    location /star/ {{ asgi asgi_ws_apps:starlette_app; }}
}}
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("asgi-ws")
    with ServerProcess(CONFIG, cwd=base) as server:
        yield server


def url(srv: ServerProcess, path: str) -> str:
    return f"ws://127.0.0.1:{srv.port}{path}"


def events(srv: ServerProcess) -> list[str]:
    log = Path(str(srv.cwd)) / "ws-events.log"
    return log.read_text().splitlines() if log.exists() else []


def test_echo_text_and_bytes(srv: ServerProcess) -> None:
    with connect(url(srv, "/ws/echo"), open_timeout=10) as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "hello"
        ws.send(b"\x00\x01\xff")
        assert ws.recv(timeout=10) == b"\x00\x01\xff"


def test_websocket_scope(srv: ServerProcess) -> None:
    with connect(url(srv, "/ws/chat/caf%C3%A9?room=1"), open_timeout=10) as ws:
        ws.send("scope")
        scope = json.loads(ws.recv(timeout=10))
    assert scope["type"] == "websocket"
    assert scope["scheme"] == "ws" and scope["http_version"] == "1.1"
    assert (scope["path"], scope["root_path"]) == ("/ws/chat/café", "/ws")
    assert scope["raw_path"] == "/ws/chat/caf%C3%A9"
    assert scope["query_string"] == "room=1"
    assert scope["subprotocols"] == []
    assert scope["extensions"] == {"websocket.http.response": {}}


def test_subprotocol_and_accept_headers(srv: ServerProcess) -> None:
    offered: list = ["chat.v2", "chat.v1"]
    with connect(url(srv, "/ws/p"), subprotocols=offered, open_timeout=10) as ws:
        assert ws.subprotocol == "chat.v2"
        assert ws.response is not None and ws.response.headers["x-accepted"] == "yes"


def test_large_messages_both_ways(srv: ServerProcess) -> None:
    payload = bytes(range(256)) * 2048  # 512 KiB, below the 1 MiB message limit
    with connect(url(srv, "/ws/big"), open_timeout=10, max_size=None) as ws:
        for _ in range(4):
            ws.send(payload)
            assert ws.recv(timeout=10) == payload


def test_client_close_code_reaches_the_app(srv: ServerProcess) -> None:
    with connect(url(srv, "/ws/c"), open_timeout=10) as ws:
        ws.send("x")
        ws.recv(timeout=10)
        ws.close(4001, "bye")
    assert wait_until(lambda: "disconnect 4001" in events(srv))


def test_app_close_code_reaches_the_client(srv: ServerProcess) -> None:
    with connect(url(srv, "/ws/c"), open_timeout=10) as ws:
        ws.send("close")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=10)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4000, "asked")


def test_failing_app_closes_with_1011(srv: ServerProcess) -> None:
    with connect(url(srv, "/ws/f"), open_timeout=10) as ws:
        ws.send("fail")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1011
    assert srv.wait_for_log("ws app failure")


def test_close_before_accept_is_403(srv: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(url(srv, "/refuse"), open_timeout=10)
    assert info.value.response.status_code == 403


def test_denial_response(srv: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(url(srv, "/deny"), open_timeout=10)
    assert info.value.response.status_code == 401
    assert info.value.response.body == b"no entry"


def test_invalid_handshake_is_refused_before_the_app(srv: ServerProcess) -> None:
    head = (
        b"GET /ws/echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"  # no Sec-WebSocket-Key
    )
    with srv.connect() as sock:
        sock.sendall(head)
        assert read_response(sock).status == 400


def test_starlette_websocket_route(srv: ServerProcess) -> None:
    with connect(url(srv, "/star/ws"), open_timeout=10) as ws:
        ws.send("hi")
        assert ws.recv(timeout=10) == "starlette: hi"
    assert wait_until(lambda: "starlette disconnect 1000" in events(srv))


def test_many_clients_at_once(srv: ServerProcess) -> None:
    with ExitStack() as stack:
        clients = [
            stack.enter_context(connect(url(srv, f"/ws/m{i}"), open_timeout=10)) for i in range(20)
        ]
        for i, ws in enumerate(clients):
            ws.send(f"m{i}")
        assert [ws.recv(timeout=10) for ws in clients] == [f"m{i}" for i in range(20)]


HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.mark.parametrize("read_101", [True, False], ids=["after-101", "before-101"])
@pytest.mark.parametrize("reset", [True, False], ids=["rst", "fin"])
def test_connection_lost_around_the_101_ends_the_app(
    srv: ServerProcess, reset: bool, read_101: bool
) -> None:
    path = f"/ws/lost-{'rst' if reset else 'fin'}-{'after' if read_101 else 'before'}"
    sock = srv.connect()
    try:
        sock.sendall(HANDSHAKE.format(path=path).encode())
        if read_101:
            assert read_response(sock, head_only=True).status == 101
        if reset:  # SO_LINGER 0: the close sends a RST
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()
    assert wait_until(lambda: f"ended {path} 1006" in events(srv))
