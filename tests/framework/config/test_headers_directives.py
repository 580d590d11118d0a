"""``add_header``, ``expires``, ``charset``, ``charset_types``, ``server_tokens``: parsing,
nginx's inheritance (a level with any add_header replaces the outer ones) and the
diagnostics for bad values."""

from __future__ import annotations

import pytest

from framework.config.directives_headers import (
    DEFAULT_CHARSET_TYPES,
    Expires,
    parse_expires_value,
    parse_ngx_time,
)


def locations(result):
    assert result.config is not None, [d.message for d in result.diagnostics]
    server = result.config.servers[0]
    return server.context, {loc.pattern: loc for loc in server.locations}


def only_error(result):
    errors = result.errors
    assert len(errors) == 1, [(d.rule, d.message) for d in result.diagnostics]
    return errors[0]


def test_defaults_are_nginx_defaults(load):
    context, _ = locations(load("server { listen 8080; }\n"))
    assert context.add_headers == []
    assert context.expires is None
    assert context.charset is None
    assert context.charset_types == DEFAULT_CHARSET_TYPES
    assert context.server_tokens is True


def test_add_header_levels_replace_the_outer_list_as_a_whole(load):
    context, locs = locations(
        load(
            "add_header X-Top t;\n"
            "server { listen 8080;\n"
            "  add_header X-Frame-Options DENY always;\n"
            '  add_header X-Frame-Options "SAMEORIGIN";\n'
            "  location /inherits/ { }\n"
            "  location /own/ { add_header Cache-Control public; }\n"
            "  location /nested/ { location /nested/deeper/ { } }\n"
            "}\n"
        )
    )
    assert [(h.name, h.value, h.always) for h in context.add_headers] == [
        ("X-Frame-Options", "DENY", True),
        ("X-Frame-Options", "SAMEORIGIN", False),
    ]
    assert context.add_headers[0].span is not None and context.add_headers[0].span.line == 3
    assert locs["/inherits/"].add_headers == context.add_headers
    assert [h.name for h in locs["/own/"].add_headers] == ["Cache-Control"]
    assert locs["/nested/"].children[0].add_headers == context.add_headers


def test_top_level_add_header_reaches_a_server_without_its_own(load):
    context, _ = locations(load("add_header X-Top t;\nserver { listen 8080; }\n"))
    assert [h.name for h in context.add_headers] == ["X-Top"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", Expires(mode="access", seconds=3600)),
        ("modified 1h", Expires(mode="modified", seconds=3600)),
        ("-1", Expires(mode="access", seconds=-1)),
        ("+30d", Expires(mode="access", seconds=30 * 86400)),
        ("1y", Expires(mode="access", seconds=365 * 86400)),
        ("1M", Expires(mode="access", seconds=30 * 86400)),
        ('"1d 12h"', Expires(mode="access", seconds=36 * 3600)),
        ("@15h30m", Expires(mode="daily", seconds=15 * 3600 + 1800)),
        ("epoch", Expires(mode="epoch")),
        ("max", Expires(mode="max")),
        ("modified epoch", Expires(mode="epoch")),
        ("off", None),
        ("$expires", Expires(mode="access", template="$expires")),
        ("modified $expires", Expires(mode="modified", template="$expires")),
    ],
)
def test_expires_values(load, text, expected):
    config = "map $uri $expires { default 1h; }\n" if "$" in text else ""
    context, _ = locations(load(config + f"server {{ listen 8080; expires {text}; }}\n"))
    assert context.expires == expected


def test_expires_off_in_a_location_cancels_the_inherited_one(load):
    context, locs = locations(
        load("expires max;\nserver { listen 8080; location /x/ { expires off; } }\n")
    )
    assert context.expires == Expires(mode="max")
    assert locs["/x/"].expires is None


