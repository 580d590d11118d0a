"""``asgi``/``wsgi`` and their settings: parsing, diagnostics with a caret and a hint,
and inheritance (the app is the content handler of the block that writes it; the settings
are inherited)."""

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


def test_target_forms(tmp_path: Path) -> None:
    server = config_of(
        load(
            tmp_path,
            "server {\n location /a { asgi pkg.main:app; }\n"
            " location /b { asgi main:create_app(); }\n"
            " location /c { wsgi flask_app:app.wsgi; }\n}",
        )
    ).servers[0]
    a, b, c = server.locations
    assert (a.asgi.module, a.asgi.attr, a.asgi.factory) == ("pkg.main", "app", False)
    assert (b.asgi.module, b.asgi.attr, b.asgi.factory) == ("main", "create_app", True)
    assert b.asgi.text == "main:create_app()"
    assert (c.wsgi.module, c.wsgi.attr) == ("flask_app", "app.wsgi")
    assert a.asgi_lifespan == "auto" and a.asgi_root_path == "" and a.asgi_app_dir is None


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("main", "MODULE:ATTR"),
        ("main:create(1)", "no arguments"),
        ("main:", "dotted module name"),
        ("1main:app", "dotted module name"),
        ("main:app()x", "no arguments"),
    ],
)
def test_bad_target_is_reported_with_a_caret_and_hint(
    tmp_path: Path, value: str, hint: str
) -> None:
    result = load(tmp_path, f"server {{\n  location / {{ asgi {value}; }}\n}}")
    assert result.config is None
    [diag] = [d for d in result.diagnostics if d.rule == "invalid-app-target"]
    assert diag.message == f'invalid app "{value}" in "asgi" directive'
    assert (diag.span.line, diag.span.col) == (2, 21)
    assert hint in diag.hint
    text = render_text(result.diagnostics, result.sources)
    assert "webserv.conf:2:21" in text and "^" in text


def test_app_directive_is_location_only(tmp_path: Path) -> None:
    result = load(tmp_path, "server { asgi main:app; }")
    assert result.config is None


def test_settings_are_inherited_and_app_dir_is_relative_to_the_config(tmp_path: Path) -> None:
    server = config_of(
        load(
            tmp_path,
            "asgi_app_dir apps;\nasgi_lifespan on;\nserver {\n asgi_root_path /api/;\n"
            " location / { asgi main:app; location /x/ { asgi_lifespan off; } } }",
        )
    ).servers[0]
    outer = server.locations[0]
    inner = outer.children[0]
    assert outer.asgi_app_dir == tmp_path / "apps"
    assert outer.asgi_root_path == "/api"  # without the trailing slash
    assert outer.asgi_lifespan == "on" and inner.asgi_lifespan == "off"
    assert inner.asgi_app_dir == tmp_path / "apps"


def test_app_is_enabled_only_where_written(tmp_path: Path) -> None:
    server = config_of(
        load(
            tmp_path,
            "server {\n location / { asgi main:app; location /static/ { } }\n"
            " location /w/ { location /w/x/ { wsgi main:wsgi; } }\n}",
        )
    ).servers[0]
    outer, w = server.locations
    inner = outer.children[0]
    assert outer.asgi.declared_in(outer.span)
    assert inner.asgi is not None and not inner.asgi.declared_in(inner.span)
    assert w.wsgi is None and w.children[0].wsgi.declared_in(w.children[0].span)


@pytest.mark.parametrize("value", ["api", "/a?b", "/a b"])
def test_bad_root_path(tmp_path: Path, value: str) -> None:
    result = load(tmp_path, f'server {{ location / {{ asgi_root_path "{value}"; }} }}')
    assert result.config is None
    assert any(d.rule == "invalid-value" for d in result.diagnostics)


def test_bad_lifespan_mode(tmp_path: Path) -> None:
    result = load(tmp_path, "server { location / { asgi_lifespan maybe; } }")
    assert result.config is None
    assert "must be one of" in result.diagnostics[0].message
