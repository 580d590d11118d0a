"""Raw RFC 6455 frames for the WebSocket tests: a client's masked (or deliberately
unmasked) frames, a reader for the server's frames, and the opening handshake on a socket."""

from __future__ import annotations

import base64
import os
import socket
import struct
from dataclasses import dataclass

TEXT, BINARY, CLOSE, PING, PONG, CONT = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0

KEY = base64.b64encode(b"0123456789abcdef").decode()


def handshake_request(path: str = "/ws", extra: str = "", version: str = "13") -> bytes:
    """A valid opening handshake for ``path`` (``extra``: more header lines)."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
        f"Sec-WebSocket-Version: {version}\r\n{extra}\r\n"
    ).encode()


def frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0, mask: bool = True
) -> bytes:
    """One frame as a client sends it (masked unless ``mask=False``)."""
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = (
        bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask(payload, key)
    )
    return head + key + masked


def _mask(payload: bytes, key: bytes) -> bytes:
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big"
    )


def close_frame(code: int | None = 1000, reason: bytes = b"") -> bytes:
    """A client close frame (``code`` None: no payload)."""
    return frame(CLOSE, b"" if code is None else struct.pack("!H", code) + reason)


@dataclass
class Frame:
    """A frame from the server."""

    fin: bool
    rsv: int
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None


class FrameReader:
    """Reads the server's frames from ``sock`` (after the handshake's head)."""

    def __init__(self, sock: socket.socket, data: bytes = b"") -> None:
        self.sock = sock
        self.buf = data

    def _need(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                return None
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read(self) -> Frame | None:
        """The next frame; None at EOF."""
        head = self._need(2)
        if head is None:
            return None
        fin, rsv, opcode = bool(head[0] & 0x80), (head[0] >> 4) & 7, head[0] & 0x0F
        assert not head[1] & 0x80, "a server frame must not be masked"
        n = head[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._need(2) or b"\0\0")[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8) or b"\0" * 8)[0]
        payload = self._need(n) if n else b""
        assert payload is not None
        return Frame(fin, rsv, opcode, payload)

    def until_close(self) -> tuple[list[Frame], Frame | None]:
        """Frames up to and including the server's close frame (None: EOF without one)."""
        seen: list[Frame] = []
        while True:
            got = self.read()
            if got is None or got.opcode == CLOSE:
                return seen, got
            seen.append(got)

    def eof(self) -> bool:
        """True when the server closes the TCP connection (nothing else arrives)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


def open_websocket(sock: socket.socket, path: str = "/ws", extra: str = "") -> FrameReader:
    """Do the opening handshake on ``sock``; returns a reader for what follows."""
    sock.sendall(handshake_request(path, extra))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 "), head
    return FrameReader(sock, rest)
