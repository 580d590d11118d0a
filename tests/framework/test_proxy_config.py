"""The proxy directives: parsing with nginx's defaults, errors with file:line:col, a caret
and a hint, inheritance (proxy_pass per location, proxy_set_header all-or-nothing), the
validate-config checks, and ``describe_proxy`` for ``--explain``."""

from __future__ import annotations

from pathlib import Path

import pytest

from config_grammar.render import render_text
from framework.config.build import LoadResult, load_config
from framework.config.models import Config
from handlers.proxy import ProxyHandler, describe_proxy


def load(tmp_path: Path, text: str) -> LoadResult:
    path = tmp_path / "webserv.conf"
    path.write_text(text)
    return load_config(path, check_fs=False, env={})


def config_of(result: LoadResult) -> Config:
    assert result.config is not None, [d.message for d in result.diagnostics]
    return result.config


def rules(result: LoadResult) -> dict[str, str]:
    return {d.rule: d.severity for d in result.diagnostics}


def test_defaults_and_values(tmp_path: Path) -> None:
    server = config_of(
        load(
            tmp_path,
            "upstream backend {\n  server 127.0.0.1:8001 weight=3 max_fails=2 fail_timeout=5s;\n"
            "  server 127.0.0.1:8002 backup;\n  server [::1]:8003 down;\n  least_conn;\n"
            "  keepalive 16;\n}\n"
            "proxy_read_timeout 5s;\n"
            "server {\n  location / { proxy_pass http://backend/app/; }\n"
            "  location /b/ { proxy_pass http://127.0.0.1:9000; proxy_http_version 1.1;\n"
            "    proxy_buffering off; proxy_connect_timeout 2s; proxy_send_timeout 3s;\n"
            "    proxy_next_upstream error timeout http_502 non_idempotent; }\n}\n",
        )
    ).servers[0]
    a, b = server.locations
    assert a.proxy_pass is not None and b.proxy_pass is not None
    assert (a.proxy_pass.host, a.proxy_pass.port, a.proxy_pass.uri) == ("backend", None, "/app/")
    assert (b.proxy_pass.host, b.proxy_pass.port, b.proxy_pass.uri) == ("127.0.0.1", 9000, None)
    assert a.proxy_http_version == "1.0" and a.proxy_buffering is True
    assert a.proxy_read_timeout == 5 and a.proxy_connect_timeout == 60
    assert a.proxy_next_upstream == {"error", "timeout"}
    assert b.proxy_next_upstream == {"error", "timeout", "http_502", "non_idempotent"}
    assert (b.proxy_http_version, b.proxy_buffering) == ("1.1", False)
    assert (b.proxy_connect_timeout, b.proxy_send_timeout) == (2, 3)
    upstream = a.upstreams["backend"]
    assert upstream.least_conn and upstream.keepalive == 16
    first, second, third = upstream.servers
    assert (first.weight, first.max_fails, first.fail_timeout) == (3, 2, 5)
    assert second.backup and third.down and third.host == "::1" and third.address == "[::1]:8003"
    assert b.upstreams == a.upstreams  # every location sees the upstream blocks


def test_proxy_pass_is_not_inherited_but_set_header_is_all_or_nothing(tmp_path: Path) -> None:
    server = config_of(
        load(
            tmp_path,
            "proxy_set_header X-A a;\nserver {\n"
            "  location /p/ { proxy_pass http://127.0.0.1:9000;\n"
            "    location /p/static/ { root /srv; }\n"
            "    location /p/own/ { proxy_set_header X-B b; } }\n}\n",
        )
    ).servers[0]
    outer = server.locations[0]
    static, own = outer.children
    assert ProxyHandler.from_location(outer) is not None
    assert ProxyHandler.from_location(static) is None  # nginx: a nested location has its own
    assert outer.proxy_set_header == [("X-A", "a")]
    assert static.proxy_set_header == [("X-A", "a")]
    assert own.proxy_set_header == [("X-B", "b")]


@pytest.mark.parametrize(
    ("directive", "rule", "at", "hint"),
    [
        ("proxy_pass ftp://x;", "invalid-value", "ftp", "http://HOST"),
        ("proxy_pass https://127.0.0.1;", "invalid-value", "https", "http://"),
        ("proxy_pass http://127.0.0.1:0;", "invalid-port", "http", "1 to 65535"),
        ("proxy_pass http://[::1;", "invalid-value", "http", "brackets"),
        ("proxy_pass http://;", "invalid-value", "http", "HOST"),
        ("proxy_pass http://unix:/tmp/s:;", "invalid-value", "http", "127.0.0.1"),
        ("proxy_http_version 2;", "invalid-value", "2", "1.0"),
        ("proxy_read_timeout 5x;", "invalid-time", "5x", "ms, s, m"),
        ("proxy_set_header 'Bad Name' v;", "invalid-value", "'Bad", "header name"),
        ("proxy_next_upstream error sometimes;", "invalid-value", "sometimes", "http_502"),
        ("proxy_next_upstream off error;", "invalid-value", "proxy", "alone"),
    ],
)
def test_invalid_values_have_position_caret_and_hint(
    tmp_path: Path, directive: str, rule: str, at: str, hint: str
) -> None:
    col = len("  location /x/ { ") + 1 + directive.index(at)
    result = load(tmp_path, f"server {{\n  location /x/ {{ {directive} }}\n}}\n")
    assert result.config is None
    [diag] = [d for d in result.errors if d.rule == rule]
    assert diag.span is not None and (diag.span.line, diag.span.col) == (2, col), diag
    assert diag.hint is not None and hint in diag.hint
    text = render_text(result.diagnostics, result.sources)
    assert f"webserv.conf:2:{col}" in text and "^" in text


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("upstream u { }", "no servers are inside upstream"),
        ("upstream u { server 127.0.0.1 weight=0; }", 'invalid value "0"'),
        ("upstream u { server 127.0.0.1 slow_start=1s; }", 'invalid parameter "slow_start=1s"'),
        ("upstream u { server 127.0.0.1 backup; }", "only backup or down servers"),
        ("upstream u { server http://127.0.0.1; }", "invalid address"),
        ("upstream u { hash $uri; server 127.0.0.1; }", '"hash" is an nginx directive that'),
        ("upstream u { server 127.0.0.1; keepalive 0; }", 'invalid value "0"'),
    ],
)
def test_invalid_upstream_blocks(tmp_path: Path, block: str, message: str) -> None:
    result = load(tmp_path, f"{block}\nserver {{ location / {{ proxy_pass http://u; }} }}\n")
    assert result.config is None
    assert any(message in d.message for d in result.errors), result.errors


