"""Porting from nginx: nginx's own directives get ``unsupported-nginx-directive`` with advice
(a warning when webserv does not need them, an error when ignoring them would change the
answers), never "unknown directive" with a misleading did-you-mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.config.directives import DIRECTIVES
from framework.config.nginx_directives import (
    IGNORED,
    NOT_NEEDED,
    UNSUPPORTED,
    VERB,
    nginx_advice,
)

SERVER = "server {\n    listen 8080;\n    location / { }\n}\n"


def only(result):
    (diag,) = result.diagnostics
    return diag


@pytest.mark.parametrize(
    ("line", "severity", "message"),
    [
        ("sendfile on;", "warning", '"sendfile" is an nginx directive that webserv does not need'),
        ("tcp_nopush on;", "warning",
         '"tcp_nopush" is an nginx directive that webserv does not need'),
        ("events {\n  worker_connections 8000;\n}", "warning",
         '"events" is an nginx directive that webserv does not need'),
        ("log_format main '$remote_addr';", "warning",
         '"log_format" is an nginx directive that webserv ignores'),
        ("limit_req_zone $binary_remote_addr zone=one:10m rate=1r/s;", "error",
         '"limit_req_zone" is an nginx directive that webserv does not support'),
    ],
)  # fmt: skip
def test_an_nginx_directive_gets_porting_advice_not_a_did_you_mean(load, line, severity, message):
    diag = only(load(line + "\n" + SERVER))
    assert (diag.rule, diag.severity, diag.message) == (
        "unsupported-nginx-directive",
        severity,
        message,
    )
    assert diag.hint and "did you mean" not in diag.hint
    assert (diag.span.line, diag.span.col) == (1, 1)


def test_an_unsupported_directive_inside_a_location_is_an_error_with_a_workaround(load):
    diag = only(load("server {\n  listen 8080;\n  location / {\n    rewrite ^/a /b;\n  }\n}\n"))
    assert diag.severity == "error" and "return 301" in diag.hint
    assert (diag.span.line, diag.span.col) == (4, 5)


def test_a_plain_typo_still_gets_a_did_you_mean(load):
    diag = only(load("autoindx on;\n" + SERVER))
    assert diag.rule == "unknown-directive" and diag.hint == 'did you mean "autoindex"?'


def test_the_porting_table_never_shadows_a_webserv_directive():
    tables = {**NOT_NEEDED, **IGNORED, **UNSUPPORTED}
    assert len(tables) == len(NOT_NEEDED) + len(IGNORED) + len(UNSUPPORTED)
    # a name webserv implements is looked up in the directive table first; listing it
    # here as well would be stale advice
    assert not set(tables) & set(DIRECTIVES)


NGINX_NAMES = Path(__file__).parents[2] / "porting" / "nginx-1.22-directives.txt"
# nginx's upstream-block directives that webserv implements inside `upstream { }`
UPSTREAM_BLOCK = {"keepalive", "least_conn"}


def nginx_http_names() -> list[str]:
    """nginx 1.22's directive names, but those only the mail and stream modules define."""
    names = []
    for line in NGINX_NAMES.read_text().splitlines():
        if line.startswith("#"):
            continue
        name, *modules = line.split()
        if not all(m.startswith(("ngx_mail", "ngx_stream")) for m in modules):
            names.append(name)
    return names


def test_every_nginx_directive_is_a_webserv_directive_or_has_porting_advice():
    names = nginx_http_names()
    assert len(names) > 500 and "sendfile" in names and "uwsgi_cache_valid" in names
    missing = [
        n
        for n in names
        if n not in DIRECTIVES and nginx_advice(n) is None and n not in UPSTREAM_BLOCK
    ]
    assert missing == []


def test_no_nginx_name_gets_a_did_you_mean_in_any_block(load):
    names = sorted({**NOT_NEEDED, **IGNORED, **UNSUPPORTED})
    lines = "".join(f"{name} x;\n" for name in names)
    result = load(lines + "server {\n  listen 8080;\n  location / {\n" + lines + "  }\n}\n")
    assert len(result.diagnostics) == 2 * len(names)
    for diag in result.diagnostics:
        assert diag.rule == "unsupported-nginx-directive", diag.message
        assert diag.hint and "did you mean" not in diag.hint, diag.hint
    # every piece of advice says what to do, not just that webserv lacks the directive
    assert {d.severity for d in result.diagnostics} == {"warning", "error"}


