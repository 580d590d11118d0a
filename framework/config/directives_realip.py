"""Directives for proxy awareness: ``set_real_ip_from``, ``real_ip_header``,
``real_ip_recursive`` (nginx's realip module), ``absolute_redirect``, ``port_in_redirect``
(nginx's core module): their rows of the directive table, their value parsers and the
``LocationConfig`` fields they fill. This module must not import ``framework.config.models``,
which mixes ``RealIpFields`` in."""

from __future__ import annotations

import re
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Annotated, Literal

from pydantic import AfterValidator

from config_grammar.tree import Directive
from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec, ParseContext, as_flag, first_arg, spec
from framework.config.values import ValueProblem, parse_cidr

TrustedSource = IPv4Network | IPv6Network | Literal["unix:"]
"""One ``set_real_ip_from`` entry: a network (a single address is a /32 or /128) or
``"unix:"`` (every UNIX-domain peer)."""

PROXY_PROTOCOL = "proxy_protocol"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name


class TrustedProxies(list[TrustedSource]):
    """A ``set_real_ip_from`` list, compiled for membership tests (``address in proxies``):
    (network, mask) integer pairs per address family, and whether UNIX-domain peers are
    trusted."""

    __slots__ = ("v4", "v6", "unix")

    def __init__(self, sources: Iterable[TrustedSource] = ()) -> None:
        super().__init__(sources)
        self.unix = any(isinstance(s, str) for s in self)
        nets = [s for s in self if not isinstance(s, str)]
        self.v4 = tuple((int(n.network_address), int(n.netmask)) for n in nets if n.version == 4)
        self.v6 = tuple((int(n.network_address), int(n.netmask)) for n in nets if n.version == 6)

    def __contains__(self, address: object) -> bool:
        """Whether ``address`` (an ``ipaddress`` address, or None for a peer that is no IP
        address: a UNIX-domain socket) is trusted; IPv4-mapped IPv6 addresses match IPv4
        ranges, as in nginx."""
        if isinstance(address, IPv6Address):
            mapped = address.ipv4_mapped
            ranges = self.v6 if mapped is None else self.v4
            value = int(address if mapped is None else mapped)
        elif isinstance(address, IPv4Address):
            ranges = self.v4
            value = int(address)
        else:
            ranges = None
        if ranges is not None:
            for net, mask in ranges:  # a plain loop: any() with a generator costs more here
                if value & mask == net:
                    return True
            return False
        if address is None:
            return self.unix
        # (never compare an address with a str: ipaddress answers through an exception)
        return super().__contains__(address)


class RealIpFields(Model):
    """The ``LocationConfig`` fields of these directives (defaults are nginx's)."""

    set_real_ip_from: Annotated[list[TrustedSource], AfterValidator(TrustedProxies)] = []
    real_ip_header: str = "x-real-ip"  # a lower-cased field name, or "proxy_protocol"
    real_ip_recursive: bool = False
    absolute_redirect: bool = True
    port_in_redirect: bool = True


def parse_trusted_source(text: str) -> tuple[TrustedSource, bool] | None:
    """``(network, exact)`` for an address, a CIDR range or ``unix:``; ``exact`` is False
    when the address has bits set below the prefix (nginx warns that they are
    meaningless and masks them). None when ``text`` is none of these."""
    if text == "unix:":
        return "unix:", True
    return parse_cidr(text)


def _trusted_source(d: Directive, _: ParseContext) -> TrustedSource:
    arg = first_arg(d)
    parsed = parse_trusted_source(arg.value)
    if parsed is None:
        raise ValueProblem(
            "invalid-value",
            f'host not found in set_real_ip_from "{arg.value}"',
            arg.span,
            "give an IPv4 or IPv6 address, a CIDR range (10.0.0.0/8, 2001:db8::/32) or "
            "unix:; host names are not resolved",
        )
    return parsed[0]


def _real_ip_header(d: Directive, _: ParseContext) -> str:
    arg = first_arg(d)
    if arg.value == PROXY_PROTOCOL:
        return PROXY_PROTOCOL
    if not _TOKEN.fullmatch(arg.value):
        raise ValueProblem(
            "invalid-value",
            f'invalid header name "{arg.value}" in "real_ip_header" directive',
            arg.span,
            "X-Real-IP, X-Forwarded-For, proxy_protocol, or the name of the request "
            "header your proxy sets (e.g. CF-Connecting-IP)",
        )
    return arg.value.lower()


SPECS: list[DirectiveSpec] = [
    spec(
        "set_real_ip_from",
        "HSL",
        "set_real_ip_from ADDRESS|CIDR|unix:;",
        parse=_trusted_source,
        scope="location",
        field="set_real_ip_from",
        combine="append",
        summary="a proxy trusted to name the real client (and, webserv, its X-Forwarded-Proto)",
    ),
    spec(
        "real_ip_header",
        "HSL",
        "real_ip_header X-Real-IP|X-Forwarded-For|proxy_protocol|FIELD;",
        parse=_real_ip_header,
        scope="location",
        field="real_ip_header",
        default="X-Real-IP",
        summary="where a trusted proxy puts the real client address",
    ),
    spec(
        "real_ip_recursive",
        "HSL",
        "real_ip_recursive on|off;",
        parse=as_flag,
        scope="location",
        field="real_ip_recursive",
        default="off",
        summary="take the rightmost untrusted address of the header instead of the last one",
    ),
    spec(
        "absolute_redirect",
        "HSL",
        "absolute_redirect on|off;",
        parse=as_flag,
        scope="location",
        field="absolute_redirect",
        default="on",
        summary="off: redirects webserv builds send a relative Location",
    ),
    spec(
        "port_in_redirect",
        "HSL",
        "port_in_redirect on|off;",
        parse=as_flag,
        scope="location",
        field="port_in_redirect",
        default="on",
        summary="off: absolute redirects never name a port",
    ),
]
