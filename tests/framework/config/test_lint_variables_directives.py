"""``variable-not-expanded`` directive by directive: which arguments webserv expands, and
whether nginx 1.22 would have (the tables in ``lint_variables`` are checked against
``nginx -t``, which rejects an unknown variable only where it expands variables)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from framework.config.lint_variables import NGINX_EXPANDS, NGINX_LITERAL, WORKAROUNDS

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
requires_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")

# directive -> (webserv config, the same directive for nginx: "main" text, "http" text);
# $zz is the variable, never defined
NGINX_EXPANDS_CASES = {
    "root": ("server { location / { root /srv/$zz; } }", "", "root /srv/$zz;"),
    "alias": (
        "server { location /a/ { alias /srv/$zz/; } }",
        "",
        "server { location /a/ { alias /srv/$zz/; } }",
    ),
    "index": ("server { location / { index $zz.html; } }", "", "index $zz.html;"),
    "access_log": ("server { access_log /tmp/$zz.log; }", "", "access_log /tmp/$zz.log;"),
    "ssl_certificate": (
        "server { ssl_certificate /tmp/$zz.pem; ssl_certificate_key /tmp/k.pem; }",
        "",
        "server { ssl_certificate /tmp/$zz.pem; ssl_certificate_key /tmp/$host.key; }",
    ),
    "ssl_certificate_key": (
        "server { ssl_certificate /tmp/c.pem; ssl_certificate_key /tmp/$zz.pem; }",
        "",
        "server { ssl_certificate /tmp/$host.pem; ssl_certificate_key /tmp/$zz.key; }",
    ),
    "auth_basic": (
        'server { location / { auth_basic "$zz"; auth_basic_user_file /tmp/u; } }',
        "",
        'auth_basic "$zz";',
    ),
    "auth_basic_user_file": (
        "server { location / { auth_basic x; auth_basic_user_file /tmp/$zz; } }",
        "",
        "auth_basic_user_file /tmp/$zz;",
    ),
}
NGINX_LITERAL_CASES = {
    "error_log": ("error_log /tmp/$zz.log;", "error_log {dir}/$zz.log;", ""),
    "pid": ("pid /tmp/$zz.pid;", "pid {dir}/$zz.pid;", ""),
    "default_type": (
        "server { location / { default_type text/$zz; } }",
        "",
        "default_type text/$zz;",
    ),
    "ssl_dhparam": ("server { ssl_dhparam /tmp/$zz.pem; }", "", "ssl_dhparam /tmp/$zz.pem;"),
    "server_name": ("server { server_name $zz.test; }", "", "server { server_name $zz.test; }"),
    "gzip_types": ("gzip_types text/$zz;", "", "gzip_types text/$zz;"),
    "add_header": (
        "server { location / { add_header X-$zz 1; } }",
        "",
        "add_header X-$zz 1;",
    ),
    "proxy_set_header": (
        "server { location / { proxy_set_header X-$zz 1; } }",
        "",
        "proxy_set_header X-$zz 1;",
    ),
    "map": ("map $uri $m { $zz 1; }", "", "map $uri $m { $zz 1; }"),
    "real_ip_header": ("real_ip_header X-$zz;", "", "real_ip_header X-$zz;"),
    "charset_types": ("charset_types text/$zz;", "", "charset_types text/$zz;"),
}


def not_expanded(result) -> list:
    return [d for d in result.diagnostics if d.rule == "variable-not-expanded"]


def nginx_t(tmp_path: Path, main: str, http: str) -> str:
    """What ``nginx -t`` says about a config with ``main`` and ``http`` text ("" if ok)."""
    assert NGINX is not None
    conf = tmp_path / "nginx.conf"
    pid = "" if main.startswith("pid ") else f"pid {tmp_path}/nginx.pid;"
    conf.write_text(
        f"{pid} error_log {tmp_path}/error.log;\n"
        f"{main.format(dir=tmp_path)}\nevents {{}}\nhttp {{ {http} }}\n"
    )
    done = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return "" if done.returncode == 0 else done.stderr


def test_the_cases_cover_both_tables():
    assert set(NGINX_EXPANDS_CASES) == NGINX_EXPANDS
    assert set(NGINX_LITERAL_CASES) == NGINX_LITERAL


@pytest.mark.parametrize("name", sorted(NGINX_EXPANDS_CASES))
def test_where_nginx_expands_and_webserv_does_not_the_warning_says_so(load, name):
    (warning,) = not_expanded(load(NGINX_EXPANDS_CASES[name][0] + "\n"))
    assert warning.severity == "warning"
    assert warning.message == (
        f'webserv does not expand variables in "{name}" (nginx does): "$zz" is taken literally'
    )
    assert warning.span.end_col - warning.span.col == len("$zz")  # at the variable
    assert warning.hint.startswith(WORKAROUNDS[name])


@pytest.mark.parametrize("name", sorted(NGINX_LITERAL_CASES))
def test_where_nginx_is_literal_too_the_warning_says_nor_does_nginx(load, name):
    (warning,) = not_expanded(load(NGINX_LITERAL_CASES[name][0] + "\n"))
    assert warning.message.endswith(
        'does not expand variables (nor does nginx): "$zz" is taken literally'
    )
    what = {"add_header": "header name", "proxy_set_header": "header name", "map": "key"}
    if name in what:
        assert warning.message.startswith(f'the {what[name]} of "{name}"')
    else:
        assert warning.message.startswith(f'"{name}"')


@requires_nginx
@pytest.mark.parametrize("name", sorted(NGINX_EXPANDS_CASES))
def test_nginx_expands_variables_in_each_directive_of_the_table(tmp_path, name):
    _, main, http = NGINX_EXPANDS_CASES[name]
    assert 'unknown "zz" variable' in nginx_t(tmp_path, main, http)


@requires_nginx
@pytest.mark.parametrize("name", sorted(NGINX_LITERAL_CASES))
def test_nginx_takes_the_text_literally_in_each_literal_case(tmp_path, name):
    _, main, http = NGINX_LITERAL_CASES[name]
    assert nginx_t(tmp_path, main, http) == ""


@pytest.mark.parametrize(
    "text", ["server { location / { upload_store /srv/$zz; } }", "cgi .py /usr/bin/$zz;"]
)
def test_a_webserv_only_directive_says_nothing_about_nginx(load, text):
    (warning,) = not_expanded(load(text + "\n"))
    assert "nginx" not in warning.message
    assert warning.message.endswith('does not expand variables: "$zz" is taken literally')


def test_header_values_are_expanded_and_names_are_not(load):
    result = load(
        "server { location / {\n  add_header X-A $host;\n  proxy_set_header X-B $zz;\n"
        "  add_header X-$host v;\n} }\n"
    )
    unknown = [d for d in result.diagnostics if d.rule == "unknown-variable"]
    assert [(d.message, d.span.line) for d in unknown] == [
        ('unknown "zz" variable in "proxy_set_header" directive', 3)
    ]
    (warning,) = not_expanded(result)
    assert (warning.span.line, warning.span.col) == (4, 16)


def test_map_keys_are_literal_and_its_source_values_and_regex_keys_are_not_warned(load):
    result = load(
        "map $uri$is_args $m {\n  ~^/(?<a>x)$ $a;\n  $zz lit;\n  default $host;\n"
        "  hostnames;\n}\nserver { }\n"
    )
    (warning,) = not_expanded(result)
    assert (warning.span.line, warning.span.col, warning.span.end_col) == (3, 3, 6)
    assert [d for d in result.diagnostics if d.rule == "unknown-variable"] == []
    # a value is expanded: an unknown one is nginx's [emerg]
    bad = load("map $uri $m { default $zz; }\nserver { }\n")
    assert [d.rule for d in bad.errors] == ["unknown-variable"]


def test_a_regex_server_name_is_not_a_template(load):
    result = load("server { server_name ~^(?<sub>\\w+)\\.test$ $zz.test; }\n")
    (warning,) = not_expanded(result)
    assert warning.span.col == result.diagnostics[0].span.col
    assert warning.message.startswith('"server_name"')


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("server { listen $zz; }", "invalid-listen"),
        ("server { client_max_body_size $zz; }", "invalid-size"),
        ("server { keepalive_timeout $zz; }", "invalid-time"),
        ("server { charset $zz; }", "unsupported-feature"),
        ("server { include /nonexistent/$zz.conf; }", "include-not-found"),
    ],
)
def test_values_that_cannot_hold_a_variable_are_errors_not_lint_warnings(load, text, rule):
    result = load(text + "\n")
    assert [d.rule for d in result.diagnostics if d.severity == "error"] == [rule]
    assert not_expanded(result) == []