@pytest.mark.parametrize(
    ("name", "severity", "hint"),
    [
        ("worker_connections", "warning", "`max_connections N;`"),
        ("use", "warning", "drop it with the `events` block"),
        ("fastcgi_read_timeout", "warning", "it tunes `fastcgi_pass`"),
        ("uwsgi_param", "warning", "it tunes `uwsgi_pass`"),
        ("grpc_set_header", "warning", "it tunes `grpc_pass`"),
        ("scgi_cache_valid", "warning", "it tunes `scgi_pass`"),
        ("ssi_types", "warning", "it tunes `ssi`"),
        ("limit_req_status", "warning", "it tunes `limit_req`"),
        ("merge_slashes", "warning", "always merges"),
        ("ssl", "error", "`listen PORT ssl;`"),
        ("ssl_verify_depth", "error", "client certificates"),
        ("ip_hash", "error", "`least_conn;`"),
        ("proxy_cookie_path", "error", "Set-Cookie"),
        ("more_set_headers", "error", "`add_header NAME VALUE always;`"),
        ("echo", "error", "`return 200 TEXT;`"),
    ],
)
def test_a_module_s_settings_point_at_what_to_do(load, name, severity, hint):
    diag = only(load(f"server {{\n  listen 8080;\n  location / {{\n    {name} x;\n  }}\n}}\n"))
    assert (diag.rule, diag.severity) == ("unsupported-nginx-directive", severity)
    assert hint in diag.hint


def test_worker_processes_is_nginx_s_name_for_workers(load):
    result = load("worker_processes 3;\n" + SERVER)
    assert result.diagnostics == [] and result.config.workers == 3
    assert DIRECTIVES["worker_processes"].field == "workers"


def test_an_access_log_naming_an_nginx_log_format_is_a_warning_and_logs_combined(load):
    result = load(
        "http {\n  log_format main '$remote_addr';\n  access_log /tmp/a.log main;\n"
        + SERVER
        + "}\n"
    )
    rules = [(d.severity, d.rule, d.span.line) for d in result.diagnostics]
    assert rules == [
        ("warning", "unsupported-nginx-directive", 2),
        ("warning", "unsupported-nginx-directive", 3),
    ]
    assert result.config.servers[0].locations[0].access_log.format == "combined"


def test_an_unknown_log_format_name_is_still_an_error(load):
    diag = only(load("access_log /tmp/a.log jsno;\n" + SERVER))
    assert diag.severity == "error" and diag.rule == "invalid-value"


@pytest.mark.parametrize("param", ["deferred", "reuseport", "backlog=511", "http2", "ipv6only=on"])
def test_nginx_socket_options_of_listen_are_ignored_with_a_warning(load, param):
    result = load(f"server {{\n  listen 8080 {param};\n}}\n")
    diag = only(result)
    assert (diag.severity, diag.rule) == ("warning", "unsupported-nginx-directive")
    assert diag.span.col == 15
    assert result.config is not None and result.config.servers[0].listens[0].port == 8080


def test_quic_listen_is_an_error(load):
    assert only(load("server {\n  listen 443 quic;\n}\n")).rule == "unsupported-feature"


@pytest.mark.parametrize(
    ("line", "severity"),
    [
        ("zone backend 64k;", "warning"),
        ("ip_hash;", "error"),
        ("hash $remote_addr consistent;", "error"),
        ("random two least_conn;", "error"),
        ("sticky cookie srv_id expires=1h;", "error"),
    ],
)
def test_nginx_s_balancing_directives_in_upstream_get_the_porting_advice(load, line, severity):
    name = line.split()[0].rstrip(";")
    result = load(
        "http {\n  upstream backend {\n"
        f"    {line}\n    server 127.0.0.1:8001;\n  }}\n"
        "  server {\n    listen 8080;\n    location / { proxy_pass http://backend; }\n  }\n}\n"
    )
    # one finding: a rejected upstream does not also make proxy_pass "host not found"
    diag = only(result)
    assert (diag.rule, diag.severity) == ("unsupported-nginx-directive", severity)
    assert (
        diag.message == f'"{name}" is an nginx directive that webserv {VERB[nginx_advice(name)[0]]}'
    )
    assert diag.hint == nginx_advice(name)[1] and (diag.span.line, diag.span.col) == (3, 5)
    assert (result.config is None) == (severity == "error")


def test_a_misspelt_upstream_entry_is_still_not_allowed_there(load):
    result = load("upstream backend {\n  server 127.0.0.1:8001;\n  least_con;\n}\n")
    (diag,) = result.errors
    assert diag.rule == "invalid-value" and "inside upstream" in diag.message
