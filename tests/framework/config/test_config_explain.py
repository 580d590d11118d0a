"""``--explain URL``: the server and location that answer, by nginx's rules, and the
effective settings there."""

from __future__ import annotations

import re

import pytest

from framework.config.explain import explain

CONFIG = """
client_max_body_size 2k;
server {
    listen 127.0.0.1:8080 default_server;
    server_name main.test;
    root www;
    location / { }
    location /static/ { autoindex on; }
    location ^~ /assets/ { }
    location = /exact { return 204; }
    location ~* \\.PNG$ { client_max_body_size 5k; }
    location /app/ {
        location ~ \\.py$ { cgi .py /usr/bin/python3; }
    }
}
server {
    listen 127.0.0.1:8080;
    server_name *.other.test;
}
"""


@pytest.fixture
def config(load):
    result = load(CONFIG)
    assert result.config is not None, result.diagnostics
    return result.config


def line_of(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(label))


@pytest.mark.parametrize(
    ("url", "location", "reason"),
    [
        ("http://main.test:8080/", "location  / at", "longest matching prefix"),
        ("http://main.test:8080/static/a.txt", "location  /static/ at", "longest matching prefix"),
        ("http://main.test:8080/static/a.png", "location  ~* \\.PNG$", "first matching regex"),
        ("http://main.test:8080/assets/a.png", "location  ^~ /assets/", 'with "^~"'),
        ("http://main.test:8080/exact", "location  = /exact", "exact match"),
        ("http://main.test:8080/exact/", "location  / at", "longest matching prefix"),
        ("http://main.test:8080/app/x.py?q=1", "location  ~ \\.py$", "first matching regex"),
    ],
)
def test_explain_follows_the_nginx_matching_order(config, url, location, reason):
    text = explain(config, url)
    assert line_of(text, "location").startswith(location)
    assert reason in text


def test_explain_picks_the_server_by_host_then_default(config):
    named = explain(config, "http://a.other.test:8080/")
    assert '"*.other.test"' in line_of(named, "server")
    fallback = explain(config, "http://unknown.test:8080/")
    assert '"main.test"' in line_of(fallback, "server")
    assert "default server" in fallback


def test_explain_shows_inherited_settings_and_the_file(config, tmp_path):
    text = explain(config, "/static/a.txt")
    assert line_of(text, "file") == f"file      {tmp_path / 'www' / 'static' / 'a.txt'}"
    # the settings column is as wide as the longest setting name: match any spacing
    assert re.search(r"^  client_max_body_size +2048 bytes$", text, re.M)
    assert re.search(r"^  autoindex +True$", text, re.M)
    png = explain(config, "/x.png")
    assert re.search(r"^  client_max_body_size +5120 bytes$", png, re.M)


def test_explain_normalises_the_path_and_ignores_the_query(config):
    text = explain(config, "http://main.test:8080/a/../static/./b?x=/exact")
    assert line_of(text, "path").startswith("path      /static/b")
    assert line_of(text, "location").startswith("location  /static/")


def test_explain_says_when_no_server_listens_on_the_port(config):
    assert "no server listens on port 9999" in explain(config, "http://main.test:9999/")


def test_maps_are_shown_by_variable_source_entries_and_default_not_as_reprs(load):
    result = load(
        "http {\n"
        "  map $sent_http_content_type $expires {\n"
        '    default 1y;\n    "" off;\n    ~*text/html epoch;\n    text/css 1M;\n  }\n'
        "  map $host $site {\n    hostnames;\n    volatile;\n    *.example.com ex;\n  }\n"
        "  server { listen 8080; location / { expires $expires; } }\n"
        "}\n"
    )
    assert result.config is not None, result.diagnostics
    text = explain(result.config, "http://a:8080/")
    (maps,) = [line for line in text.splitlines() if line.startswith("  maps ")]
    assert maps.split(None, 1)[1] == (
        '$expires from $sent_http_content_type (3 entries, default "1y"); '
        '$site from $host (1 entry, default "", hostnames, volatile)'
    )
    assert "MapTable" not in maps and "re.compile" not in maps
