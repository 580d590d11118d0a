"""Inheritance: scalars flow top level -> server -> location -> nested location; list
directives replace; a location's return is not inherited; paths resolve against the config."""

from __future__ import annotations

from pathlib import Path

from framework.config.build import load_config
from framework.config.models import CgiRule, ErrorPage, Return


def test_scalars_are_inherited_inward_unless_redefined(load):
    result = load(
        "client_max_body_size 1k;\nsend_timeout 7s;\n"
        "server {\n  client_max_body_size 2k;\n"
        "  location /a/ {\n    autoindex on;\n"
        "    location /a/b/ { client_max_body_size 3k; }\n  }\n}\n"
    )
    server = result.config.servers[0]
    outer = server.locations[0]
    inner = outer.children[0]
    assert server.context.client_max_body_size == 2048
    assert outer.client_max_body_size == 2048 and outer.autoindex is True
    assert inner.client_max_body_size == 3072 and inner.autoindex is True
    assert inner.send_timeout == 7.0 == server.context.send_timeout


def test_server_only_settings_come_from_the_top_level(load):
    result = load("keepalive_timeout 3s;\nserver { }\nserver { keepalive_timeout 4s; }\n")
    assert [s.keepalive_timeout for s in result.config.servers] == [3.0, 4.0]


def test_list_directives_replace_the_inherited_list(load):
    result = load(
        "error_page 404 /404.html;\nerror_page 500 /500.html;\nindex a.html;\n"
        "cgi .py /usr/bin/python3;\n"
        "server {\n  location /keep/ { }\n"
        "  location /own/ {\n    error_page 403 /403.html;\n    index b.html c.html;\n"
        "    cgi .sh;\n    types { text/x-own own; }\n  }\n}\n"
    )
    keep, own = result.config.servers[0].locations
    assert set(keep.error_pages) == {404, 500}
    assert keep.index == ["a.html"]
    assert keep.cgi == [CgiRule(extension=".py", interpreter=Path("/usr/bin/python3"))]
    assert "html" in keep.types
    assert own.error_pages == {403: ErrorPage(uri="/403.html")}
    assert own.index == ["b.html", "c.html"]
    assert own.cgi == [CgiRule(extension=".sh")]
    assert own.types == {"own": "text/x-own"}


def test_repeated_list_directives_at_one_level_accumulate(load):
    result = load("server {\n  index a.html;\n  index b.html;\n  cgi .sh;\n  cgi .pl;\n}\n")
    context = result.config.servers[0].context
    assert context.index == ["a.html", "b.html"]
    assert [rule.extension for rule in context.cgi] == [".sh", ".pl"]


def test_a_location_return_is_not_inherited_by_nested_locations(load):
    result = load(
        "server {\n  location /old/ {\n    return 301 /new/;\n    location /old/keep/ { }\n  }\n}\n"
    )
    old = result.config.servers[0].locations[0]
    assert old.return_ == Return(status=301, url="/new/")
    assert old.children[0].return_ is None


def test_a_server_return_applies_to_every_location(load):
    result = load(
        "server {\n  return 301 https://example.org/;\n  location /a/ { location /a/b/ { } }\n}\n"
    )
    server = result.config.servers[0]
    expected = Return(status=301, url="https://example.org/")
    assert server.context.return_ == expected
    assert server.locations[0].return_ == expected
    assert server.locations[0].children[0].return_ == expected


def test_root_in_an_inner_level_cancels_an_inherited_alias(load, tmp_path):
    result = load(
        "server {\n  location /files/ {\n    alias data/;\n"
        "    location /files/own/ { root other; }\n    location /files/x/ { }\n  }\n}\n"
    )
    files = result.config.servers[0].locations[0]
    own, inherited = files.children
    assert files.alias == tmp_path / "data"
    assert own.alias is None and own.root == tmp_path / "other"
    assert inherited.alias == tmp_path / "data" / "x"


def test_an_inherited_alias_maps_nested_uris_like_nginx(load, tmp_path):
    from framework.routing.paths import map_path

    result = load(
        "server {\n  location /f/ {\n    alias data/;\n"
        "    location /f/sub/ { }\n    location = /f/one.txt { }\n  }\n}\n"
    )
    outer = result.config.servers[0].locations[0]
    sub, one = outer.children
    assert map_path(outer, "/f/sub/a.txt") == tmp_path / "data/sub/a.txt"
    assert map_path(sub, "/f/sub/a.txt") == tmp_path / "data/sub/a.txt"
    assert map_path(one, "/f/one.txt") == tmp_path / "data/one.txt"


def test_relative_paths_resolve_against_the_main_config_directory(tmp_path, monkeypatch):
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    (conf_dir / "site.conf").write_text(
        "server {\n  root www;\n  location /up/ { upload_store ../var/up; }\n"
        "  location /c/ { cgi .x bin/run; }\n}\n"
    )
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    config = load_config(Path("etc/site.conf"), check_fs=False, env={}).config
    server = config.servers[0]
    assert server.context.root == conf_dir / "www"
    up, cgi = server.locations
    assert up.upload_store == tmp_path / "var" / "up"
    assert cgi.cgi[0].interpreter == conf_dir / "bin" / "run"


def test_the_default_root_is_html_next_to_the_config(load, tmp_path):
    assert load("server { }\n").config.servers[0].context.root == tmp_path / "html"


def test_includes_and_environment_variables_reach_the_models(load, tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "a.conf").write_text("server { listen ${PORT}; root ${ROOT:-www}; }\n")
    (tmp_path / "conf.d" / "b.conf").write_text("server { listen 9001; }\n")
    result = load("include conf.d/*.conf;\n", env={"PORT": "9000"})
    assert result.diagnostics == []
    a, b = result.config.servers
    assert a.listens[0].port == 9000 and a.context.root == tmp_path / "www"
    assert b.listens[0].port == 9001


def test_an_error_in_an_included_file_carries_the_include_chain(load, tmp_path):
    (tmp_path / "bad.conf").write_text("autoindex maybe;\n")
    result = load("server {\n  include bad.conf;\n}\n")
    (diag,) = result.diagnostics
    assert diag.rule == "invalid-value"
    assert diag.span.file.endswith("bad.conf") and diag.span.line == 1
    assert [span.line for span in diag.include_chain] == [2]


def test_an_unset_environment_variable_is_an_error(load):
    result = load("server { listen ${NOPE}; }\n")
    assert result.config is None
    assert any(d.severity == "error" and "NOPE" in d.message for d in result.diagnostics)


def test_the_embedded_default_serves_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = load_config(None)
    assert result.diagnostics == []
    (server,) = result.config.servers
    assert [(x.host, x.port) for x in server.listens] == [("127.0.0.1", 8080)]
    assert server.context.root == tmp_path
    assert server.context.autoindex is True
    assert server.context.allow_methods == frozenset({"GET", "HEAD"})
    assert result.config.source is None
