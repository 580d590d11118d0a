"""``try_files``: parsing, contexts, diagnostics, and nginx's non-inheritance (the value is
used only in the block that writes it, includes included)."""

from __future__ import annotations

from pathlib import Path

from framework.config.directives_try_files import TryFiles


def config_of(result):
    assert result.config is not None, [d.message for d in result.diagnostics]
    return result.config


def test_files_then_a_uri(load):
    server = config_of(
        load("server { location / { try_files $uri $uri/ /index.html?from=$uri; } }")
    ).servers[0]
    spec = server.locations[0].try_files
    assert spec.files == ["$uri", "$uri/"]
    assert spec.uri == "/index.html?from=$uri" and spec.code is None


def test_files_then_a_code(load):
    spec = config_of(load("server { location / { try_files $uri =404; } }")).servers[0]
    assert spec.locations[0].try_files.code == 404
    assert spec.locations[0].try_files.uri is None


def test_server_context_is_allowed(load):
    server = config_of(load("server { try_files $uri /index.html; }")).servers[0]
    assert server.context.try_files.files == ["$uri"]


def test_one_argument_is_an_arity_error(load, rules):
    result = load("server { location / { try_files $uri; } }")
    assert result.config is None
    assert rules(result) == ["invalid-arg-count"]
    assert result.diagnostics[0].message == 'invalid number of arguments in "try_files" directive'


def test_top_level_is_not_a_context(load, rules):
    result = load("try_files $uri =404;\nserver { }")
    assert result.config is None
    assert any("try_files" in d.message for d in result.diagnostics)


def test_invalid_code_is_reported_at_the_argument(load):
    result = load("server {\n  location / { try_files $uri =1000; }\n}")
    assert result.config is None
    [diag] = [d for d in result.diagnostics if d.rule == "invalid-status"]
    assert diag.message == 'invalid code "=1000" in "try_files" directive'
    assert (diag.span.line, diag.span.col) == (2, 31)
    assert "=404" in diag.hint


def test_empty_file_name_is_an_error(load):
    result = load('server { location / { try_files "" =404; } }')
    assert result.config is None
    assert any(d.message == 'empty file name in "try_files" directive' for d in result.diagnostics)


def test_a_second_try_files_in_one_block_is_a_duplicate(load, rules):
    result = load("server { location / { try_files $uri =404; try_files $uri =403; } }")
    assert result.config is None
    assert rules(result) == ["duplicate-directive"]


def test_not_inherited_from_the_server_into_locations(load):
    server = config_of(load("server { try_files $uri /index.html; location /api/ { } }")).servers[0]
    api = server.locations[0]
    assert server.context.try_files.declared_in(server.context.span)
    assert not api.try_files or not api.try_files.declared_in(api.span)


def test_not_inherited_into_nested_locations(load):
    server = config_of(
        load(
            "server {\n location / {\n  location /a/ { }\n  try_files $uri =404;\n"
            "  location /b/ { try_files $uri =403; }\n }\n}"
        )
    ).servers[0]
    outer = server.locations[0]
    a, b = outer.children
    assert outer.try_files.declared_in(outer.span)
    assert a.try_files is None or not a.try_files.declared_in(a.span)
    assert b.try_files.code == 403 and b.try_files.declared_in(b.span)


def test_an_included_try_files_belongs_to_the_block_that_includes_it(load, tmp_path: Path):
    (tmp_path / "spa.conf").write_text("try_files $uri /index.html;\n")
    server = config_of(
        load("server {\n location / { include spa.conf; location /x/ { } }\n}")
    ).servers[0]
    outer = server.locations[0]
    inner = outer.children[0]
    assert outer.try_files.declared_in(outer.span)
    assert not inner.try_files.declared_in(inner.span)


def test_a_value_without_a_place_counts_as_declared():
    assert TryFiles(files=["$uri"], code=404).declared_in(None)


def test_schema_lists_the_directive():
    from framework.config.directives import DIRECTIVES

    row = DIRECTIVES["try_files"]
    assert row.contexts == frozenset("SL") and row.min_args == 2 and row.max_args is None


def test_a_server_try_files_shadowed_by_location_slash_is_warned(load):
    result = load("server {\n  try_files $uri /index.html;\n  location / { }\n}\n")
    [diag] = [d for d in result.diagnostics if d.rule == "try-files-unreachable"]
    assert diag.severity == "warning" and (diag.span.line, diag.span.col) == (2, 3)
    assert "location /" in diag.hint


def test_a_server_try_files_with_only_narrower_locations_is_fine(load):
    result = load("server {\n  try_files $uri /index.html;\n  location /api/ { }\n}\n")
    assert not [d for d in result.diagnostics if d.rule == "try-files-unreachable"]
