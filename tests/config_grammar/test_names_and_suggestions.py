"""Directive names as nginx reads them (quoted names, quoted map keys) and the did-you-mean
offered for an unknown one: case-insensitive, only names allowed where it appears, never for
a name nginx knows. Also the values of nested ``${A:-${B}}`` defaults."""

from __future__ import annotations

import pytest

from config_grammar.parser import parse_text
from framework.config.build import load_config


def _load(tmp_path, text: str):
    conf = tmp_path / "x.conf"
    conf.write_text(text)
    return load_config(conf, env={}, check_fs=False)


def _hint(tmp_path, text: str, name: str) -> str | None:
    (d,) = [d for d in _load(tmp_path, text).diagnostics if f'"{name}"' in d.message]
    return d.hint


def test_quoted_map_keys_and_a_quoted_directive_name_are_accepted(tmp_path):
    text = (
        'map $uri $cc {\n    "" "no-store";\n    default "public";\n}\n'
        'server {\n    listen 8080;\n    "add_header" X y;\n}\n'
    )
    result = _load(tmp_path, text)
    assert result.diagnostics == []
    server = result.config.servers[0]
    assert server.context.maps["cc"].exact == {"": "no-store"}
    assert [(h.name, h.value) for h in server.context.add_headers] == [("X", "y")]


def test_a_quoted_name_keeps_its_quotes_for_fmt():
    (node,) = parse_text('"add_header" X y;').nodes
    assert (node.name, node.name_raw) == ("add_header", '"add_header"')


LOWERCASE = "(directive names are lowercase)"
NOT_HERE = '"server_name" is not allowed in this block (allowed in: server)'
WRONG_CASE_AND_BLOCK = 'directive names are lowercase, and "server_name" is allowed in: server'


@pytest.mark.parametrize(
    ("where", "written", "hint"),
    [
        ("server", "Server_Name", f'did you mean "server_name"? {LOWERCASE}'),
        ("location", "ROOT", f'did you mean "root"? {LOWERCASE}'),
        ("location", "autoindx", 'did you mean "autoindex"?'),
        # server_name is not allowed in a location: it is not offered there
        ("location", "server_nam", NOT_HERE),
        ("location", "Server_Name", WRONG_CASE_AND_BLOCK),
        # a name nginx knows, in the wrong case: the case is the mistake
        ("server", "Sendfile", f'did you mean "sendfile"? {LOWERCASE}'),
    ],
)
def test_did_you_mean_is_case_insensitive_and_limited_to_the_block(tmp_path, where, written, hint):
    body = f"{written} x;"
    if where == "location":
        body = f"location / {{ {body} }}"
    text = f"server {{\n    listen 8080;\n    {body}\n}}\n"
    assert _hint(tmp_path, text, written) == hint


def test_no_did_you_mean_for_a_directive_nginx_knows(tmp_path):
    text = "server {\n    listen 8080;\n    server_tokens off;\n    log_format x y;\n}\n"
    for d in _load(tmp_path, text).diagnostics:
        assert "did you mean" not in (d.hint or ""), d


@pytest.mark.parametrize(
    ("arg", "env", "value"),
    [
        ("${A:-${B}}", {"B": "b"}, "b"),
        ("${A:-${B}}", {"A": "a", "B": "b"}, "a"),
        ("${A:-${B:-${C:-deep}}}/x", {}, "deep/x"),
        ('"${A:-${B} and ${C:-c}}"', {"B": "b"}, "b and c"),
        ("'${A:-${B}}'", {}, "${A:-${B}}"),
    ],
)
def test_nested_defaults_expand_like_a_shell(arg, env, value):
    result = parse_text(f"root {arg};", env=env)
    assert result.diagnostics == []
    assert result.nodes[0].args[0].value == value


def test_an_unset_inner_reference_is_one_error_at_the_inner_reference():
    (d,) = parse_text("root ${A:-${B}};", "t", env={}).diagnostics
    assert (d.rule, d.span.col, d.span.end_col) == ("undefined-variable", 11, 15)


def test_an_unclosed_outer_reference_is_reported_whole():
    (d,) = parse_text("root ${A:-${B};", "t", env={"B": "b"}).diagnostics
    assert (d.rule, d.message) == (
        "unterminated-variable",
        'unterminated variable reference "${A:-${B}"',
    )
