"""Hostile and absurd input through ``load_config``: every case ends in diagnostics (with a
rule ID and a position), never in a Python exception and never in a silently wrong value."""

from __future__ import annotations

import pytest

from framework.config.build import load_config


def errors(result):
    return [d for d in result.diagnostics if d.severity == "error"]


def no_internal_errors(result) -> None:
    assert not [d for d in result.diagnostics if d.rule == "internal-error"]


def in_server(line: str) -> str:
    return f"server {{\n    {line}\n}}\n"


# (directive line inside a server block, expected rule) -- each must be rejected
BAD_SERVER_LINES = [
    ("listen 0;", "invalid-port"),
    ("listen 65536;", "invalid-port"),
    ("listen -1;", "invalid-port"),
    ("listen 99999999999999999999999;", "invalid-port"),
    ("listen 1e3;", "invalid-listen"),
    ("listen ²;", "invalid-port"),  # str.isdigit() is True, int() raises
    ("listen ٣;", "invalid-port"),  # an Arabic-Indic digit that int() would read as 3
    ("listen 127.0.0.1:٨٠;", "invalid-port"),
    ("listen ::1;", "invalid-listen"),
    ("listen [::1]x;", "invalid-listen"),
    ("listen [zz]:80;", "invalid-listen"),
    ("listen 1.2.3.4:;", "invalid-port"),
    ("listen 80 default_server default_server;", "invalid-value"),
    ("listen 80 quic;", "unsupported-feature"),
    ("client_max_body_size 10mb;", "invalid-size"),
    ("client_max_body_size 1.5m;", "invalid-size"),
    ("client_max_body_size 0x10;", "invalid-size"),
    ("client_max_body_size -1;", "invalid-size"),
    ("client_max_body_size ²;", "invalid-size"),
    ("client_max_body_size ٣;", "invalid-size"),
    ("client_max_body_size 99999999999999999999g;", "invalid-size"),
    ("client_max_body_size 1 m;", "invalid-arg-count"),
    ("client_max_body_size;", "invalid-arg-count"),
    ("keepalive_timeout -5s;", "invalid-time"),
    ("keepalive_timeout 1e400;", "invalid-time"),
    ("keepalive_timeout 1min;", "invalid-time"),
    ("keepalive_timeout ٣s;", "invalid-time"),
    ("keepalive_timeout " + "9" * 400 + "h;", "invalid-time"),  # float() would give inf
    ("keepalive_timeout 400d;", "invalid-time"),
    ("return ² /x;", "invalid-status"),
    ("return 99999999999999999999999;", "invalid-status"),
    ("return 200 a b;", "invalid-arg-count"),
    ("return nowhere;", "invalid-status"),
    ("return 1000;", "invalid-status"),
    ("return 99;", "invalid-status"),
    ("error_page ²²² /x;", "invalid-status"),
    ("error_page ٤٠٤ /x;", "invalid-status"),
    ("error_page 404;", "invalid-arg-count"),
    ("error_page =200 /x;", "invalid-arg-count"),
    ("error_page 404 =abc /x;", "invalid-status"),
    ("error_page 404 x.html;", "invalid-value"),
    ("root;", "invalid-arg-count"),
    ('root "";', "invalid-value"),
    ("root a b;", "invalid-arg-count"),
    ("root www { }", "unexpected-block"),
    ("alias /x;", "not-allowed-here"),
    ("upload_store /x;", "not-allowed-here"),
    ('index "";', "invalid-value"),
    ("allow_methods get FOO;", "invalid-value"),
    ("allow_methods;", "invalid-arg-count"),
    ("autoindex yes;", "invalid-value"),
    ("autoindex on off;", "invalid-arg-count"),
    ("autoindex_format xml;", "invalid-value"),
    ("types { text/html; }", "invalid-arg-count"),
    ("types { html text/html; }", "invalid-value"),
    ("types { text/html { } }", "invalid-arg-count"),
    ('types { a/b ""; }', "invalid-value"),
    ("types text/html html;", "missing-block"),
    ("cgi py;", "invalid-value"),
    ("cgi .;", "invalid-value"),
    ('cgi .py "";', "invalid-value"),
    ("cgi .py a b c;", "invalid-arg-count"),
    ("cgi .py /usr/bin/python3 virtual virtual;", "invalid-arg-count"),
    ("access_log;", "invalid-arg-count"),
    ("access_log off xml;", "invalid-value"),
    ('access_log "";', "invalid-value"),
    ("server_name ~(;", "invalid-regex"),
    ("location ~ ( { }", "invalid-regex"),
    ("location ~* [ { }", "invalid-regex"),
    ('location ~ "(?P<n>x)(?P<n>y)" { }', "invalid-regex"),
    ('location ~ "a{4294967296}" { }', "invalid-regex"),  # OverflowError, not re.error
    ('server_name "~a{99999999999999999999}";', "invalid-regex"),
    ('location ~ "' + "(" * 5000 + "a" + ")" * 5000 + '" { }', "invalid-regex"),  # recursion
    ('location "" { }', "invalid-location"),
    ("location = { }", "invalid-location"),
    ("location @x @y { }", "invalid-location"),
    ("location @named { }", "unsupported-feature"),
    ("error_page 404 @named;", "unsupported-feature"),
    ("location / ;", "missing-block"),
    ("location;", "missing-block"),
    ("location / { root a; alias b; }", "root-with-alias"),
    ("location /a { location /b { } }", "location-outside-parent"),
    ("location = /a { location /a/b { } }", "location-outside-parent"),
    ("location ~ ^/a { location /a { } }", "location-outside-parent"),
    ("handler;", "invalid-arg-count"),
    ("handler static static;", "invalid-arg-count"),
    ('handler "";', "unknown-handler"),
    ("handler nosuch;", "unknown-handler"),
    ("handler static { foo 1; }", "unknown-handler-setting"),
    ("handler static { x { y { z 1; } } }", "unknown-handler-setting"),
    ("workers 2;", "not-allowed-here"),
    ("server { }", "not-allowed-here"),
    ("${A} 1;", "unknown-directive"),
    ("root ${UNSET};", "undefined-variable"),
    ("root ${};", "invalid-variable"),
    ("root ${A;", "unterminated-variable"),
]