def test_upstream_only_at_the_top_level(tmp_path: Path) -> None:
    result = load(tmp_path, "server { upstream u { server 127.0.0.1; } }\n")
    assert "not-allowed-here" in rules(result)


@pytest.mark.parametrize(
    ("text", "rule", "severity"),
    [
        (
            "upstream u { server 127.0.0.1:1; }\nupstream u { server 127.0.0.1:2; }\n"
            "server { location / { proxy_pass http://u; } }",
            "duplicate-upstream",
            "error",
        ),
        (
            "server { location / { proxy_pass http://no-such-host.invalid; } }",
            "upstream-not-found",
            "error",
        ),
        (
            "upstream u { server no-such-host.invalid:80; }\n"
            "server { location / { proxy_pass http://u; } }",
            "upstream-not-found",
            "error",
        ),
        (
            "upstream u { server 127.0.0.1:1; }\n"
            "server { location / { proxy_pass http://u:8080; } }",
            "upstream-with-port",
            "error",
        ),
        (
            "server { location ~ \\.php$ { proxy_pass http://127.0.0.1:9000/x; } }",
            "proxy-pass-uri-in-regex",
            "error",
        ),
        (
            "server { location / { proxy_pass http://127.0.0.1:9; proxy_read_timeout 0; } }",
            "proxy-timeout-zero",
            "warning",
        ),
        (
            "upstream u { server 127.0.0.1:1; keepalive 8; }\n"
            "server { location / { proxy_pass http://u; } }",
            "upstream-keepalive-unused",
            "warning",
        ),
        (
            "server { location / { proxy_pass http://127.0.0.1:9;"
            " proxy_set_header Upgrade $http_upgrade; } }",
            "proxy-upgrade-incomplete",
            "warning",
        ),
        (
            "upstream u { server 127.0.0.1:1; }\nserver { location / { root /srv; } }",
            "upstream-unused",
            "warning",
        ),
    ],
)
def test_validate_config_checks(tmp_path: Path, text: str, rule: str, severity: str) -> None:
    assert rules(load(tmp_path, text)).get(rule) == severity


def test_a_sound_config_has_no_findings(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        "upstream u { server 127.0.0.1:1; server localhost:2 backup; keepalive 8; }\n"
        "server {\n  location / { proxy_pass http://u; proxy_http_version 1.1;\n"
        '    proxy_set_header Connection ""; proxy_set_header Host $host;\n'
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }\n"
        "  location /ws { proxy_pass http://127.0.0.1:3; proxy_http_version 1.1;\n"
        '    proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; }\n'
        "}\n",
    )
    assert result.config is not None
    assert result.diagnostics == []


def test_nginx_table_no_longer_calls_proxying_unsupported(tmp_path: Path) -> None:
    result = load(tmp_path, "server { location / { uwsgi_pass 127.0.0.1:9; } }")
    [diag] = result.errors
    assert diag.rule == "unsupported-nginx-directive"
    assert diag.hint is not None and "wsgi MODULE:ATTR" in diag.hint


def test_describe_proxy(tmp_path: Path) -> None:
    server = config_of(
        load(
            tmp_path,
            "upstream backend { server 127.0.0.1:8001; server 127.0.0.1:8002 backup; }\n"
            "server {\n  location / { proxy_pass http://backend;\n"
            "    location /n/ { root /srv; } }\n"
            "  location /h/ { proxy_pass http://127.0.0.1:9000/x/; }\n"
            "  location /s/ { root /srv; }\n}\n",
        )
    ).servers[0]
    main, host, static = server.locations
    assert describe_proxy(main) == (
        "proxy_pass http://backend (upstream backend: 127.0.0.1:8001, 127.0.0.1:8002 backup)"
    )
    assert describe_proxy(host) == "proxy_pass http://127.0.0.1:9000/x/"
    assert describe_proxy(static) is None
    assert describe_proxy(main.children[0]) is None


def test_nginx_proxy_tuning_is_ported_with_advice(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        "server { location / { proxy_pass http://127.0.0.1:9; proxy_redirect off;\n"
        "  proxy_buffers 8 16k; proxy_buffering off; proxy_cache_bypass $http_x; } }",
    )
    assert result.config is not None  # warnings only: the answers are nginx's
    kinds = {d.message.split('"')[1]: d.severity for d in result.diagnostics}
    assert kinds == {"proxy_redirect": "warning", "proxy_buffers": "warning",
                     "proxy_cache_bypass": "warning"}  # fmt: skip
    assert rules(load(tmp_path, "server { location / { proxy_hide_header X; } }")) == {
        "unsupported-nginx-directive": "error"
    }
