"""allow/deny, auth_basic and auth_basic_user_file: parsing, nginx's inheritance (a level
with any rule replaces the outer rules as a whole), and their diagnostics."""

from __future__ import annotations

import ipaddress

import pytest
from passlib.hash import bcrypt, des_crypt, sha512_crypt


def _location(result, pattern):
    (server,) = result.config.servers
    stack = list(server.locations)
    while stack:
        loc = stack.pop()
        if loc.pattern == pattern:
            return loc
        stack.extend(loc.children)
    raise AssertionError(pattern)


def _rules(loc):
    return [(r.allow, r.kind, str(r.network) if r.network else None) for r in loc.access_rules]


def _of(result, rule):
    return [d for d in result.diagnostics if d.rule == rule]


def test_allow_and_deny_fill_one_ordered_list(load):
    result = load(
        "server { location / { deny 192.168.1.1; allow 192.168.1.0/24; allow 2001:db8::/32;"
        " allow unix:; deny all; } }"
    )
    assert result.errors == []
    assert _rules(_location(result, "/")) == [
        (False, "ip", "192.168.1.1/32"),
        (True, "ip", "192.168.1.0/24"),
        (True, "ip", "2001:db8::/32"),
        (True, "unix", None),
        (False, "all", None),
    ]


def test_a_level_with_rules_replaces_the_inherited_ones_as_a_whole(load):
    result = load(
        "allow 10.0.0.0/8;\n"
        "server {\n deny 10.1.0.0/16;\n"
        " location /a/ { allow 127.0.0.1; location /a/b/ { } }\n"
        " location /c/ { }\n"
        "}\n"
    )
    (server,) = result.config.servers
    assert _rules(server.context) == [(False, "ip", "10.1.0.0/16")]
    assert _rules(_location(result, "/a/")) == [(True, "ip", "127.0.0.1/32")]
    assert _rules(_location(result, "/a/b/")) == [(True, "ip", "127.0.0.1/32")]
    assert _rules(_location(result, "/c/")) == [(False, "ip", "10.1.0.0/16")]


def test_host_bits_are_cleared_as_nginx_does_and_warned_about(load):
    result = load("server { location / { allow 127.0.0.5/24; allow ::1/64; } }")
    assert _rules(_location(result, "/")) == [
        (True, "ip", "127.0.0.0/24"),
        (True, "ip", "::/64"),
    ]
    diags = _of(result, "access-rule-host-bits")
    assert [d.severity for d in diags] == ["warning", "warning"]
    assert "low address bits of 127.0.0.5/24 are meaningless" in diags[0].message
    assert "allow 127.0.0.0/24;" in (diags[0].hint or "")
    assert _of(load("server { allow 10.0.0.0/8; allow 10.1.2.3; }"), "access-rule-host-bits") == []


@pytest.mark.parametrize(
    "value",
    ["foo", "10.0.0.0/33", "::1/129", "10.0.0.0/255.0.0.0", "fe80::1%eth0", "1.2.3", "", "unix"],
)
def test_an_invalid_address_is_an_error_at_the_argument(load, value):
    result = load(f'server {{\n  deny "{value}";\n}}\n')
    (error,) = result.errors
    assert error.rule == "invalid-value"
    assert error.message == f'invalid parameter "{value}"'
    assert (error.span.line, error.span.col) == (2, 8)


def test_rules_after_all_or_inside_an_earlier_network_never_match(load):
    result = load(
        "server {\n"
        " location / { allow 10.0.0.0/8; deny 10.1.0.0/16; allow all; deny 192.0.2.1;"
        " deny unix:; }\n"
        " location /ok/ { deny 10.1.0.0/16; allow 10.0.0.0/8; allow ::1; deny all; }\n"
        "}\n"
    )
    diags = _of(result, "access-rule-unreachable")
    assert [d.severity for d in diags] == ["warning"] * 3
    assert '"deny 10.1.0.0/16" can never match: "allow 10.0.0.0/8"' in diags[0].message
    assert '"deny 192.0.2.1" can never match: "allow all"' in diags[1].message
    assert '"deny unix:"' in diags[2].message


def test_an_ipv6_rule_does_not_shadow_an_ipv4_one(load):
    result = load("server { allow ::/0; deny 10.0.0.1; deny all; }")
    assert _of(result, "access-rule-unreachable") == []


def test_auth_basic_realm_off_and_inheritance(load):
    result = load(
        'auth_basic_user_file users;\nserver {\n auth_basic "Staff only";\n'
        " location /a/ { location /a/open/ { auth_basic off; } }\n"
        ' location /b/ { auth_basic "Other"; auth_basic_user_file /etc/other; }\n'
        "}\n",
    )
    assert result.errors == []
    a, a_open, b = (_location(result, p) for p in ("/a/", "/a/open/", "/b/"))
    assert (a.auth_basic, a.auth_basic_user_file) == (
        "Staff only",
        result.config.source.parent / "users",
    )
    assert a_open.auth_basic is None
    assert (b.auth_basic, str(b.auth_basic_user_file)) == ("Other", "/etc/other")


def test_a_realm_with_a_control_character_is_refused(load):
    (error,) = load('server { auth_basic "a\\nb"; auth_basic_user_file u; }').errors
    assert error.rule == "invalid-value" and "control character" in error.message


def test_auth_basic_twice_at_one_level_is_duplicate(load):
    result = load('server { auth_basic "a"; auth_basic "b"; auth_basic_user_file u; }')
    assert [e.rule for e in result.errors] == ["duplicate-directive"]


