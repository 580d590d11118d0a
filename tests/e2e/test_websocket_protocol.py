"""Autobahn-style protocol cases (the classes wsproto's own tests cover) with raw frames
against the native echo: every violation is answered with a close frame of the right code
(1002 protocol error, 1007 invalid payload, 1009 too big) and the TCP connection is closed;
valid edge cases (interleaved control frames, fragmented messages, payloads at 125 bytes,
close codes) behave. Run on asyncio and uvloop."""

from __future__ import annotations

import struct

import pytest
from websocket_fixtures import start_ws_server
from websocket_frames import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    PONG,
    TEXT,
    close_frame,
    frame,
    open_websocket,
)


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def srv(request, tmp_path_factory):
    server = start_ws_server(tmp_path_factory.mktemp(f"wsproto-{request.param}"), request.param)
    yield server
    server.stop()


def closed_with(srv, *frames: bytes) -> int | None:
    """Send ``frames`` after the handshake; the code of the server's close frame, once
    the server has closed the TCP connection too."""
    with srv.connect() as sock:
        reader = open_websocket(sock)
        sock.sendall(b"".join(frames))
        _, close = reader.until_close()
        assert close is not None, "no close frame"
        assert reader.eof()
        return close.close_code


BAD_CLOSE_CODES = (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000)

VIOLATIONS = {
    "rsv1_without_extension": [frame(TEXT, b"hi", rsv=4)],
    "rsv2": [frame(TEXT, b"hi", rsv=2)],
    "rsv3_on_ping": [frame(PING, b"", rsv=1)],
    "reserved_data_opcode_3": [frame(0x3)],
    "reserved_data_opcode_7": [frame(0x7, b"x")],
    "reserved_control_opcode_b": [frame(0xB)],
    "reserved_control_opcode_f": [frame(0xF, b"x")],
    "fragmented_ping": [frame(PING, b"a", fin=False), frame(CONT, b"b")],
    "fragmented_close": [frame(CLOSE, struct.pack("!H", 1000), fin=False)],
    "ping_payload_126": [frame(PING, b"x" * 126)],
    "close_payload_126": [frame(CLOSE, struct.pack("!H", 1000) + b"x" * 124)],
    "continuation_without_start": [frame(CONT, b"x")],
    "final_continuation_without_start": [frame(CONT, b"x", fin=True)],
    "text_inside_fragmented_text": [frame(TEXT, b"a", fin=False), frame(TEXT, b"b")],
    "binary_inside_fragmented_binary": [frame(BINARY, b"a", fin=False), frame(BINARY, b"b")],
    "unmasked_client_frame": [frame(TEXT, b"hello", mask=False)],
    "close_payload_one_byte": [frame(CLOSE, b"\x03")],
    "non_minimal_two_byte_length": [bytes((0x81, 0xFE, 0, 5, 0, 0, 0, 0)) + b"hello"],
    "non_minimal_eight_byte_length": [bytes((0x82, 0xFF)) + struct.pack("!Q", 200) + bytes(204)],
    **{
        f"close_code_{c}": [close_frame(c)]
        for c in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000)
    },
}


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_protocol_violation_closes_with_1002(srv, case):
    assert closed_with(srv, *VIOLATIONS[case]) == 1002


INVALID_UTF8 = {
    "text": [frame(TEXT, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited")],
    "overlong": [frame(TEXT, b"\xc0\xaf")],
    "fragmented_text": [frame(TEXT, b"\xce", fin=False), frame(CONT, b"\xff")],
    "truncated_at_end": [frame(TEXT, b"ok\xe2\x82")],
    "close_reason": [close_frame(1000, b"\xff\xfe")],
}


@pytest.mark.parametrize("case", sorted(INVALID_UTF8))
def test_invalid_utf8_closes_with_1007(srv, case):
    assert closed_with(srv, *INVALID_UTF8[case]) == 1007


def test_message_over_the_limit_closes_with_1009(srv):
    assert closed_with(srv, frame(BINARY, b"x" * (64 * 1024 + 1))) == 1009


def test_a_declared_length_over_the_limit_closes_with_1009_before_the_payload(srv):
    assert closed_with(srv, bytes((0x82, 0xFF)) + struct.pack("!Q", 1 << 40) + b"mask") == 1009
    assert closed_with(srv, bytes((0x82, 0xFF)) + struct.pack("!Q", 65537) + b"mask") == 1009


def test_fragmented_message_over_the_limit_closes_with_1009(srv):
    parts = [frame(TEXT, b"a" * 40_000, fin=False), frame(CONT, b"b" * 40_000)]
    assert closed_with(srv, *parts) == 1009


def test_a_message_at_the_limit_is_echoed(srv):
    payload = b"\x01" * (64 * 1024)
    with srv.connect() as sock:
        reader = open_websocket(sock)
        sock.sendall(frame(BINARY, payload))
        got = reader.read()
        assert got is not None and (got.opcode, got.payload) == (BINARY, payload)


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1011, 3000, 4999])
def test_a_valid_close_code_is_echoed(srv, code):
    assert closed_with(srv, close_frame(code, b"bye")) == code


def test_a_close_without_payload_is_answered_without_a_code(srv):
    with srv.connect() as sock:
        reader = open_websocket(sock)
        sock.sendall(close_frame(None))
        _, close = reader.until_close()
        assert close is not None and close.payload == b""
        assert reader.eof()


def test_ping_with_125_bytes_gets_the_same_pong(srv):
    with srv.connect() as sock:
        reader = open_websocket(sock)
        sock.sendall(frame(PING, b"p" * 125))
        got = reader.read()
        assert got is not None and (got.opcode, got.payload) == (PONG, b"p" * 125)


def test_ping_and_pong_interleaved_in_a_fragmented_message(srv):
    with srv.connect() as sock:
        reader = open_websocket(sock)
        sock.sendall(
            frame(TEXT, b"frag", fin=False)
            + frame(PING, b"in-between")
            + frame(PONG, b"unsolicited")
            + frame(CONT, b"men", fin=False)
            + frame(CONT, b"ted")
        )
        pong, echo = reader.read(), reader.read()
        assert pong is not None and (pong.opcode, pong.payload) == (PONG, b"in-between")
        assert echo is not None and (echo.opcode, echo.payload) == (TEXT, b"fragmented")


def test_fragments_byte_by_byte_and_empty_messages(srv):
    with srv.connect() as sock:
        reader = open_websocket(sock)
        data = frame(TEXT, "κόσμε".encode(), fin=False) + frame(CONT, b"", fin=False)
        data += frame(CONT, b"!")
        data += frame(TEXT, b"") + frame(BINARY, b"")
        for i in range(len(data)):
            sock.sendall(data[i : i + 1])
        got = [reader.read() for _ in range(3)]
        assert [(f.opcode, f.payload) for f in got if f] == [
            (TEXT, "κόσμε!".encode()),
            (TEXT, b""),
            (BINARY, b""),
        ]


def test_valid_utf8_split_across_fragments(srv):
    with srv.connect() as sock:
        reader = open_websocket(sock)
        text = "κόσμε".encode()
        sock.sendall(frame(TEXT, text[:1], fin=False) + frame(CONT, text[1:]))
        got = reader.read()
        assert got is not None and got.payload == text


def test_data_after_the_close_frame_is_ignored(srv):
    assert closed_with(srv, close_frame(1000), frame(TEXT, b"late")) == 1000
