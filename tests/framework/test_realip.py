"""The real-IP algorithm (nginx's realip module): trusted and untrusted peers, recursive
on/off, several X-Forwarded-For fields, IPv6 and IPv4-mapped peers, ports, garbage, the
PROXY protocol source, X-Forwarded-Proto, and idempotence across internal redirects."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from framework.config.models import LocationConfig
from framework.http.headers import Headers
from framework.http.realip import (
    apply_real_ip,
    parse_address_port,
)
from framework.http.request import Request


def _location(*trusted: str, header: str = "x-forwarded-for", recursive: bool = False):
    sources = [t if t == "unix:" else ip_network(t) for t in trusted]
    return LocationConfig(
        set_real_ip_from=sources, real_ip_header=header, real_ip_recursive=recursive
    )


def _request(peer: str = "10.0.0.1", *headers: tuple[str, str], port: int = 4000) -> Request:
    h = Headers()
    for name, value in headers:
        h.add(name, value)
    return Request("GET", "/", "/", headers=h, client=(peer, port))


def _client(location: LocationConfig, peer: str, *headers: tuple[str, str]) -> tuple[str, int]:
    request = _request(peer, *headers)
    apply_real_ip(request, location)
    return request.client


XFF = "X-Forwarded-For"


def test_an_untrusted_peer_keeps_its_address_whatever_it_claims():
    loc = _location("10.0.0.0/8")
    assert _client(loc, "192.0.2.9", (XFF, "1.1.1.1")) == ("192.0.2.9", 4000)


def test_no_trusted_list_means_nothing_changes():
    request = _request("10.0.0.1", (XFF, "1.1.1.1"), ("X-Forwarded-Proto", "https"))
    apply_real_ip(request, LocationConfig())
    assert request.client == ("10.0.0.1", 4000) and request.scheme == "http"


def test_a_trusted_peer_names_the_client_and_its_port_is_zero_without_one():
    loc = _location("10.0.0.0/8")
    assert _client(loc, "10.1.2.3", (XFF, "203.0.113.5")) == ("203.0.113.5", 0)
    assert _client(loc, "10.1.2.3", (XFF, "203.0.113.5:8443")) == ("203.0.113.5", 8443)
    assert _client(loc, "10.1.2.3", (XFF, "[2001:db8::5]:99")) == ("2001:db8::5", 99)


def test_without_recursion_the_last_address_is_taken_even_if_trusted():
    loc = _location("10.0.0.0/8")
    assert _client(loc, "10.0.0.1", (XFF, "203.0.113.5, 10.0.0.2")) == ("10.0.0.2", 0)


def test_with_recursion_the_rightmost_untrusted_address_is_taken():
    loc = _location("10.0.0.0/8", recursive=True)
    value = "198.51.100.1, 203.0.113.5, 10.0.0.3,10.0.0.2"
    assert _client(loc, "10.0.0.1", (XFF, value)) == ("203.0.113.5", 0)


def test_with_recursion_all_trusted_gives_the_leftmost():
    loc = _location("10.0.0.0/8", recursive=True)
    assert _client(loc, "10.0.0.1", (XFF, "10.0.0.3, 10.0.0.2")) == ("10.0.0.3", 0)


def test_several_x_forwarded_for_fields_read_as_one_list_in_order():
    loc = _location("10.0.0.0/8", recursive=True)
    fields = ((XFF, "198.51.100.1, 203.0.113.5"), (XFF, "10.0.0.3"), (XFF, "10.0.0.2"))
    assert _client(loc, "10.0.0.1", *fields) == ("203.0.113.5", 0)
    plain = _location("10.0.0.0/8")
    assert _client(plain, "10.0.0.1", *fields) == ("10.0.0.2", 0)


def test_garbage_stops_the_walk_and_keeps_the_last_good_address():
    loc = _location("10.0.0.0/8", recursive=True)
    assert _client(loc, "10.0.0.1", (XFF, "unknown")) == ("10.0.0.1", 4000)
    assert _client(loc, "10.0.0.1", (XFF, "unknown, 10.0.0.7")) == ("10.0.0.7", 0)
    assert _client(loc, "10.0.0.1", (XFF, "")) == ("10.0.0.1", 4000)
    assert _client(loc, "10.0.0.1", (XFF, ", ,")) == ("10.0.0.1", 4000)


@pytest.mark.parametrize(
    "value",
    ["1.2.3", "01.2.3.4", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:+80", "[::1]", "[::1]x80",
     "fe80::1%eth0", "::1:80x", "1.2.3.4:８０", "1.2.3.4/32", "\u0661.2.3.4"],
)  # fmt: skip
def test_malformed_addresses_are_ignored(value):
    assert parse_address_port(value) is None
    loc = _location("10.0.0.0/8")
    assert _client(loc, "10.0.0.1", (XFF, value)) == ("10.0.0.1", 4000)


def test_ipv6_peers_and_ranges():
    loc = _location("2001:db8::/32", recursive=True)
    assert _client(loc, "2001:db8::1", (XFF, "2001:db8:ffff::9, 2001:db8::2")) == (
        "2001:db8:ffff::9", 0)  # fmt: skip
    assert _client(loc, "2001:db8::1", (XFF, "2001:DB8:0:0::A, 2001:db9::1")) == (
        "2001:db9::1", 0)  # fmt: skip
    assert _client(loc, "2001:db9::1", (XFF, "1.1.1.1")) == ("2001:db9::1", 4000)


def test_ipv4_mapped_peers_match_ipv4_ranges():
    loc = _location("127.0.0.0/8")
    assert _client(loc, "::ffff:127.0.0.1", (XFF, "203.0.113.5")) == ("203.0.113.5", 0)
    assert _client(loc, "::ffff:192.0.2.1", (XFF, "203.0.113.5")) == ("::ffff:192.0.2.1", 4000)
    # a mapped address named in the header is printed as nginx prints it
    assert _client(loc, "127.0.0.1", (XFF, "::ffff:1.2.3.4")) == ("::ffff:1.2.3.4", 0)


def test_unix_trusts_peers_that_are_no_ip_address():
    loc = _location("unix:")
    assert _client(loc, "", (XFF, "203.0.113.5")) == ("203.0.113.5", 0)
    assert _client(loc, "/run/webserv.sock", (XFF, "203.0.113.5")) == ("203.0.113.5", 0)
    assert _client(loc, "10.0.0.1", (XFF, "203.0.113.5")) == ("10.0.0.1", 4000)
    assert _client(loc, "fe80::1%eth0", (XFF, "203.0.113.5")) == ("fe80::1%eth0", 4000)


def test_a_link_local_peer_is_matched_without_its_zone():
    loc = _location("fe80::/10")
    assert _client(loc, "fe80::1%eth0", (XFF, "203.0.113.5")) == ("203.0.113.5", 0)


def test_overlong_tokens_are_garbage_and_never_cached():
    loc = _location("10.0.0.0/8")
    token = "1" * 5000
    assert _client(loc, "10.0.0.1", (XFF, token)) == ("10.0.0.1", 4000)
    assert parse_address_port("[" + "0:" * 30 + ":1]:80") is None


def test_x_real_ip_and_custom_fields_use_their_first_occurrence():
    loc = _location("10.0.0.0/8", header="x-real-ip")
    fields = (("X-Real-IP", "203.0.113.5"), ("X-Real-IP", "198.51.100.1"), (XFF, "1.1.1.1"))
    assert _client(loc, "10.0.0.1", *fields) == ("203.0.113.5", 0)
    custom = _location("10.0.0.0/8", header="cf-connecting-ip")
    assert _client(custom, "10.0.0.1", ("CF-Connecting-IP", "2001:db8::7")) == ("2001:db8::7", 0)
    assert _client(custom, "10.0.0.1", ("X-Real-IP", "1.1.1.1")) == ("10.0.0.1", 4000)


def test_proxy_protocol_takes_the_source_address_and_port():
    loc = _location("10.0.0.0/8", header="proxy_protocol")
    request = _request("10.0.0.1", ("X-Forwarded-Proto", "https"), (XFF, "1.1.1.1"))
    request.proxy_protocol_addr = ("203.0.113.5", 51000)
    apply_real_ip(request, loc)
    assert request.client == ("203.0.113.5", 51000)
    # headers come from the client through a TCP proxy: its X-Forwarded-Proto is not believed
    assert request.scheme == "http"
    untrusted = _request("192.0.2.1")
    untrusted.proxy_protocol_addr = ("203.0.113.5", 51000)
    apply_real_ip(untrusted, loc)
    assert untrusted.client == ("192.0.2.1", 4000)
    missing = _request("10.0.0.1")
    apply_real_ip(missing, loc)
    assert missing.client == ("10.0.0.1", 4000)


@pytest.mark.parametrize(
    ("values", "scheme"),
    [(["https"], "https"), (["HTTPS"], "https"), (["http"], "http"), (["ftp"], "http"),
     (["https, http"], "http"), (["http", "https"], "https"), ([""], "http")],
)  # fmt: skip
def test_x_forwarded_proto_from_a_trusted_peer_sets_the_scheme(values, scheme):
    request = _request("10.0.0.1", *(("X-Forwarded-Proto", v) for v in values))
    apply_real_ip(request, _location("10.0.0.0/8"))
    assert request.scheme == scheme


def test_x_forwarded_proto_from_an_untrusted_peer_is_ignored():
    request = _request("192.0.2.1", ("X-Forwarded-Proto", "https"))
    apply_real_ip(request, _location("10.0.0.0/8"))
    assert request.scheme == "http"


def test_once_taken_the_address_survives_later_routing():
    """An internal redirect routes again: a location that does not trust the peer keeps
    the client taken earlier, and one that does does not walk again from the new client."""
    trusting = _location("10.0.0.0/8", recursive=True)
    request = _request("10.0.0.1", (XFF, "203.0.113.5, 10.0.0.9"))
    apply_real_ip(request, trusting)
    assert request.client == ("203.0.113.5", 0)
    apply_real_ip(request, LocationConfig())
    apply_real_ip(request, _location("203.0.113.0/24", recursive=True))
    apply_real_ip(request, trusting)
    assert request.client == ("203.0.113.5", 0) and request.peer == ("10.0.0.1", 4000)
