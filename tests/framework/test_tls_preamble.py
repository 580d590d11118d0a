"""``Preamble``: a connection's first bytes on a PROXY and/or TLS address, fed whole or a
byte at a time, decide how it starts (TLS, HTTP, HTTP sent to a TLS port) and keep what
follows the PROXY header."""

from __future__ import annotations

import ssl

import pytest

from framework.http.preamble import Opening, Preamble, Start
from framework.http.proxy_protocol import ProxyProtocolError

V1 = b"PROXY TCP4 192.0.2.7 198.51.100.1 4242 443\r\n"
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def client_hello(alpn: list[str] | None = None) -> bytes:
    ctx = ssl.create_default_context()
    if alpn:
        ctx.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def feed(preamble: Preamble, data: bytes, *, bytewise: bool) -> Opening | None:
    if not bytewise:
        return preamble.feed(data)
    result = None
    for i in range(len(data)):
        assert result is None, f"decided early, at byte {i}"
        result = preamble.feed(data[i : i + 1])
    return result


def test_proxy_header_then_http_keeps_what_followed_it():
    opening = Preamble(proxy_protocol=True, tls=False).feed(V1 + REQUEST)
    assert opening == Opening(Start.HTTP, ("192.0.2.7", 4242), REQUEST)


def test_proxy_header_in_single_bytes_decides_at_its_last_byte():
    opening = feed(Preamble(proxy_protocol=True, tls=False), V1, bytewise=True)
    assert opening == Opening(Start.HTTP, ("192.0.2.7", 4242), b"")


@pytest.mark.parametrize("bytewise", [False, True])
def test_proxy_header_then_tls_keeps_the_whole_client_hello(bytewise):
    hello = client_hello(["h2", "http/1.1"])
    opening = feed(Preamble(proxy_protocol=True, tls=True), V1 + hello, bytewise=bytewise)
    assert opening == Opening(Start.TLS, ("192.0.2.7", 4242), hello, refuse_alpn=False)


@pytest.mark.parametrize(
    ("alpn", "refuse"),
    [(None, False), (["h2"], True), (["http/1.0"], False), (["h2", "http/1.1"], False)],
)
def test_tls_alpn_offer_without_http1_is_marked_for_refusal(alpn, refuse):
    opening = Preamble(proxy_protocol=False, tls=True).feed(client_hello(alpn))
    assert opening is not None and opening.start is Start.TLS
    assert opening.refuse_alpn is refuse and opening.proxy_source is None


def test_plain_http_on_a_tls_address_is_told_from_its_first_byte():
    preamble = Preamble(proxy_protocol=False, tls=True)
    assert preamble.feed(b"") is None
    assert preamble.feed(b"G") == Opening(Start.HTTP_ON_TLS, None, b"G")


def test_proxy_header_without_tls_or_header_needs_nothing_more():
    opening = Preamble(proxy_protocol=True, tls=True).feed(b"PROXY UNKNOWN\r\n")
    assert opening is None  # the first byte after the header is still to come
    opening = Preamble(proxy_protocol=True, tls=False).feed(V1)
    assert opening == Opening(Start.HTTP, ("192.0.2.7", 4242), b"")


def test_missing_proxy_header_is_an_error():
    with pytest.raises(ProxyProtocolError):
        Preamble(proxy_protocol=True, tls=True).feed(b"\x16\x03\x01\x00\x05")


def test_an_oversized_first_record_is_left_to_openssl():
    record = b"\x16\x03\x01\xff\xff" + b"\x00" * 100  # longer than any TLS record may be
    opening = Preamble(proxy_protocol=False, tls=True).feed(record)
    assert opening is not None and opening.start is Start.TLS and opening.data == record
