"""set_real_ip_from, real_ip_header, real_ip_recursive, absolute_redirect, port_in_redirect:
parsing, nginx's inheritance (a level's set_real_ip_from list replaces the inherited one)
and diagnostics (nginx 1.22's wording, checked with ``nginx -t``)."""

from __future__ import annotations

from ipaddress import ip_network

import pytest


def _context(result, server: int = 0):
    assert not result.errors, result.errors
    return result.config.servers[server].context


def test_defaults_are_nginx_defaults(load):
    ctx = _context(load("server { }\n"))
    assert ctx.set_real_ip_from == []
    assert ctx.real_ip_header == "x-real-ip"
    assert ctx.real_ip_recursive is False
    assert ctx.absolute_redirect is True and ctx.port_in_redirect is True


def test_addresses_ranges_and_unix_are_parsed(load):
    ctx = _context(
        load(
            "server {\n  set_real_ip_from 10.0.0.0/8;\n  set_real_ip_from 192.0.2.7;\n"
            "  set_real_ip_from 2001:db8::/32;\n  set_real_ip_from ::1;\n"
            "  set_real_ip_from unix:;\n  set_real_ip_from 172.16.0.0/012;\n}\n"
        )
    )
    assert ctx.set_real_ip_from == [
        ip_network("10.0.0.0/8"),
        ip_network("192.0.2.7/32"),
        ip_network("2001:db8::/32"),
        ip_network("::1/128"),
        "unix:",
        ip_network("172.16.0.0/12"),  # nginx reads the prefix with atoi: 012 is 12
    ]


def test_header_names_are_kept_lower_case_and_proxy_protocol_is_special(load):
    result = load(
        "server {\n  real_ip_header X-Forwarded-For;\n"
        "  location /a { real_ip_header proxy_protocol; }\n"
        "  location /b { real_ip_header CF-Connecting-IP; }\n}\n"
    )
    ctx = _context(result)
    a, b = result.config.servers[0].locations
    assert ctx.real_ip_header == "x-forwarded-for"
    assert a.real_ip_header == "proxy_protocol"
    assert b.real_ip_header == "cf-connecting-ip"


def test_set_real_ip_from_at_a_level_replaces_the_inherited_list(load):
    result = load(
        "set_real_ip_from 10.0.0.0/8;\nset_real_ip_from 192.0.2.1;\nreal_ip_recursive on;\n"
        "server {\n  location /keep/ { }\n"
        "  location /own/ {\n    set_real_ip_from 198.51.100.0/24;\n"
        "    location /own/inner/ { port_in_redirect off; }\n  }\n}\n"
        "server { set_real_ip_from ::1; absolute_redirect off; }\n"
    )
    keep, own = result.config.servers[0].locations
    inner = own.children[0]
    assert keep.set_real_ip_from == [ip_network("10.0.0.0/8"), ip_network("192.0.2.1/32")]
    assert own.set_real_ip_from == [ip_network("198.51.100.0/24")]
    assert inner.set_real_ip_from == own.set_real_ip_from
    assert inner.real_ip_recursive is True and inner.port_in_redirect is False
    second = _context(result, 1)
    assert second.set_real_ip_from == [ip_network("::1/128")]
    assert second.absolute_redirect is False and second.real_ip_recursive is True


@pytest.mark.parametrize(
    "value", ["garbage", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/-1", "localhost",
              "01.2.3.4", "fe80::1%eth0", "10.0.0.0/255.0.0.0"],
)  # fmt: skip
def test_what_is_no_address_or_range_is_a_positioned_error(load, rules, value):
    result = load(f"server {{\n  set_real_ip_from {value};\n}}\n")
    assert rules(result) == ["invalid-value"]
    error = result.diagnostics[0]
    assert error.message == f'host not found in set_real_ip_from "{value}"'
    assert (error.span.line, error.span.col) == (2, 20)
    assert "CIDR" in error.hint and "not resolved" in error.hint


def test_host_bits_set_is_a_warning_and_the_whole_range_is_trusted(load, rules):
    result = load(
        "server {\n  set_real_ip_from 10.0.0.1/8;\n  set_real_ip_from 2001:db8::1/32;\n}\n"
    )
    assert rules(result) == ["low-address-bits", "low-address-bits"]
    first = result.diagnostics[0]
    assert first.severity == "warning"
    assert first.message == "low address bits of 10.0.0.1/8 are meaningless"  # nginx's words
    assert (first.span.line, first.span.col) == (2, 20)
    assert "10.0.0.0/8" in first.hint
    assert result.config.servers[0].context.set_real_ip_from[0] == ip_network("10.0.0.0/8")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("real_ip_recursive yes;",
         'invalid value "yes" in "real_ip_recursive" directive, it must be "on" or "off"'),
        ("absolute_redirect maybe;",
         'invalid value "maybe" in "absolute_redirect" directive, it must be "on" or "off"'),
        ("port_in_redirect 1;",
         'invalid value "1" in "port_in_redirect" directive, it must be "on" or "off"'),
        ('real_ip_header "X Real IP";',
         'invalid header name "X Real IP" in "real_ip_header" directive'),
        ('real_ip_header "";', 'invalid header name "" in "real_ip_header" directive'),
    ],
)  # fmt: skip
def test_bad_values_are_errors_with_nginx_wording(load, rules, line, message):
    result = load(f"server {{ set_real_ip_from 10.0.0.0/8; {line} }}\n")
    assert rules(result) == ["invalid-value"]
    assert result.diagnostics[0].message == message


def test_argument_count_and_duplicates_are_checked(load, rules):
    result = load(
        "server {\n  set_real_ip_from ::1;\n  set_real_ip_from 10.0.0.0/8 extra;\n"
        "  real_ip_header a b;\n  real_ip_recursive on;\n  real_ip_recursive off;\n}\n"
    )
    assert rules(result) == ["invalid-arg-count", "invalid-arg-count", "duplicate-directive"]
    assert result.diagnostics[0].message == (
        'invalid number of arguments in "set_real_ip_from" directive'
    )


def test_directives_are_allowed_at_every_level_but_not_elsewhere(load, rules):
    result = load(
        "set_real_ip_from 10.0.0.0/8;\nreal_ip_header X-Forwarded-For;\nreal_ip_recursive on;\n"
        "absolute_redirect off;\nport_in_redirect off;\n"
        "server { location / { set_real_ip_from ::1; absolute_redirect on; } }\n"
    )
    assert rules(result) == []


def test_real_ip_header_without_any_trusted_proxy_is_a_warning(load, rules):
    result = load(
        "server {\n  real_ip_header X-Forwarded-For;\n}\n"
        "server {\n  listen 8081;\n  real_ip_header X-Forwarded-For;\n"
        "  location / { set_real_ip_from 10.0.0.0/8; }\n}\n"
    )
    assert rules(result) == ["real-ip-untrusted"]
    assert result.diagnostics[0].span.line == 2