@pytest.mark.parametrize(
    ("text", "message", "hint_part"),
    [
        ("1x", 'invalid value "1x" in "expires" directive', "TIME is a number"),
        ("1m1h", 'invalid value "1m1h" in "expires" directive', "TIME is a number"),
        ("500ms", 'invalid value "500ms" in "expires" directive', "TIME is a number"),
        ("1000y", 'invalid value "1000y" in "expires" directive', 'write "max"'),
        ("@25h", 'daily time value must be less than 24 hours in "expires" directive', "@15h30m"),
        ("modified @1h", 'daily time cannot be used with "modified" parameter', "drop"),
        ("changed 1h", 'invalid value "changed" in "expires" directive', '"modified"'),
    ],
)
def test_expires_errors(load, text, message, hint_part):
    error = only_error(load(f"server {{ listen 8080;\n  expires {text};\n}}\n"))
    assert error.rule == "invalid-value"
    assert error.message == message
    assert hint_part in (error.hint or "")
    assert error.span is not None and error.span.line == 2


def test_ngx_time_syntax():
    assert parse_ngx_time("90") == 90
    assert parse_ngx_time("1h30m") == 5400
    assert parse_ngx_time("1w 2d") == 9 * 86400
    assert parse_ngx_time("1h30") == 3630  # a trailing bare number is seconds, as nginx
    for bad in ("", "h", "1hh", "1s1h", " 1h", "1.5h", "-1"):
        assert parse_ngx_time(bad) is None, bad
    assert parse_expires_value("off") is None
    assert parse_expires_value("-1h") == Expires(seconds=-3600)
    assert parse_expires_value("x") == "invalid value"


def test_add_header_errors(load):
    error = only_error(load("server { listen 8080; add_header X-A a sometimes; }\n"))
    assert error.message == 'invalid parameter "sometimes" in "add_header" directive'
    error = only_error(load('server { listen 8080; add_header "X A" a; }\n'))
    assert error.message == 'invalid header name "X A" in "add_header" directive'
    error = only_error(load('server { listen 8080; add_header X-A "a\\nb"; }\n'))
    assert error.message == 'control character in the value of "add_header X-A"'
    error = only_error(load("server { listen 8080; add_header X-A; }\n"))
    assert error.rule == "invalid-arg-count"


def test_charset_and_charset_types(load):
    context, locs = locations(
        load(
            "charset utf-8;\n"
            "server { listen 8080;\n"
            "  location /css/ { charset_types text/css Text/XML; }\n"
            "  location /any/ { charset_types *; }\n"
            "  location /off/ { charset off; }\n"
            "}\n"
        )
    )
    assert context.charset == "utf-8"
    assert locs["/css/"].charset_types == ["text/css", "text/xml"]
    assert locs["/css/"].charset == "utf-8"
    assert locs["/any/"].charset_types == ["*"]
    assert locs["/off/"].charset is None


def test_charset_errors(load):
    error = only_error(load("server { listen 8080; charset_types text; }\n"))
    assert error.message == 'invalid MIME type "text" in "charset_types" directive'
    error = only_error(load('server { listen 8080; charset "utf 8"; }\n'))
    assert error.message == 'invalid charset "utf 8" in "charset" directive'
    error = only_error(load("server { listen 8080; charset $charset; }\n"))
    assert error.rule == "unsupported-feature"


def test_server_tokens(load):
    context, locs = locations(
        load("server_tokens off;\nserver { listen 8080; location /v/ { server_tokens on; } }\n")
    )
    assert context.server_tokens is False
    assert locs["/v/"].server_tokens is True


def test_server_tokens_build_is_refused_with_a_hint(load):
    error = only_error(load("server { listen 8080; server_tokens build; }\n"))
    assert error.rule == "unsupported-feature"
    assert error.message == (
        'invalid value "build" in "server_tokens" directive: webserv has no build name'
    )
    assert error.hint == 'write "on" (webserv/VERSION) or "off" (webserv, no version)'
    error = only_error(load("server { listen 8080; server_tokens yes; }\n"))
    assert error.hint == 'did you mean "on"?'


def test_expires_twice_at_one_level_is_a_duplicate(load):
    error = only_error(load("server { listen 8080; expires 1h; expires 2h; }\n"))
    assert error.rule == "duplicate-directive"
