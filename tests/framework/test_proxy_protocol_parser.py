"""The sans-I/O PROXY protocol parser: every v1/v2 shape, incomplete, oversized, garbage."""

from __future__ import annotations

import socket
import struct

import pytest

from framework.http.proxy_protocol import (
    MAX_V1_HEADER,
    MAX_V2_HEADER,
    V2_SIGNATURE,
    ProxyHeader,
    ProxyProtocolError,
    parse_header,
)


def v2(command: int, family: int, body: bytes, version: int = 2) -> bytes:
    return (
        V2_SIGNATURE + bytes([version << 4 | command, family]) + struct.pack("!H", len(body)) + body
    )


INET = (
    socket.inet_aton("192.0.2.7") + socket.inet_aton("198.51.100.1") + struct.pack("!HH", 4242, 443)
)
INET6 = (
    socket.inet_pton(socket.AF_INET6, "2001:db8::7")
    + socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    + struct.pack("!HH", 5555, 80)
)


@pytest.mark.parametrize(
    ("line", "source", "destination"),
    [
        (
            b"PROXY TCP4 192.0.2.7 198.51.100.1 4242 443\r\n",
            ("192.0.2.7", 4242),
            ("198.51.100.1", 443),
        ),
        (
            b"PROXY TCP6 2001:db8::7 2001:db8::1 5555 80\r\n",
            ("2001:db8::7", 5555),
            ("2001:db8::1", 80),
        ),
        (
            b"PROXY TCP4 192.0.2.7 198.51.100.1 01111 80\r\n",
            ("192.0.2.7", 1111),
            ("198.51.100.1", 80),
        ),
        (b"PROXY UNKNOWN\r\n", None, None),
        (b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", None, None),
    ],
)
def test_v1_shapes_give_their_addresses_and_length(line, source, destination):
    header = parse_header(line + b"GET / HTTP/1.1\r\n")
    assert header == ProxyHeader(source, destination, len(line))


@pytest.mark.parametrize(
    "line",
    [
        b"PROXY TCP4 192.0.2.7 198.51.100.1 4242\r\n",  # a field missing (nginx: broken header)
        b"PROXY TCP4 2001:db8::7 198.51.100.1 1 2\r\n",  # IPv6 address in TCP4
        b"PROXY TCP6 192.0.2.7 2001:db8::1 1 2\r\n",
        b"PROXY TCP4 192.0.2.300 198.51.100.1 1 2\r\n",
        b"PROXY TCP4 192.0.2.7 198.51.100.1 65536 2\r\n",
        b"PROXY TCP4 192.0.2.7 198.51.100.1 -1 2\r\n",
        b"PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n",
        b"PROXY\r\n",
        b"PROXY TCP4 192.0.2.7 198.51.100.1 1 2\n",  # LF only
        b"PROXX TCP4",
        b"GET / HTTP/1.1\r\n",
        b"\x16\x03\x01\x02\x00",  # a TLS ClientHello
    ],
)
def test_malformed_v1_or_no_header_is_an_error(line):
    with pytest.raises(ProxyProtocolError):
        parse_header(line)


def test_v1_incomplete_waits_for_more_bytes_one_at_a_time():
    line = b"PROXY TCP4 192.0.2.7 198.51.100.1 4242 443\r\n"
    for end in range(1, len(line)):
        assert parse_header(line[:end]) is None, end
    assert parse_header(line) is not None


def test_v1_without_crlf_in_107_bytes_is_refused():
    assert parse_header(b"PROXY UNKNOWN " + b"x" * (MAX_V1_HEADER - 15)) is None
    with pytest.raises(ProxyProtocolError):
        parse_header(b"PROXY UNKNOWN " + b"x" * MAX_V1_HEADER)


@pytest.mark.parametrize(
    ("raw", "source", "destination"),
    [
        (v2(1, 0x11, INET), ("192.0.2.7", 4242), ("198.51.100.1", 443)),
        (v2(1, 0x21, INET6), ("2001:db8::7", 5555), ("2001:db8::1", 80)),
        (v2(1, 0x11, INET + b"\x04\x00\x03abc"), ("192.0.2.7", 4242), ("198.51.100.1", 443)),  # TLV
        (v2(0, 0x00, b""), None, None),  # LOCAL: the proxy's own health check
        (v2(0, 0x11, INET), None, None),  # LOCAL with an address block: ignored
        (v2(1, 0x00, b""), None, None),  # UNSPEC
        (v2(1, 0x31, b"\x00" * 216), None, None),  # UNIX
        (v2(1, 0x12, INET), None, None),  # UDP
    ],
)
def test_v2_shapes_give_their_addresses_and_length(raw, source, destination):
    assert parse_header(raw + b"GET /") == ProxyHeader(source, destination, len(raw))


def test_v2_truncated_waits_then_completes():
    raw = v2(1, 0x21, INET6)
    for end in range(1, len(raw)):
        assert parse_header(raw[:end]) is None, end
    assert parse_header(raw) is not None


@pytest.mark.parametrize(
    "raw",
    [
        v2(1, 0x11, INET, version=1),
        v2(2, 0x11, INET),  # unknown command
        v2(1, 0x11, INET[:11]),  # address block too short
        v2(1, 0x21, INET),
        v2(1, 0x11, INET + b"\x00" * (MAX_V2_HEADER - 16 - 12 + 1)),  # oversized
        b"\r\n\r\n\x00\r\nQUIX\n" + b"\x21\x11\x00\x0c",
    ],
)
def test_malformed_or_oversized_v2_is_an_error(raw):
    with pytest.raises(ProxyProtocolError):
        parse_header(raw)


def test_oversized_v2_is_refused_from_its_length_field_alone():
    with pytest.raises(ProxyProtocolError):
        parse_header(V2_SIGNATURE + b"\x21\x11\xff\xff")


def test_empty_input_needs_more():
    assert parse_header(b"") is None
