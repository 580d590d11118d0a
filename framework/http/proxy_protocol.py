"""The PROXY protocol header (HAProxy's spec, v1 text and v2 binary), sans I/O.

``parse_header(data)`` looks at the first bytes a connection received on a ``listen ...
proxy_protocol`` address: it returns ``None`` while the header is incomplete, a
``ProxyHeader`` once it is whole (``length`` bytes to skip before the protocol that follows),
and raises ``ProxyProtocolError`` for anything that is not a valid header or is longer than
the limits (v1: 107 bytes with its CRLF; v2: ``MAX_V2_HEADER``).

``source`` is the address the proxy saw the client connect from, ``None`` when the header
gives none (v1 ``UNKNOWN``, v2 ``LOCAL``, an unspecified, UNIX or datagram family): the
connection's own peer then stands, as in nginx.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

V1_PREFIX = b"PROXY "
MAX_V1_HEADER = 107  # the spec's worst case, "PROXY UNKNOWN ...\r\n" included
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
# nginx reads the header into its 1 KiB client header buffer; TLVs (AWS, Azure) fit in it
MAX_V2_HEADER = 1024

Address = tuple[str, int]

_V2_FIXED = struct.Struct("!12sBBH")
_V2_INET = struct.Struct("!4s4sHH")
_V2_INET6 = struct.Struct("!16s16sHH")
_CMD_LOCAL = 0x0
_CMD_PROXY = 0x1
_AF_INET = 0x1
_AF_INET6 = 0x2
_STREAM = 0x1


class ProxyProtocolError(Exception):
    """The connection did not start with a valid PROXY protocol header."""


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """A parsed header: the client's and the proxy's addresses (``None`` when not given)
    and the header's size in bytes."""

    source: Address | None
    destination: Address | None
    length: int


def parse_header(data: bytes | bytearray | memoryview) -> ProxyHeader | None:
    """The PROXY header at the start of ``data``; ``None`` when more bytes are needed."""
    raw = bytes(data[: max(MAX_V2_HEADER, MAX_V1_HEADER)])
    if not raw:
        return None
    if raw[0] == V2_SIGNATURE[0]:  # b"\r": only v2 starts so
        return _parse_v2(raw)
    if raw[0] == V1_PREFIX[0]:
        return _parse_v1(raw)
    raise ProxyProtocolError("not a PROXY protocol header")


def _parse_v1(raw: bytes) -> ProxyHeader | None:
    if not raw.startswith(V1_PREFIX[: len(raw)]):
        raise ProxyProtocolError("not a PROXY protocol header")
    end = raw.find(b"\r\n", 0, MAX_V1_HEADER)
    if end < 0:
        if len(raw) >= MAX_V1_HEADER or b"\n" in raw:
            raise ProxyProtocolError("PROXY v1 header without CRLF in 107 bytes")
        return None
    line = raw[:end]
    fields = line.split(b" ")
    if len(fields) < 2:
        raise ProxyProtocolError("PROXY v1 header without a protocol")
    proto = fields[1]
    if proto == b"UNKNOWN":  # whatever follows is ignored (spec 2.1)
        return ProxyHeader(None, None, end + 2)
    if proto not in (b"TCP4", b"TCP6") or len(fields) != 6:
        raise ProxyProtocolError("PROXY v1 header: bad protocol or field count")
    version = 4 if proto == b"TCP4" else 6
    source = (_v1_ip(fields[2], version), _v1_port(fields[4]))
    destination = (_v1_ip(fields[3], version), _v1_port(fields[5]))
    return ProxyHeader(source, destination, end + 2)


def _v1_ip(field: bytes, version: int) -> str:
    try:
        address = ipaddress.ip_address(field.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise ProxyProtocolError("PROXY v1 header: bad address") from None
    if address.version != version:
        raise ProxyProtocolError("PROXY v1 header: address of the wrong family")
    return str(address)


def _v1_port(field: bytes) -> int:
    if not field.isdigit() or len(field) > 5:
        raise ProxyProtocolError("PROXY v1 header: bad port")
    port = int(field)
    if port > 65535:
        raise ProxyProtocolError("PROXY v1 header: bad port")
    return port


def _parse_v2(raw: bytes) -> ProxyHeader | None:
    if not raw.startswith(V2_SIGNATURE[: len(raw)]):
        raise ProxyProtocolError("not a PROXY protocol header")
    if len(raw) < _V2_FIXED.size:
        return None
    _, ver_cmd, family, length = _V2_FIXED.unpack_from(raw)
    if ver_cmd >> 4 != 2:
        raise ProxyProtocolError(f"PROXY v2 header: unknown version {ver_cmd >> 4}")
    command = ver_cmd & 0x0F
    if command not in (_CMD_LOCAL, _CMD_PROXY):
        raise ProxyProtocolError(f"PROXY v2 header: unknown command {command}")
    total = _V2_FIXED.size + length
    if total > MAX_V2_HEADER:
        raise ProxyProtocolError(f"PROXY v2 header too large ({total} bytes)")
    if len(raw) < total:
        return None
    if command == _CMD_LOCAL:  # a health check of the proxy itself: its own address stands
        return ProxyHeader(None, None, total)
    body = raw[_V2_FIXED.size : total]
    af, transport = family >> 4, family & 0x0F
    if af == _AF_INET:
        layout, convert = _V2_INET, ipaddress.IPv4Address
    elif af == _AF_INET6:
        layout, convert = _V2_INET6, ipaddress.IPv6Address  # type: ignore[assignment]
    else:  # AF_UNSPEC or AF_UNIX: no IP address to report
        return ProxyHeader(None, None, total)
    if len(body) < layout.size:
        raise ProxyProtocolError("PROXY v2 header: address block too short")
    if transport != _STREAM:  # datagram: not a client of ours
        return ProxyHeader(None, None, total)
    src, dst, sport, dport = layout.unpack_from(body)
    return ProxyHeader((str(convert(src)), sport), (str(convert(dst)), dport), total)
