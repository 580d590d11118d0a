"""``add_header-redefinition``: a level that sets add_header drops the inherited ones."""

from __future__ import annotations

from framework.config.lint_headers import HINT, RULE


def redefinitions(result):
    return [d for d in result.diagnostics if d.rule == RULE]


def test_location_add_header_dropping_the_servers_security_headers(load, tmp_path):
    result = load(
        "server { listen 8080;\n"
        '    add_header X-Frame-Options "SAMEORIGIN" always;\n'
        "    add_header X-Content-Type-Options nosniff always;\n"
        "    location /assets/ {\n"
        '        add_header Cache-Control "public, immutable";\n'
        "    }\n"
        "}\n"
    )
    assert result.config is not None
    (found,) = redefinitions(result)
    conf = tmp_path / "webserv.conf"
    assert found.severity == "warning"
    assert found.message == (
        '"add_header" in this location drops the inherited '
        f'"X-Frame-Options" (set at {conf}:2:5), "X-Content-Type-Options" (set at {conf}:3:5)'
    )
    assert (found.span.line, found.span.col) == (5, 9)
    assert found.hint == HINT


def test_server_add_header_dropping_the_top_level_ones(load, tmp_path):
    result = load(
        "add_header Strict-Transport-Security max-age=31536000;\n"
        "server { listen 8080;\n    add_header X-Served-By a;\n}\n"
    )
    (found,) = redefinitions(result)
    assert found.message == (
        '"add_header" in this server drops the inherited '
        f'"Strict-Transport-Security" (set at {tmp_path / "webserv.conf"}:1:1)'
    )
    assert found.span.line == 3


def test_nested_location_names_where_the_header_really_comes_from(load, tmp_path):
    result = load(
        "add_header X-Top t;\n"
        "server { listen 8080;\n"
        "    location /a/ {\n"
        "        location /a/b/ { add_header X-B b; }\n"
        "    }\n"
        "}\n"
    )
    (found,) = redefinitions(result)
    assert found.message.endswith(f'"X-Top" (set at {tmp_path / "webserv.conf"}:1:1)')
    assert found.span.line == 4


def test_no_warning_when_every_inherited_header_is_repeated(load):
    result = load(
        "server { listen 8080;\n"
        "    add_header X-Frame-Options DENY always;\n"
        "    location / { add_header x-frame-options DENY always; add_header X-More m; }\n"
        "    location /plain/ { }\n"
        "}\n"
    )
    assert redefinitions(result) == []


def test_no_warning_without_inherited_headers(load):
    result = load("server { listen 8080; location / { add_header X-A a; } }\n")
    assert redefinitions(result) == []


def test_one_warning_per_level_each_header_named_once(load):
    result = load(
        "server { listen 8080;\n"
        "    add_header X-A 1;\n"
        "    add_header X-A 2;\n"
        "    location /x/ { add_header X-B b; add_header X-C c; }\n"
        "}\n"
    )
    (found,) = redefinitions(result)
    assert found.message.count('"X-A"') == 1
