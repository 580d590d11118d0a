"""``websocket_max_message_size``, ``websocket_idle_timeout`` and
``websocket_ping_interval``: defaults, inheritance into servers and nested locations, and
invalid values reported with file:line:col, a caret and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from config_grammar.render import render_text
from framework.config.build import LoadResult, load_config
from framework.config.models import Config


def load(tmp_path: Path, text: str) -> LoadResult:
    path = tmp_path / "webserv.conf"
    path.write_text(text)
    return load_config(path, check_fs=False, env={})


def config_of(result: LoadResult) -> Config:
    assert result.config is not None, [d.message for d in result.diagnostics]
    return result.config


def test_defaults(tmp_path: Path) -> None:
    [loc] = config_of(load(tmp_path, "server { location / { } }")).servers[0].locations
    assert loc.websocket_max_message_size == 1024 * 1024
    assert loc.websocket_idle_timeout == 60.0
    assert loc.websocket_ping_interval == 20.0


def test_inherited_from_the_top_level_server_and_outer_location(tmp_path: Path) -> None:
    text = """
websocket_idle_timeout 5m;
server {
    websocket_max_message_size 64k;
    location /a { websocket_ping_interval 0; location /a/b { websocket_max_message_size 0; } }
    location /c { }
}
"""
    server = config_of(load(tmp_path, text)).servers[0]
    a, c = server.locations
    [b] = a.children
    assert (a.websocket_max_message_size, a.websocket_idle_timeout, a.websocket_ping_interval) == (
        65536,
        300.0,
        0.0,
    )
    assert (b.websocket_max_message_size, b.websocket_idle_timeout, b.websocket_ping_interval) == (
        0,
        300.0,
        0.0,
    )
    assert (c.websocket_max_message_size, c.websocket_ping_interval) == (65536, 20.0)


@pytest.mark.parametrize(
    ("directive", "value", "rule", "hint"),
    [
        ("websocket_max_message_size", "1x", "invalid-size", "whole number of bytes"),
        ("websocket_max_message_size", "1.5m", "invalid-size", "did you mean"),
        ("websocket_idle_timeout", "-1", "invalid-time", "cannot be negative"),
        ("websocket_idle_timeout", "soon", "invalid-time", "ms, s, m, h or d"),
        ("websocket_ping_interval", "5ms", "invalid-value", "or 0 to send none"),
    ],
)
def test_invalid_values_have_a_caret_and_a_hint(
    tmp_path: Path, directive: str, value: str, rule: str, hint: str
) -> None:
    result = load(tmp_path, f"server {{\n  location / {{ {directive} {value}; }}\n}}")
    assert result.config is None
    [diag] = [d for d in result.diagnostics if d.rule == rule]
    assert hint in (diag.hint or "")
    text = render_text([diag], result.sources)
    assert f"webserv.conf:2:{17 + len(directive)}:" in text
    assert "^" * len(value) in text


def test_wrong_arity_and_context(tmp_path: Path) -> None:
    result = load(tmp_path, "server { location / { websocket_idle_timeout 1s 2s; } }")
    assert result.config is None
    result = load(tmp_path, "server { location / { if_websocket on; } }")
    assert result.config is None


def test_ping_interval_not_below_idle_timeout_is_a_warning(tmp_path: Path) -> None:
    text = (
        "server {\n  websocket_idle_timeout 10s;\n"
        "  location /ws { websocket_ping_interval 30s; }\n"
        "  location /ok { websocket_ping_interval 5s; }\n"
        "  location /quiet { websocket_ping_interval 0; }\n}\n"
    )
    result = load(tmp_path, text)
    assert result.config is not None
    found = [d for d in result.diagnostics if d.rule == "websocket-ping-not-below-idle"]
    # the server's own default 20s pings and /ws's 30s; not /ok (5s) nor /quiet (no pings)
    assert sorted((d.span.line, d.severity) for d in found) == [(2, "warning"), (3, "warning")]
    assert all("websocket_ping_interval 0" in (d.hint or "") for d in found)
