"""Built-in handler: ``allow`` / ``deny`` (nginx's access module).

The rules of a location are tried in order against ``request.client`` (the real client
when ``set_real_ip_from`` trusts the peer, as in nginx); the first that matches decides,
a client no rule matches is allowed, a denied one gets 403. As in nginx, the rules are
split by address family once, when the location is compiled: an IPv4 client meets the IPv4
rules (and ``all``), an IPv6 one the IPv6 rules, and an IPv4-mapped IPv6 client
(``::ffff:a.b.c.d``) is checked as ``a.b.c.d`` against the IPv4 rules when there are any.
Verdicts are cached per address (bounded), so a returning client costs one dict lookup.
"""

from __future__ import annotations

import functools
import ipaddress

from framework.config.directives_access import AccessRule
from framework.config.models import LocationConfig
from framework.handler import CallNext, Handler, HandlerSettings
from framework.http.errors import HTTPError
from framework.http.request import Request
from framework.http.response import Response
from framework.logs import error_log
from framework.registry import registry

CACHED_ADDRESSES = 4096

Rule = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network | None, bool]
Rules = tuple[Rule, ...]


def _family_rules(rules: list[AccessRule], version: int | None) -> Rules:
    """The rules that apply to one family (4, 6, or None for UNIX-domain clients), in
    order: (network or None for all, allow)."""
    out: list[Rule] = []
    for rule in rules:
        if rule.kind == "all":
            out.append((None, rule.allow))
        elif rule.kind == "unix":
            if version is None:
                out.append((None, rule.allow))
        elif rule.network is not None and rule.network.version == version:
            out.append((rule.network, rule.allow))
    return tuple(out)


def _first_match(rules: Rules, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    for network, allow in rules:
        if network is None or address in network:
            return allow
    return True


class AccessChecker:
    """A location's rules, compiled: ``allowed(host)`` for a client address string."""

    def __init__(self, rules: list[AccessRule]) -> None:
        self.v4 = _family_rules(rules, 4)
        self.v6 = _family_rules(rules, 6)
        self.unix = _family_rules(rules, None)
        self.allowed = functools.lru_cache(maxsize=CACHED_ADDRESSES)(self._decide)

    def _decide(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:  # not an IP: a UNIX-domain client ("unix:" rules, "all")
            return self.unix[0][1] if self.unix else True
        if isinstance(address, ipaddress.IPv6Address):
            mapped = address.ipv4_mapped
            if mapped is not None and self.v4:
                return _first_match(self.v4, mapped)
            return _first_match(self.v6, address)
        return _first_match(self.v4, address)


class AccessHandler(Handler):
    """Answers 403 to a client the location's ``allow``/``deny`` rules deny."""

    name = "access"
    methods = frozenset()  # a check: it answers no method itself

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        self.checker = AccessChecker(location.access_rules)

    @classmethod
    def from_location(cls, location: LocationConfig) -> AccessHandler | None:
        """Enabled where the location has ``allow``/``deny`` rules."""
        return cls(cls.Settings(), location) if location.access_rules else None

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        if not self.checker.allowed(request.client[0]):
            error_log.error(
                'access forbidden by rule, client: %s, request: "%s %s HTTP/%s"',
                request.client[0],
                request.method,
                request.target,
                request.http_version,
            )
            raise HTTPError(403)
        return await call_next(request)


registry.register(AccessHandler)