@pytest.mark.parametrize(
    ("line", "rule"), BAD_SERVER_LINES, ids=[c[0][:40] for c in BAD_SERVER_LINES]
)
def test_an_absurd_server_directive_is_a_positioned_error_not_a_crash(load, line, rule):
    result = load(in_server(line), env={"A": "x"})
    assert result.config is None
    no_internal_errors(result)
    found = errors(result)
    assert rule in [d.rule for d in found], [(d.rule, d.message) for d in found]
    for diag in found:
        assert diag.span is not None and diag.span.line >= 1 and diag.span.col >= 1


BAD_GLOBAL_LINES = [
    ("workers 0;", "invalid-value"),
    ("workers 5000;", "invalid-value"),
    ("workers ²;", "invalid-value"),
    ("workers 99999999999999999999;", "invalid-value"),
    ("max_connections ²;", "invalid-value"),
    ("max_connections 0;", "invalid-value"),
    ("max_connections 99999999999;", "invalid-value"),
    ("event_loop trio;", "invalid-value"),
    ("error_log x bogus;", "invalid-value"),
    ('error_log "";', "invalid-value"),
    ('pid "";', "invalid-value"),
    ("shutdown_timeout forever;", "invalid-time"),
    ('load_module "";', "load-module-failed"),
    ("load_module ..;", "load-module-failed"),
    ("load_module no_such_module_anywhere;", "load-module-failed"),
    ("http { http { } }", "not-allowed-here"),
    ("listen 80;", "not-allowed-here"),
    ("location / { }", "not-allowed-here"),
    ("}", "unbalanced-brace"),
    ("server {", "unbalanced-brace"),
    ("{ }", "unbalanced-brace"),
    (";;", "syntax-error"),
    ('server { root "abc; }', "unterminated-string"),
]


@pytest.mark.parametrize(("text", "rule"), BAD_GLOBAL_LINES, ids=[c[0] for c in BAD_GLOBAL_LINES])
def test_an_absurd_top_level_directive_is_a_positioned_error_not_a_crash(load, text, rule):
    result = load(text + "\n")
    assert result.config is None
    no_internal_errors(result)
    assert rule in [d.rule for d in errors(result)]


def test_accepted_listen_forms_give_literal_addresses(load):
    text = "server {\n  listen [::1]:81;\n  listen localhost:82;\n  listen *:83;\n  listen 84;\n}\n"
    result = load(text)
    assert [(x.host, x.port) for x in result.config.servers[0].listens] == [
        ("::1", 81),
        ("127.0.0.1", 82),
        ("0.0.0.0", 83),
        ("0.0.0.0", 84),
    ]


def test_typo_hints_say_what_to_write_instead(load):
    text = in_server(
        "client_max_body_size 10mb;\n    location / { client_max_body_size 1.5m;"
        " autoindex yes; send_timeout 1min; autoindex_format JSON; }\n"
        "    location /t/ { keepalive_timeout 10 s; }"
    )
    hints = {d.message.split(" in ")[0]: d.hint for d in load(text).diagnostics}
    assert hints['invalid size "10mb"'].startswith('did you mean "10m"?')
    assert hints['invalid size "1.5m"'].startswith('did you mean "1536k"?')
    assert hints['invalid value "yes"'] == 'did you mean "on"?'
    assert hints['invalid time "1min"'].startswith('did you mean "1m"?')
    assert hints['invalid value "JSON"'] == 'did you mean "json"?'
    assert hints['"keepalive_timeout" directive is not allowed here'].startswith('"keepalive')


def test_a_number_and_unit_written_apart_suggest_the_joined_form(load):
    (diag,) = errors(load(in_server("send_timeout 10 s;")))
    assert diag.rule == "invalid-arg-count"
    assert diag.hint == 'did you mean "10s"? (no space between a number and its unit)'


