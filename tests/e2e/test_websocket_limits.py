"""WebSocket input a client can send to grow the server's memory is bounded: a ping flood
from a client that does not read (the pongs would pile up in the write queue: reading
pauses while the backlog is full and only the latest pong is kept), and one message sent as
many tiny or empty fragments (each frame counts at least 64 bytes against
``websocket_max_message_size``: 1009). Memory is the worker's VmRSS with a generous bound."""

from __future__ import annotations

import socket
import threading

import pytest
from websocket_fixtures import start_ws_server
from websocket_frames import BINARY, CONT, PING, PONG, TEXT, frame, open_websocket

MIB = 1024


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = start_ws_server(tmp_path_factory.mktemp("wslimits"))
    yield server
    server.stop()


def test_a_ping_flood_from_a_client_that_does_not_read_is_bounded(srv):
    with srv.connect() as sock:
        reader = open_websocket(sock)
        before = srv.rss_kib()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)  # less to read back
        batch = memoryview(frame(PING, b"p" * 125) * 2000)
        sock.settimeout(3)  # ends the flood once the server stops reading (the fix)
        sent = pos = 0
        try:
            while sent < 64 * 1024 * 1024:  # without the fix: ~80 MiB of queued pongs
                pos = 0
                while pos < len(batch):
                    pos += sock.send(batch[pos:])
                sent += len(batch)
        except TimeoutError:
            pass
        assert srv.rss_kib() - before < 32 * MIB
        sock.settimeout(30)
        rest = bytes(batch[pos : -(-pos // 131) * 131]) + frame(TEXT, b"still there")
        sender = threading.Thread(target=sock.sendall, args=(rest,))
        sender.start()  # reading resumes once the client reads
        # what comes back: pongs (and maybe the server's keepalive pings), then the echo;
        # scanned as raw bytes (tens of thousands of frames)
        pong = bytes((0x80 | PONG, 125)) + b"p" * 125
        echo = bytes((0x80 | TEXT, 11)) + b"still there"
        seen = reader.buf  # anything read with the handshake
        saw_pong = False
        while echo not in seen:
            chunk = sock.recv(1 << 20)
            assert chunk, "connection closed before the echo"
            seen = seen[-300:] + chunk
            saw_pong = saw_pong or pong in seen
        sender.join()
        assert saw_pong


def closes_with(srv, path: str, first: bytes, fragment: bytes, count: int) -> int | None:
    """Open ``path``, send ``first`` then ``fragment`` up to ``count`` times (until the
    server closes); the code of its close frame. Tens of thousands of tiny frames take
    the server seconds on a loaded machine, during which sendall blocks: a generous
    timeout, which only matters on failure."""
    with srv.connect(60) as sock:
        reader = open_websocket(sock, path)
        sock.sendall(first)
        batch = fragment * 10_000
        try:
            for _ in range(count // 10_000):
                sock.sendall(batch)
        except (BrokenPipeError, ConnectionResetError):
            pass
        _, close = reader.until_close()
        return close.close_code if close is not None else None


def test_endless_empty_fragments_close_with_1009(srv):
    code = closes_with(srv, "/ws", frame(BINARY, b"a", fin=False), frame(CONT, fin=False), 10**6)
    assert code == 1009


def test_empty_text_fragments_close_with_1009(srv):
    code = closes_with(srv, "/ws", frame(TEXT, b"a", fin=False), frame(CONT, fin=False), 10**6)
    assert code == 1009


def test_one_byte_fragments_are_bounded_by_the_limit(srv):
    before = srv.rss_kib()
    first = frame(BINARY, b"a", fin=False)
    code = closes_with(srv, "/ws-big", first, frame(CONT, b"b", fin=False), 4 * 10**6)
    assert code == 1009  # 4m limit: at most 64 Ki frames of one byte
    assert srv.rss_kib() - before < 32 * MIB


def test_a_message_of_large_fragments_up_to_the_limit_is_echoed(srv):
    payload = bytes(range(256)) * 256  # 64 KiB: the limit of /ws, in 64-byte fragments
    with srv.connect() as sock:
        reader = open_websocket(sock)
        chunks = [payload[i : i + 64] for i in range(0, len(payload), 64)]
        last = len(chunks) - 1
        frames = [frame(CONT if i else BINARY, c, fin=i == last) for i, c in enumerate(chunks)]
        sock.sendall(b"".join(frames))
        got = reader.read()
        assert got is not None and (got.opcode, got.payload) == (BINARY, payload)


def test_fragmented_text_is_reassembled(srv):
    text = "héllo wörld ✓".encode()
    with srv.connect() as sock:
        reader = open_websocket(sock)
        parts = [text[:2], text[2:7], text[7:]]  # splits inside multi-byte characters
        sock.sendall(
            frame(TEXT, parts[0], fin=False)
            + frame(CONT, parts[1], fin=False)
            + frame(CONT, parts[2])
        )
        got = reader.read()
        assert got is not None and (got.opcode, got.payload) == (TEXT, text)
