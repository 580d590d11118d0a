"""Compression directives: nginx's defaults, parsing, inheritance (scalars inherited, list
directives replaced by a level that sets them), diagnostics with positions, and h5bp's
compression.conf."""

from __future__ import annotations

import re

import pytest

H5BP_COMPRESSION = """
gzip on;
gzip_comp_level 5;
gzip_min_length 256;
gzip_proxied any;
gzip_vary on;
gzip_types
  application/atom+xml application/geo+json application/javascript application/x-javascript
  application/json application/ld+json application/manifest+json application/rdf+xml
  application/rss+xml application/vnd.ms-fontobject application/wasm
  application/x-web-app-manifest+json application/xhtml+xml application/xml font/eot font/otf
  font/ttf image/bmp image/svg+xml image/vnd.microsoft.icon image/x-icon text/cache-manifest
  text/calendar text/css text/javascript text/markdown text/plain text/xml text/vcard
  text/vnd.rim.location.xloc text/vtt text/x-component text/x-cross-domain-policy;
gzip_static on;
brotli_static on;
server {
    listen 8080;
    location ~* \\.svgz$ { gzip off; }
    location / { }
}
"""


def location(result, index=0):
    assert result.config is not None, [d.message for d in result.diagnostics]
    return result.config.servers[0].locations[index]


def test_defaults_are_nginx_defaults(load):
    loc = location(load("server {\n    listen 8080;\n    location / { }\n}\n"))
    assert loc.gzip is False
    assert loc.gzip_types == ["text/html"]
    assert loc.gzip_min_length == 20
    assert loc.gzip_comp_level == 1
    assert loc.gzip_vary is False
    assert loc.gzip_proxied == ["off"]
    assert loc.gzip_http_version == "1.1"
    assert loc.gzip_static == "off" and loc.brotli_static == "off"


def test_h5bp_compression_conf_validates_and_is_inherited(load):
    result = load(H5BP_COMPRESSION)
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    svgz, root = location(result, 0), location(result, 1)
    assert svgz.gzip is False and svgz.gzip_comp_level == 5  # the rest is still inherited
    assert root.gzip and root.gzip_vary and root.gzip_proxied == ["any"]
    assert root.gzip_min_length == 256 and "text/css" in root.gzip_types
    assert root.gzip_static == "on" and root.brotli_static == "on"


def test_gzip_types_at_a_level_replaces_the_inherited_list(load):
    result = load(
        "gzip_types text/css;\ngzip_types TEXT/Plain;\n"
        "server {\n    listen 8080;\n    location /a/ { }\n"
        "    location /b/ { gzip_types *; }\n}\n"
    )
    assert location(result, 0).gzip_types == ["text/css", "text/plain"]  # lines accumulate
    assert location(result, 1).gzip_types == ["*"]


def test_values_parse(load):
    result = load(
        "server {\n    listen 8080;\n    location / {\n"
        "        gzip_min_length 1k; gzip_proxied expired no-cache auth; gzip_buffers 16 8k;\n"
        '        gzip_http_version 1.0; gzip_disable msie6 "Lynx"; gzip_static always;\n'
        "    }\n}\n"
    )
    loc = location(result)
    assert loc.gzip_min_length == 1024
    assert loc.gzip_proxied == ["expired", "no-cache", "auth"]
    assert loc.gzip_buffers == (16, 8192)
    assert loc.gzip_http_version == "1.0"
    assert loc.gzip_disable[0].search("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)")
    assert not loc.gzip_disable[0].search("Mozilla/4.0 (compatible; MSIE 6.0; SV1)")
    assert loc.gzip_disable[1].search("lynx/2.8") and loc.gzip_disable[1].flags & re.I
    assert loc.gzip_static == "always"


@pytest.mark.parametrize(
    ("line", "rule", "token"),
    [
        ("gzip yes;", "invalid-value", "yes"),
        ("gzip_comp_level 10;", "invalid-value", "10"),
        ("gzip_comp_level 0;", "invalid-value", "0"),
        ("gzip_min_length 1x;", "invalid-size", "1x"),
        ("gzip_types text;", "invalid-value", "text"),
        ("gzip_types text/html; charset=utf-8;", "unknown-directive", "charset"),
        ("gzip_proxied sometimes;", "invalid-value", "sometimes"),
        ("gzip_http_version 2.0;", "invalid-value", "2.0"),
        ("gzip_buffers 16;", "invalid-arg-count", "gzip_buffers"),
        ('gzip_disable "(";', "invalid-regex", '"("'),
        ("gzip_static maybe;", "invalid-value", "maybe"),
        ("brotli_static yes;", "invalid-value", "yes"),
        ("gzip on; gzip off;", "duplicate-directive", "gzip off"),
    ],
)
def test_diagnostics_point_at_the_value(load, line, rule, token):
    result = load(f"server {{\n    listen 8080;\n    location / {{ {line} }}\n}}\n")
    found = [d for d in result.diagnostics if d.severity == "error"]
    assert found and found[0].rule == rule, [(d.rule, d.message) for d in found]
    assert found[0].span.line == 3
    assert found[0].span.col == len("    location / { ") + 1 + line.index(token)


def test_top_level_and_server_contexts_are_allowed(load):
    result = load("gzip on;\nserver {\n    listen 8080;\n    gzip_vary on;\n    location / {}\n}\n")
    assert not result.diagnostics


def test_lint_precompressed_without_vary(load, rules):
    result = load(
        "gzip_static on;\nserver {\n    listen 8080;\n    location /a/ { }\n"
        "    location /b/ { gzip_vary on; }\n    location /c/ { brotli_static always; }\n}\n"
    )
    found = [d for d in result.diagnostics if d.rule == "precompressed-without-vary"]
    assert len(found) == 1 and found[0].span.line == 1  # once, at the directive
    assert not [d for d in load(H5BP_COMPRESSION).diagnostics]


def test_lint_text_html_in_gzip_types_as_nginx_warns(load):
    result = load("server {\n    listen 8080;\n    gzip_types text/css TEXT/HTML;\n}\n")
    (found,) = [d for d in result.diagnostics if d.rule == "gzip-types-text-html"]
    assert found.severity == "warning" and (found.span.line, found.span.col) == (3, 25)
