"""``--explain URL`` names the app (``asgi``/``wsgi``) or the upstream (``proxy_pass``) that
answers, instead of a file, and says when a nested location does not inherit it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from framework.config.build import load_config
from framework.config.explain import explain
from framework.config.models import Config

CONFIG = """
upstream backend { server 127.0.0.1:9000; }
server {
    listen 127.0.0.1:8080;
    root www;
    asgi_app_dir apps;
    location /api/ {
        asgi main:app;
        asgi_root_path /api;
        location /api/static/ { }
    }
    location /jobs/ { asgi main:create_app(); asgi_lifespan off; }
    location /legacy/ { wsgi legacy.wsgi:application; }
    location /up/ { proxy_pass http://backend; }
    location / { }
}
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "webserv.conf"
    path.write_text(CONFIG)
    result = load_config(path, check_fs=False, env={})
    assert result.config is not None, [d.message for d in result.diagnostics]
    return result.config


def line_of(text: str, label: str) -> str | None:
    return next((line for line in text.splitlines() if line.startswith(label)), None)


def test_an_asgi_location_names_the_app_its_root_path_and_lifespan(config, tmp_path):
    text = explain(config, "/api/users/1")
    assert line_of(text, "app") == (
        f"app       asgi main:app (root_path /api, lifespan auto, app_dir {tmp_path / 'apps'})"
    )
    assert line_of(text, "file") is None  # the app answers, not a file


def test_a_factory_and_lifespan_off_are_shown_as_written(config):
    app = line_of(explain(config, "/jobs/"), "app")
    assert app is not None and app.startswith("app       asgi main:create_app() (root_path (none)")
    assert "lifespan off" in app


def test_a_wsgi_location_names_the_app_and_its_threads(config):
    app = line_of(explain(config, "/legacy/x"), "app")
    assert app is not None
    assert app.startswith("app       wsgi legacy.wsgi:application (root_path (none), ")
    assert "threads per worker" in app


def test_a_nested_location_does_not_inherit_the_app_and_serves_files(config, tmp_path):
    text = explain(config, "/api/static/logo.png")
    assert line_of(text, "app") == (
        "app       none: asgi main:app is written in an enclosing location and not inherited "
        "(nginx's rule for content handlers)"
    )
    assert line_of(text, "file") == f"file      {tmp_path / 'www' / 'api' / 'static' / 'logo.png'}"


def test_a_proxy_location_names_the_upstream(config):
    proxy = line_of(explain(config, "/up/x"), "proxy")
    assert proxy is not None and "backend" in proxy
    assert line_of(explain(config, "/up/x"), "file") is None


def test_a_plain_location_shows_neither(config, tmp_path):
    text = explain(config, "/index.html")
    assert line_of(text, "app") is None and line_of(text, "proxy") is None
    assert line_of(text, "file") == f"file      {tmp_path / 'www' / 'index.html'}"


def test_validate_config_explain_prints_the_app_line(tmp_path):
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "explain_hello.py").write_text(
        "async def app(scope, receive, send):\n    pass\n"
    )
    conf = tmp_path / "site.conf"
    conf.write_text(
        "server {\n    listen 127.0.0.1:8080;\n    asgi_app_dir apps;\n"
        "    location / { asgi explain_hello:app; }\n}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", "--explain", "/x", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    settings = f"(root_path (none), lifespan auto, app_dir {tmp_path / 'apps'})"
    assert f"app       asgi explain_hello:app {settings}" in proc.stdout


def settings_row(text: str, name: str) -> str | None:
    return next(
        (line.split(None, 1) for line in text.splitlines() if line.split()[:1] == [name]), None
    )


def test_an_empty_root_path_is_shown_as_an_empty_string_in_the_settings(config):
    assert settings_row(explain(config, "/jobs/"), "asgi_root_path") == ["asgi_root_path", '""']
    assert settings_row(explain(config, "/api/x"), "asgi_root_path") == ["asgi_root_path", "/api"]
