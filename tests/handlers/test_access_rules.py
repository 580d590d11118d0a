"""The access handler: nginx's first-match order per address family, IPv4-mapped IPv6
clients checked as IPv4, 403 on deny, enabled only where rules exist."""

from __future__ import annotations

import asyncio

import pytest

from framework.config.directives_access import AccessRule, parse_network
from framework.config.models import LocationConfig
from framework.handler import Handler
from framework.http.errors import HTTPError
from framework.http.request import Request
from framework.http.response import Response
from handlers.access import AccessChecker, AccessHandler


def rules(*specs: str) -> list[AccessRule]:
    out = []
    for spec in specs:
        action, value = spec.split()
        allow = action == "allow"
        if value in ("all", "unix:"):
            kind = "all" if value == "all" else "unix"
            out.append(AccessRule(allow=allow, kind=kind, text=value))
        else:
            out.append(AccessRule(allow=allow, network=parse_network(value), text=value))
    return out


@pytest.mark.parametrize(
    ("specs", "client", "allowed"),
    [
        (["deny 192.168.1.1", "allow 192.168.1.0/24", "deny all"], "192.168.1.1", False),
        (["deny 192.168.1.1", "allow 192.168.1.0/24", "deny all"], "192.168.1.7", True),
        (["deny 192.168.1.1", "allow 192.168.1.0/24", "deny all"], "10.0.0.1", False),
        (["allow 10.0.0.0/8"], "11.0.0.1", True),  # no rule matches: allowed
        (["deny ::1"], "::1", False),
        (["deny ::1"], "127.0.0.1", True),  # IPv6 rules never see IPv4 clients
        (["deny 127.0.0.1"], "::1", True),
        (["deny 2001:db8::/32", "allow all"], "2001:db8:1::5", False),
        (["deny 2001:db8::/32", "allow all"], "2001:db9::5", True),
        # an IPv4-mapped client is checked as IPv4 when there are IPv4 rules...
        (["deny 127.0.0.1", "allow all"], "::ffff:127.0.0.1", False),
        (["allow 127.0.0.1", "deny all"], "::ffff:127.0.0.1", True),
        (["deny ::ffff:127.0.0.1", "allow 10.0.0.1"], "::ffff:127.0.0.1", True),
        # ...and against the IPv6 rules only when there are none (nginx's order)
        (["deny ::ffff:127.0.0.1"], "::ffff:127.0.0.1", False),
        (["deny all"], "::ffff:127.0.0.1", False),
        # "unix:" matches clients on a UNIX-domain socket only; "all" every family
        (["deny unix:"], "127.0.0.1", True),
        (["deny unix:"], "unix:", False),
        (["allow 127.0.0.1", "deny all"], "unix:", False),
        (["allow unix:", "deny all"], "", True),
    ],
)
def test_first_matching_rule_decides(specs, client, allowed):
    assert AccessChecker(rules(*specs)).allowed(client) is allowed


def test_verdicts_are_cached_per_address():
    checker = AccessChecker(rules("deny 10.0.0.0/8"))
    for _ in range(3):
        assert checker.allowed("10.1.2.3") is False
    assert checker.allowed.cache_info().hits == 2


def _answer(location: LocationConfig, client: str) -> Response:
    handler = AccessHandler.from_location(location)
    assert handler is not None
    request = Request("GET", "/", "/", client=(client, 5000))

    async def served(request: Request) -> Response:
        return Response(200, b"ok")

    return asyncio.run(handler.handle(request, served))


def test_denied_clients_get_403_and_allowed_ones_reach_the_rest_of_the_chain():
    location = LocationConfig(access_rules=rules("allow 10.0.0.0/8", "deny all"))
    assert _answer(location, "10.9.9.9").status == 200
    with pytest.raises(HTTPError) as denied:
        _answer(location, "192.0.2.1")
    assert denied.value.status == 403


def test_enabled_only_where_rules_exist_and_answers_no_method_itself():
    assert AccessHandler.from_location(LocationConfig()) is None
    handler = AccessHandler.from_location(LocationConfig(access_rules=rules("deny all")))
    assert isinstance(handler, Handler) and handler.methods == frozenset()


def test_the_client_address_is_the_real_client_not_the_tcp_peer():
    # set_real_ip_from replaces request.client with the address a trusted proxy named
    location = LocationConfig(access_rules=rules("deny 203.0.113.7", "allow all"))
    handler = AccessHandler.from_location(location)
    assert handler is not None
    request = Request("GET", "/", "/", client=("203.0.113.7", 1))
    request.peer = ("127.0.0.1", 1)

    async def served(request: Request) -> Response:
        return Response(200)

    with pytest.raises(HTTPError):
        asyncio.run(handler.handle(request, served))