def test_auth_basic_without_a_user_file_is_an_error_at_the_realm(load):
    result = load('server {\n location /a/ {\n  auth_basic "x";\n }\n location /b/ { }\n}\n')
    (error,) = result.errors
    assert error.rule == "auth-basic-without-user-file"
    assert (error.span.line, error.span.col) == (3, 14)
    assert result.config is None
    # a user file at an outer level, with auth_basic switched on per location, is fine
    ok = load('auth_basic_user_file u;\nserver { location /a/ { auth_basic "x"; } }\n')
    assert ok.errors == []
    # every request matches "location /", which has the file: the server level is never used
    ok = load('server { auth_basic "x"; location / { auth_basic_user_file u; } }')
    assert ok.errors == []
    partial = load('server { auth_basic "x"; location /a/ { auth_basic_user_file u; } }')
    assert [e.rule for e in partial.errors] == ["auth-basic-without-user-file"]


def test_a_missing_or_unreadable_user_file_is_an_error(load, tmp_path):
    result = load('server {\n auth_basic "x";\n auth_basic_user_file nothere;\n}\n', check_fs=True)
    (error,) = result.errors
    assert error.rule == "htpasswd-unreadable"
    assert (error.span.line, error.span.col) == (3, 23)
    assert "No such file or directory" in error.message and "403" in (error.hint or "")
    (tmp_path / "dir").mkdir()
    result = load('server { auth_basic "x"; auth_basic_user_file dir; }', check_fs=True)
    assert [e.rule for e in result.errors] == ["htpasswd-unreadable"]
    assert "not a regular file" in result.errors[0].message
    # not checked with --no-fs, nor where auth_basic is off
    assert load('server { auth_basic "x"; auth_basic_user_file nothere; }').errors == []
    assert load("server { auth_basic_user_file nothere; }", check_fs=True).errors == []


def test_hashes_webserv_cannot_check_are_errors_at_the_file_line(load, tmp_path):
    users = tmp_path / "users"
    users.write_text(
        "# staff\n"
        f"good:{bcrypt.using(rounds=4).hash('pw')}\n"
        f"old:{des_crypt.hash('pw')}\n"
        "yes:$y$j9T$F5Jx5fExrKuJdvkRtA1tZ/$J3I3WbRqSJqEEJz1x5M0eGp0aTT8AN.6Rg0gMvRPvM7\n"
        "plain:secret\n"
        "nocolon\n"
        f"good:{sha512_crypt.using(rounds=5000).hash('pw')}\n"
    )
    result = load('server { auth_basic "x"; auth_basic_user_file users; }', check_fs=True)
    errors = _of(result, "htpasswd-unsupported-hash")
    assert [(e.span.file, e.span.line) for e in errors] == [(str(users), n) for n in (3, 4, 5)]
    assert errors[0].message.startswith('user "old": DES crypt is not supported')
    assert "yescrypt" in errors[1].message
    assert "plain text?" in errors[2].message
    assert "$" not in errors[0].message.replace("$y$", "")  # never the hash itself
    (dup,) = _of(result, "htpasswd-duplicate-user")
    assert dup.severity == "warning" and dup.span.line == 7


def test_a_user_file_without_users_and_slow_hashes_warn(load, tmp_path):
    (tmp_path / "empty").write_text("# nobody yet\n")
    result = load('server { auth_basic "x"; auth_basic_user_file empty; }', check_fs=True)
    assert [d.severity for d in _of(result, "htpasswd-no-users")] == ["warning"]
    (tmp_path / "slow").write_text(f"u:{sha512_crypt.using(rounds=200000).hash('pw')}\n")
    result = load('server { auth_basic "x"; auth_basic_user_file slow; }', check_fs=True)
    (slow,) = _of(result, "htpasswd-slow-hash")
    assert "200000 rounds" in slow.message and result.errors == []


def test_the_rules_are_typed_networks():
    from framework.config.directives_access import parse_network

    assert parse_network("::ffff:10.0.0.1") == ipaddress.ip_network("::ffff:10.0.0.1/128")
    assert parse_network("10.0.0.1/08") == ipaddress.ip_network("10.0.0.0/8")
    assert parse_network("10.0.0.1/") is None


def test_a_user_file_inside_a_served_root_warns(load, tmp_path):
    (tmp_path / "www" / "private").mkdir(parents=True)
    (tmp_path / "www" / ".htpasswd").write_text("u:{PLAIN}x\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "users").write_text("u:{PLAIN}x\n")
    protected = 'location /a/ { auth_basic "x"; auth_basic_user_file www/.htpasswd; }'
    (diag,) = _of(load(f"server {{ root www; {protected} }}"), "htpasswd-served")
    assert diag.severity == "warning" and '"/.htpasswd"' in diag.message
    assert "location = /.htpasswd { deny all; }" in (diag.hint or "")
    # an alias location serves it too
    alias = f"server {{ root data; {protected} location /files/ {{ alias www/; }} }}"
    (diag,) = _of(load(alias), "htpasswd-served")
    assert '"/files/.htpasswd"' in diag.message
    # not when a location denies it, or when it lives outside every root
    denied = f"server {{ root www; {protected} location ~ /\\. {{ deny all; }} }}"
    assert _of(load(denied), "htpasswd-served") == []
    outside = 'server { root www; auth_basic "x"; auth_basic_user_file data/users; }'
    assert _of(load(outside), "htpasswd-served") == []
