"""The common case without wsproto's per-frame machinery: complete, unfragmented, masked
text and binary frames from a client, and unfragmented frames to it, when no extension is
in use. Anything else (control frames, fragments, reserved bits, long or partial frames,
invalid UTF-8) is left to wsproto, which then sees a stream that starts at a frame
boundary, in the state these frames left it in (no message in progress)."""

from __future__ import annotations

from wsproto.frame_protocol import _XOR_TABLE

TEXT = 0x1
BINARY = 0x2


def unmask(payload: bytes | bytearray | memoryview, key: bytes | bytearray) -> bytes:
    """``payload`` XOR the 4-byte masking ``key`` (RFC 6455 5.3)."""
    data = bytearray(payload)
    if data:
        a, b, c, d = (_XOR_TABLE[n] for n in key)
        data[::4] = data[::4].translate(a)
        data[1::4] = data[1::4].translate(b)
        data[2::4] = data[2::4].translate(c)
        data[3::4] = data[3::4].translate(d)
    return bytes(data)


def simple_messages(data: bytes) -> tuple[list[str | bytes], int]:
    """The messages of the complete simple frames at the start of ``data`` (FIN, no RSV
    bits, text or binary, masked, payload under 64 KiB in its minimal length encoding, text
    valid UTF-8), and how many bytes they take. Stops at the first frame that is not one."""
    messages: list[str | bytes] = []
    pos = 0
    n = len(data)
    while pos + 6 <= n:
        b0 = data[pos]
        if b0 != 0x81 and b0 != 0x82:
            break
        b1 = data[pos + 1]
        if b1 < 0x80:  # unmasked: wsproto refuses it
            break
        length = b1 & 0x7F
        head = pos + 6
        if length == 126:
            head = pos + 8
            if head > n:
                break
            length = (data[pos + 2] << 8) | data[pos + 3]
            if length < 126:
                break  # not the minimal encoding (RFC 6455 5.2): wsproto answers it (1002)
        elif length == 127:
            break
        end = head + length
        if end > n:
            break
        payload = unmask(data[head:end], data[head - 4 : head])
        if b0 == 0x81:
            try:
                messages.append(payload.decode("utf-8"))
            except UnicodeDecodeError:
                break  # wsproto answers it (1007)
        else:
            messages.append(payload)
        pos = end
    return messages, pos


def server_frame(data: str | bytes) -> bytes:
    """One unmasked, unfragmented frame carrying ``data`` (text for ``str``)."""
    if isinstance(data, str):
        payload = data.encode("utf-8")
        b0 = 0x81
    else:
        payload = bytes(data)
        b0 = 0x82
    n = len(payload)
    if n < 126:
        return bytes((b0, n)) + payload
    if n < 65536:
        return bytes((b0, 126, n >> 8, n & 0xFF)) + payload
    return bytes((b0, 127)) + n.to_bytes(8, "big") + payload
