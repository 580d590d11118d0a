"""``map``: parsing, nginx's precedence of exact strings, host masks and regexes, and the
diagnostics for a malformed map."""

from __future__ import annotations

import pytest

SERVER = "server {\n    listen 8080;\n    location / { }\n}\n"


def maps_of(result):
    assert result.config is not None, [d.message for d in result.diagnostics]
    return result.config.servers[0].locations[0].maps


def test_h5bp_cache_control_map_with_an_empty_quoted_key(load):
    maps = maps_of(
        load(
            "map $sent_http_content_type $cache_control {\n"
            '    default "public, immutable";\n'
            '    ""      "no-store";\n'
            '    ~*application/manifest\\+json "public";\n'
            '    ~*json  "";\n'
            "}\n" + SERVER
        )
    )
    table = maps["cache_control"]
    assert table.source == "$sent_http_content_type"
    assert table.lookup("")[0] == "no-store"
    assert table.lookup("application/manifest+json")[0] == "public"  # first regex wins
    assert table.lookup("application/JSON")[0] == ""  # ~* ignores case
    assert table.lookup("image/png")[0] == "public, immutable"


def test_strings_match_ignoring_case_and_regex_captures_are_returned(load):
    table = maps_of(
        load('map $uri $to {\n  /Old "new";\n  ~^/u/(?<id>\\d+)$ "/user/$id";\n}\n' + SERVER)
    )["to"]
    assert table.lookup("/OLD")[0] == "new"
    value, match = table.lookup("/u/42")
    assert value == "/user/$id" and match is not None and match.group("id") == "42"
    assert table.lookup("/nothing") == ("", None)  # no default: empty


def test_hostnames_masks_follow_nginx_precedence(load):
    table = maps_of(
        load(
            "map $http_host $name {\n  hostnames;\n  default 0;\n  example.com 1;\n"
            "  *.example.com 2;\n  .example.net 3;\n  wap.* 4;\n  ~^www 5;\n}\n" + SERVER
        )
    )["name"]
    hosts = ("example.com", "a.b.example.com", "example.net", "x.example.net", "wap.x.org",
             "www.z", "other")  # fmt: skip
    assert [table.lookup(h)[0] for h in hosts] == ["1", "2", "3", "3", "4", "5", "0"]


def test_an_escaped_special_name_is_a_plain_key(load):
    table = maps_of(load("map $arg_x $y {\n  default a;\n  \\default b;\n}\n" + SERVER))["y"]
    assert table.lookup("default")[0] == "b" and table.lookup("z")[0] == "a"


@pytest.mark.parametrize(
    ("body", "rule", "where"),
    [
        ("map $a b { }", "invalid-value", (1, 8)),
        ('map $a $b {\n  x "1" "2";\n}', "invalid-arg-count", (2, 3)),
        ("map $a $b {\n  x 1;\n  x 2;\n}", "duplicate-value", (3, 3)),
        ("map $a $b {\n  ~(x 1;\n}", "invalid-regex", (2, 3)),
    ],
)
def test_a_malformed_map_is_a_positioned_error(load, body, rule, where):
    result = load(body + "\n" + SERVER)
    (diag,) = result.diagnostics
    assert diag.rule == rule
    assert (diag.span.line, diag.span.col) == where


def test_map_is_allowed_only_at_the_top_level(load):
    result = load("server {\n  listen 8080;\n  map $a $b { }\n}\n")
    assert [d.rule for d in result.diagnostics] == ["not-allowed-here"]