def test_a_variable_in_a_directive_name_explains_where_variables_work(load):
    (diag,) = errors(load(in_server("${A} on;"), env={"A": "autoindex"}))
    assert diag.hint == "environment variables are expanded in arguments, not in directive names"


def test_variables_work_in_every_argument_position(load, tmp_path):
    (tmp_path / "inc.conf").write_text("server { listen ${PORT}; }\n")
    text = (
        "include ${INC};\n"
        "server {\n  listen 127.0.0.1:${PORT2} default_server;\n  server_name ${NAME} b.test;\n"
        '  root "${ROOT:-www}/x";\n  location ${LOC} { return 302 "${TARGET}"; }\n'
        "  location /h/ { handler static; cgi .py ${PY:-/usr/bin/python3}; }\n}\n"
    )
    env = {"INC": "inc.conf", "PORT": "81", "PORT2": "82", "NAME": "a.test", "LOC": "/a/",
           "TARGET": "http://t.test/"}  # fmt: skip
    result = load(text, env=env)
    assert result.errors == [], [d.message for d in result.errors]
    first, second = result.config.servers
    assert first.listens[0].port == 81
    assert second.listens[0].port == 82 and second.server_names == ["a.test", "b.test"]
    assert second.context.root == tmp_path / "www" / "x"
    (loc, _) = second.locations
    assert loc.pattern == "/a/" and loc.return_.url == "http://t.test/"


def test_a_variable_that_expands_to_syntax_stays_one_argument(load):
    result = load(in_server("server_name ${S};"), env={"S": "x; listen 1 }"})
    assert result.errors == []
    assert result.config.servers[0].server_names == ["x; listen 1 }"]


def test_duplicates_across_included_files_name_the_included_file(load, tmp_path):
    (tmp_path / "site.conf").write_text("server { listen 81; server_name x; }\n")
    (tmp_path / "loc.conf").write_text("location /a/ { }\n")
    text = (
        "include site.conf;\ninclude site.conf;\nserver { include loc.conf; include loc.conf; }\n"
    )
    result = load(text)
    by_rule = {d.rule: d for d in result.errors}
    conflict = by_rule["conflicting-server-name"]
    assert conflict.span.file.endswith("site.conf")
    duplicate = by_rule["duplicate-location"]
    assert duplicate.span.file.endswith("loc.conf") and duplicate.include_chain


def test_an_include_cycle_through_a_glob_is_an_error(load, tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "a.conf").write_text("include *.conf;\n")  # relative to the main file
    (tmp_path / "conf.d" / "b.conf").write_text("server { listen 81; }\n")
    result = load("include conf.d/*.conf;\n")
    assert "include-cycle" in [d.rule for d in result.errors]
    no_internal_errors(result)


def test_deep_nesting_is_an_error_not_a_recursion_crash(load):
    result = load("server {" + "location /a {" * 3000 + "}" * 3000 + "}\n")
    assert result.config is None
    assert "nesting-too-deep" in [d.rule for d in result.errors]


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe\x00garbage",
        b"server { root \xe9; }\n",
        b"\xef\xbb\xbfserver { listen 81; }\n",  # a UTF-8 BOM is fine
        b"server {\r\n listen 81;\r\n}\r\n",
        b"server {\r listen 81;\r}\r",
        b"server { root a\x00b; }\n",
    ],
)
def test_odd_bytes_are_diagnosed_or_accepted_but_never_crash(tmp_path, data):
    path = tmp_path / "webserv.conf"
    path.write_bytes(data)
    result = load_config(path, check_fs=True, env={})
    no_internal_errors(result)
    assert (result.config is None) == bool(result.errors)


def test_lints_on_paths_that_the_os_rejects_do_not_crash(load):
    result = load(
        in_server("root /tmp/;\n    location / { alias /tmp/x/; upload_store /tmp/u; cgi .py; }"),
        check_fs=True,
    )
    no_internal_errors(result)


def test_a_bug_in_a_lint_is_reported_as_a_diagnostic(load, monkeypatch):
    from framework.config import lint

    def broken(model, ctx):
        raise RuntimeError("boom")
        yield

    monkeypatch.setattr(lint, "RULES", [lint.LintRule("broken", "x", broken)])
    result = load(in_server("root .;"))
    (diag,) = [d for d in result.diagnostics if d.rule == "internal-error"]
    assert "running the broken lint" in diag.message and "boom" in diag.message


def test_a_bug_in_the_builder_is_reported_as_a_diagnostic(load, monkeypatch):
    from framework.config import build

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(build, "build_config", broken)
    result = load(in_server("root .;"))
    assert result.config is None
    assert [d.rule for d in result.diagnostics] == ["internal-error"]


def test_a_plugin_module_that_exits_at_import_is_a_config_error(load, tmp_path):
    (tmp_path / "exits_at_import.py").write_text("import sys\nsys.exit(5)\n")
    result = load("load_module exits_at_import;\n")
    (diag,) = errors(result)
    assert diag.rule == "load-module-failed" and diag.span.line == 1
    assert diag.message.endswith("it called sys.exit(5)")
