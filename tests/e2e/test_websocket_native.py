"""WebSocket sessions of native handlers (``request.accept_websocket``) end to end, with the
``websockets`` client and raw sockets: echo, subprotocols and extra headers, permessage-
deflate, the handshake's 400/426 answers, location access rules (deny, auth_basic) applying
to the handshake, the close codes of the application (4000, 1011), the idle timeout and
server pings, wss over TLS, abrupt client closes and backpressure."""

from __future__ import annotations

import base64
import socket
import ssl
import struct
import time
from pathlib import Path

import pytest
from websocket_fixtures import start_ws_server
from websocket_frames import (
    PING,
    PONG,
    TEXT,
    close_frame,
    frame,
    handshake_request,
    open_websocket,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from framework.testing import ResponseReader, read_until_close, wait_until


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = start_ws_server(tmp_path_factory.mktemp("ws-native"))
    yield server
    server.stop()


def url(srv, path: str = "/ws") -> str:
    return f"ws://127.0.0.1:{srv.port}{path}"


def test_echo_text_and_binary_with_subprotocol_and_extra_header(srv):
    with connect(url(srv), subprotocols=["other", "echo.v1"], compression=None) as ws:
        assert ws.subprotocol == "echo.v1"
        assert ws.response.headers["X-Ws"] == "1"
        ws.send("héllo")
        assert ws.recv() == "héllo"
        ws.send(b"\x00\xffbin")
        assert ws.recv() == b"\x00\xffbin"
        ws.send(["frag", "ment", "ed"])  # one message in three frames
        assert ws.recv() == "fragmented"
        ws.send("info")
        assert ws.recv() == "echo.v1|"


def test_no_subprotocol_when_none_is_acceptable(srv):
    with connect(url(srv), subprotocols=["chat"], compression=None) as ws:
        ws.send("info")
        assert ws.recv() == "None|"


def test_permessage_deflate_is_negotiated_and_used(srv):
    with connect(url(srv)) as ws:  # websockets offers permessage-deflate by default
        assert ws.response.headers["Sec-WebSocket-Extensions"].startswith("permessage-deflate")
        text = "compress me " * 5000  # 60 kB, compressed to far less
        ws.send(text)
        assert ws.recv() == text


def test_deflate_bomb_is_stopped_at_the_limit(srv):
    """A small compressed message that inflates past websocket_max_message_size gets 1009."""
    with connect(url(srv)) as ws:
        ws.send(b"\0" * (1024 * 1024))  # compresses to about 1 kB
        with pytest.raises(ConnectionClosed) as info:
            ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


def test_large_messages_up_to_the_location_limit(srv):
    payload = bytes(range(256)) * (4 * 1024 * 1024 // 256)
    with connect(url(srv, "/ws-big"), compression=None, max_size=None) as ws:
        ws.send(payload)
        assert ws.recv() == payload
        # The server may close with 1009 while the client is still writing the
        # oversized frame, so the close can surface from send() or from recv().
        with pytest.raises(ConnectionClosed) as info:
            ws.send(payload + b"x")
            ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


def raw_status(srv, data: bytes) -> tuple[int, dict[str, str]]:
    with srv.connect() as sock:
        sock.sendall(data)
        response = ResponseReader(sock).read()
    return response.status, {k.lower(): v for k, v in response.headers}


def test_handshake_errors(srv):
    status, headers = raw_status(srv, handshake_request(version="8"))
    assert (status, headers.get("sec-websocket-version")) == (426, "13")
    no_version = handshake_request().replace(b"Sec-WebSocket-Version: 13\r\n", b"")
    assert raw_status(srv, no_version)[0] == 426
    bad_key = handshake_request().replace(b"MDEyMzQ1Njc4OWFiY2RlZg==", b"c2hvcnQ=")
    assert raw_status(srv, bad_key)[0] == 400
    two_keys = handshake_request(extra="Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\n")
    assert raw_status(srv, two_keys)[0] == 400
    status, headers = raw_status(srv, b"GET /ws HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (status, headers.get("upgrade")) == (426, "websocket")
    http10 = handshake_request().replace(b"HTTP/1.1", b"HTTP/1.0")
    assert raw_status(srv, http10)[0] == 400


def test_a_failed_handshake_keeps_the_connection_for_the_next_request(srv):
    with srv.connect() as sock:
        sock.sendall(
            handshake_request(version="8") + b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        reader = ResponseReader(sock)
        first, second = reader.read(), reader.read()
    assert (first.status, second.status, second.body) == (426, 200, b"home\n")


def test_location_access_rules_apply_to_the_handshake(srv):
    with pytest.raises(InvalidStatus) as denied:
        connect(url(srv, "/ws-denied"))
    assert denied.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as anonymous:
        connect(url(srv, "/ws-auth"))
    assert anonymous.value.response.status_code == 401
    auth = "Basic " + base64.b64encode(b"alice:secret").decode()
    with connect(url(srv, "/ws-auth"), additional_headers={"Authorization": auth}) as ws:
        ws.send("info")
        assert ws.recv() == "None|alice"


def test_application_close_and_failure_codes(srv):
    with connect(url(srv)) as ws:
        ws.send("close-me")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv()
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4000, "asked")
    with connect(url(srv)) as ws:
        ws.send("boom")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1011
    assert srv.wait_for_log("WebSocket session of /ws failed")


def test_close_from_another_task_while_receive_waits(srv):
    log = Path(str(srv.cwd)) / "access.log"
    with connect(url(srv, "/ws?close-later=1"), compression=None) as ws:
        ws.send("close-later")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 4001
    # the session's receive() ended too: its run returned and was logged
    assert wait_until(lambda: '"GET /ws?close-later=1 HTTP/1.1" 101 ' in log.read_text())


def test_idle_timeout_closes_with_1001(srv):
    with srv.connect() as sock:
        reader = open_websocket(sock, "/ws-idle")
        _, close = reader.until_close()  # nothing sent: the server closes after 1s
        assert close is not None and close.close_code == 1001
        sock.sendall(close_frame(1001))
        assert reader.eof()


def test_server_pings_keep_an_answering_client_alive(srv):
    """/ws-ping: pings every 500ms, idle timeout 2s. A client that answers four pings
    (two seconds and more) is still served; its pongs are activity."""
    with srv.connect() as sock:
        reader = open_websocket(sock, "/ws-ping")
        for _ in range(4):
            got = reader.read()
            assert got is not None and got.opcode == PING
            sock.sendall(frame(PONG, got.payload))
        sock.sendall(frame(TEXT, b"still here"))
        while (got := reader.read()) is not None and got.opcode == PING:
            pass
        assert got is not None and (got.opcode, got.payload) == (TEXT, b"still here")


def test_wss_over_tls(srv):
    ctx = ssl.create_default_context(cafile=str(Path(str(srv.cwd)) / "site.pem"))
    with connect(f"wss://localhost:{srv.tls_port}/ws", ssl=ctx, max_size=None) as ws:
        ws.send("secure")
        assert ws.recv() == "secure"
        big = b"y" * 60_000
        ws.send(big)
        assert ws.recv() == big


@pytest.mark.parametrize("how", ["reset", "fin"])
def test_abrupt_client_close_cleans_up(srv, how):
    srv.get("/index.html")
    before = srv.open_fds()
    for _ in range(10):
        sock = srv.connect()
        reader = open_websocket(sock)
        sock.sendall(frame(TEXT, b"x" * 1000, fin=False))  # in the middle of a message
        if how == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_WR)
            reader.until_close()  # the server answers the FIN: close frame (or just EOF)
        sock.close()
    assert wait_until(lambda: srv.open_fds() <= before)
    assert srv.get("/index.html").status == 200


def test_the_access_log_has_the_101_line_when_the_session_ends(srv):
    log = Path(str(srv.cwd)) / "access.log"
    with connect(url(srv, "/ws?logged=1"), compression=None) as ws:
        ws.send("12345")
        assert ws.recv() == "12345"
    assert wait_until(lambda: '"GET /ws?logged=1 HTTP/1.1" 101 ' in log.read_text())


def test_a_client_that_does_not_read_is_held_back_with_bounded_memory(srv):
    """The client sends echo requests and never reads the echoes: the session's send waits,
    so it stops receiving, so the server stops reading; the client's sends block."""
    rss_before = srv.rss_kib()
    with srv.connect() as sock:
        open_websocket(sock)
        sock.setblocking(False)
        message = frame(TEXT, b"m" * 16_000)
        sent, stalled_since, rest = 0, None, b""
        while sent < 512 * 1024 * 1024:
            try:
                rest = rest or message  # a partial send goes on with the same frame
                n = sock.send(rest)
                rest = rest[n:]
                sent += n
                stalled_since = None
            except BlockingIOError:
                now = time.monotonic()
                stalled_since = stalled_since or now
                if now - stalled_since > 1.0:
                    break
                time.sleep(0.01)
        assert sent < 128 * 1024 * 1024
        assert srv.rss_kib() - rss_before < 64 * 1024
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_graceful_stop_closes_sessions_with_1001(tmp_path):
    srv = start_ws_server(tmp_path)
    try:
        with srv.connect() as sock:
            reader = open_websocket(sock)
            sock.sendall(frame(TEXT, b"ready"))
            got = reader.read()
            assert got is not None and got.payload == b"ready"
            srv.proc.send_signal(15)  # type: ignore[union-attr]
            _, close = reader.until_close()
            assert close is not None and close.close_code == 1001
            sock.sendall(close_frame(1001))
            assert read_until_close(sock) == b""
        assert srv.proc.wait(10) == 0  # type: ignore[union-attr]
    finally:
        srv.stop()
