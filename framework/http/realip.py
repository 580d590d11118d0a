"""The real client behind trusted proxies (nginx's realip module, plus X-Forwarded-Proto).

``apply_real_ip(request, location)`` runs when routing has chosen a location: if the TCP
peer (``request.peer``) is in the location's ``set_real_ip_from``, the address named by
``real_ip_header`` replaces ``request.client``, and a trusted ``X-Forwarded-Proto`` sets
``request.scheme``. As in nginx, the address is taken once per request: an internal
redirect keeps it, and a location that does not trust the peer never undoes it (the
pipeline may route a request several times).

The header is read as nginx reads it: tokens separated by spaces or commas, the last one
taken (``real_ip_recursive off``), or, walking from the right, the first one that is not a
trusted address itself (``on``); several ``X-Forwarded-For`` fields are read as one list in
order. Each token is an address with an optional port (``1.2.3.4:5``, ``[::1]:5``); the
port becomes the client's port, 0 when absent, as nginx's ``$remote_port``. A token that is
not an address stops the walk: the last good address stands, or, if there is none, the
peer stays the client. ``proxy_protocol`` takes the PROXY header's source address and port.
IPv4-mapped IPv6 peers (``::ffff:10.0.0.1`` on a dual-stack socket) match IPv4 ranges.
"""

from __future__ import annotations

import functools
import ipaddress
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING

from framework.config.directives_realip import PROXY_PROTOCOL, TrustedProxies

if TYPE_CHECKING:
    from framework.config.models import LocationConfig
    from framework.http.request import Request

IPAddress = IPv4Address | IPv6Address
Client = tuple[str, int]

# request.state keys: the real client once taken; set when the TCP peer is a trusted proxy
REAL_CLIENT = "real_client"
TRUSTED_PROXY = "trusted_proxy"


MAX_ADDRESS = 45  # the longest IPv6 text, "ffff:...:ffff:255.255.255.255"


def parse_address(text: str) -> IPAddress | None:
    """An IPv4 or IPv6 address (no zone ID), else None."""
    return _parse_address(text) if len(text) <= MAX_ADDRESS else None


@functools.lru_cache(maxsize=4096)  # the same proxies and clients come back again and again
def _parse_address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.scope_id is not None:
        return None
    return address


def parse_address_port(text: str) -> tuple[IPAddress, int] | None:
    """``ADDR``, ``IPV4:PORT`` or ``[IPV6]:PORT`` as nginx's ``ngx_parse_addr_port`` reads
    them: (address, port), the port 0 when absent; None for anything else (a port must be
    1-65535 in plain digits)."""
    address = parse_address(text)
    if address is not None:
        return address, 0
    if text[:1] == "[":
        end = text.find("]")
        if end < 0 or text[end + 1 : end + 2] != ":":
            return None
        host, port_text = text[1:end], text[end + 2 :]
    else:
        host, colon, port_text = text.partition(":")
        if not colon:
            return None
    if not (port_text.isascii() and port_text.isdigit()) or len(port_text) > 5:
        return None
    port = int(port_text)
    address = parse_address(host)
    if address is None or not 0 < port < 65536:
        return None
    return address, port


@functools.lru_cache(maxsize=4096)
def address_text(address: IPAddress) -> str:
    """The address as nginx prints ``$remote_addr`` (``::ffff:1.2.3.4`` for a mapped one)."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def forwarded_client(
    peer: IPAddress | None, values: list[str], trusted: TrustedProxies, recursive: bool
) -> tuple[IPAddress, int] | None:
    """The client that ``values`` (the header fields, in order) name for a request from
    ``peer``, or None to keep the peer: nginx's ``ngx_http_get_forwarded_addr``."""
    current = peer
    found: tuple[IPAddress, int] | None = None
    for value in reversed(values):
        tokens = value.replace(",", " ").split()
        if not tokens:
            return found
        for token in reversed(tokens):
            if current not in trusted:
                return found
            parsed = parse_address_port(token)
            if parsed is None:
                return found
            found = parsed
            current = parsed[0]
            if not recursive:
                return found
    return found


def forwarded_scheme(request: Request) -> str | None:
    """``http`` or ``https`` from the last ``X-Forwarded-Proto`` element, else None."""
    values = request.headers.get_all("x-forwarded-proto")
    if not values:
        return None
    last = values[-1].rpartition(",")[2].strip().lower()
    return last if last in ("http", "https") else None


def apply_real_ip(request: Request, location: LocationConfig) -> None:
    """Replace ``request.client`` (and ``scheme``) per ``location``'s real-IP settings when
    the TCP peer is trusted; once the address is taken, later calls change nothing."""
    if not location.set_real_ip_from:
        return
    state = request.state
    if REAL_CLIENT in state:
        return
    trusted = location.set_real_ip_from
    if type(trusted) is not TrustedProxies:  # a list set after validation
        trusted = TrustedProxies(trusted)
    host = request.peer[0]
    peer = parse_address(host.partition("%")[0])  # a link-local peer's zone: no matter
    if peer is None and host and host[0] != "/":
        return  # neither an IP address nor a UNIX-domain peer
    if peer not in trusted:
        return
    state[TRUSTED_PROXY] = True
    header = location.real_ip_header
    found: tuple[IPAddress, int] | None = None
    if header == PROXY_PROTOCOL:
        source = request.proxy_protocol_addr
        address = parse_address(source[0]) if source is not None else None
        if source is not None and address is not None:
            found = address, source[1]
    else:
        # a proxy speaking the PROXY protocol passes the client's own headers through:
        # only a header-setting proxy's X-Forwarded-Proto is believed
        scheme = forwarded_scheme(request)
        if scheme is not None:
            request.scheme = scheme
        if header == "x-forwarded-for":
            values = request.headers.get_all(header)
        else:  # X-Real-IP or another field: its first occurrence, as nginx
            first = request.headers.get(header)
            values = [first] if first is not None else []
        if values:
            found = forwarded_client(peer, values, trusted, location.real_ip_recursive)
    if found is not None:
        request.client = state[REAL_CLIENT] = (address_text(found[0]), found[1])
