"""The WebSocket fast path agrees with wsproto: the frames it takes decode to the same
messages, it stops (leaving the rest to wsproto) at anything that is not a complete simple
frame, and the frames it writes parse as the same messages on a wsproto client."""

from __future__ import annotations

import os
import struct

import pytest
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, TextMessage

from framework.websocket.fastpath import server_frame, simple_messages, unmask


def client_frame(b0: int, payload: bytes, *, mask: bool = True) -> bytes:
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head = bytes((b0, bit | n))
    elif n < 65536:
        head = bytes((b0, bit | 126)) + struct.pack("!H", n)
    else:
        head = bytes((b0, bit | 127)) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + unmask(payload, key)


def test_unmask_is_its_own_inverse() -> None:
    key = b"\x01\x02\x03\x04"
    data = bytes(range(256)) * 3 + b"xyz"
    assert unmask(unmask(data, key), key) == data
    assert unmask(b"\x00\x00\x00\x00\x00", key) == b"\x01\x02\x03\x04\x01"


def test_simple_frames_decode_to_their_messages() -> None:
    texts = ["", "a", "κόσμε", "x" * 125, "y" * 126, "z" * 65535]
    data = b"".join(client_frame(0x81, t.encode()) for t in texts)
    data += client_frame(0x82, b"\x00\xff" * 10)
    messages, used = simple_messages(data)
    assert messages == [*texts, b"\x00\xff" * 10]
    assert used == len(data)


STOPPERS = {
    "fin_clear": (0x01, b"fragment", True),
    "rsv1": (0xC1, b"rsv1", True),
    "control": (0x89, b"ping", True),
    "continuation": (0x80, b"cont", True),
    "unmasked": (0x81, b"unmasked", False),
    "invalid_utf8": (0x81, b"\xff\xfe", True),
    "eight_byte_length": (0x82, b"b" * 65536, True),
}


@pytest.mark.parametrize("stopper", sorted(STOPPERS))
def test_it_stops_at_the_first_frame_that_is_not_simple(stopper: str) -> None:
    b0, payload, mask = STOPPERS[stopper]
    first = client_frame(0x81, b"first")
    stop = client_frame(b0, payload, mask=mask)
    messages, used = simple_messages(first + stop + client_frame(0x81, b"after"))
    assert (messages, used) == (["first"], len(first))


def test_a_non_minimal_length_is_left_to_wsproto_which_refuses_it() -> None:
    key = b"\x01\x02\x03\x04"
    padded = bytes((0x81, 0x80 | 126)) + struct.pack("!H", 5) + key + unmask(b"hello", key)
    first = client_frame(0x81, b"first")
    assert simple_messages(first + padded) == (["first"], len(first))
    server = Connection(ConnectionType.SERVER)
    server.receive_data(padded)
    (event,) = server.events()
    assert event.code == 1002  # type: ignore[attr-defined]


def test_a_partial_frame_is_left_for_later() -> None:
    first = client_frame(0x81, b"first")
    for cut in range(1, 12):
        messages, used = simple_messages(first + client_frame(0x81, b"partial")[:-cut])
        assert (messages, used) == (["first"], len(first))


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
@pytest.mark.parametrize("text", [True, False])
def test_server_frames_parse_on_a_wsproto_client(size: int, text: bool) -> None:
    data: str | bytes = "é" * (size // 2) if text else os.urandom(size)
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(server_frame(data))
    [event] = list(client.events())
    assert isinstance(event, TextMessage if text else BytesMessage)
    assert event.data == data and event.message_finished
