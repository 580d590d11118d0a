"""Hostile configuration text: the parser, the renderers and the formatter never raise; every
problem comes back as a diagnostic with a position."""

from __future__ import annotations

from pathlib import Path

import pytest
from sarif_schema import assert_valid_sarif

from config_grammar.fmt import FormatError, format_text
from config_grammar.parser import parse_text
from config_grammar.recovery import MAX_DEPTH
from config_grammar.render import render_text
from config_grammar.render_machine import render_json, render_sarif
from framework.config.build import load_config

HOSTILE = {
    "deep_nesting_closed": "a {" * 3000 + "}" * 3000,
    "deep_nesting_unclosed": "a {" * 3000,
    "many_stray_closing_braces": "}" * 3000,
    "many_stray_opening_braces": "{" * 3000 + "a b;",
    "ten_thousand_args": "a " + "x " * 10_000 + ";",
    "nul_between_tokens": "server {\x00 listen 80; }",
    "nul_inside_a_word": "listen 8\x000;",
    "nul_inside_a_string": 'root "a\x00b";',
    "lone_cr_line_endings": "server {\r listen 80;\r}\r",
    "vertical_tab_and_form_feed": "a \x0b\x0c b;",
    "unicode_line_separator": "a b\u2028c;",
    "lone_surrogate": "a \udcff;",
    "unterminated_double_quote": 'root "abc',
    "unterminated_single_quote": "root 'abc",
    "unterminated_block": "server {",
    "trailing_backslash": "root abc\\",
    "only_a_backslash": "\\",
    "only_a_quote": '"',
    "only_semicolons": ";;;;",
    "only_braces": "{}{}{{}}",
    "unterminated_comment": "# abc",
    "adjacent_strings": 'a "b""c";',
    "quoted_directive_name": '"a" b;',
    "dollar_brace_unterminated": "root ${;",
    "dollar_brace_empty": "root ${};",
    "dollar_brace_nested": "root ${A:-${B}};",
    "dollar_brace_space": "root ${ ;",
    "dollar_brace_newline": "root ${\n};",
    "dollar_brace_in_quotes_unterminated": 'root "${A";',
    "dollar_brace_default_with_brace": "root ${A:-{}};",
    "dollar_brace_extra_closers": "root ${A}}};",
    "escaped_dollar_brace": "root \\${A};",
    "include_with_nul": "include a\x00b;",
    "include_very_long_name": "include " + "a" * 5000 + ";",
    "include_bad_glob": "include [;",
    "include_a_directory": "include /;",
    "include_empty_name": 'include "";',
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_gives_diagnostics_never_an_exception(text):
    for env in ({"A": "1"}, {}):
        result = parse_text(text, "hostile.conf", env=env)
        render_text(result.diagnostics, result.sources)
        render_json(result.diagnostics)
        assert_valid_sarif(render_sarif(result.diagnostics))
        for diag in result.diagnostics:
            assert diag.span.line >= 1 and diag.span.col >= 1
    parse_text(text, "hostile.conf", resolve_includes=False, expand_env=False)


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_formatter_on_hostile_text_is_idempotent_or_reports_errors(text):
    try:
        once = format_text(text)
    except FormatError as exc:
        assert exc.diagnostics
        return
    assert format_text(once) == once


def test_blocks_nested_beyond_the_limit_are_one_error_and_the_rest_still_parses():
    text = "a {" * (MAX_DEPTH + 20) + "x;" + "}" * (MAX_DEPTH + 20) + "\nafter 1;"
    result = parse_text(text)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [d.rule for d in errors] == ["nesting-too-deep"]
    assert errors[0].span.line == 1
    assert errors[0].span.col == 3 * MAX_DEPTH + 3  # the "{" of the first block too deep
    assert [n.name for n in result.nodes] == ["a", "after"]
    depth, node = 0, result.nodes[0]
    while node.children:
        node, depth = node.children[0], depth + 1
    assert depth == MAX_DEPTH - 1  # levels up to the limit are kept


def test_blocks_at_the_nesting_limit_are_accepted():
    text = "a {" * MAX_DEPTH + "x;" + "}" * MAX_DEPTH
    assert parse_text(text).ok


def test_deeply_nested_unclosed_blocks_report_the_missing_braces():
    result = parse_text("a {" * 3000)
    rules = [d.rule for d in result.diagnostics]
    assert "nesting-too-deep" in rules
    assert "unbalanced-brace" in rules


def test_ten_thousand_arguments_are_kept():
    result = parse_text("a " + "x " * 10_000 + ";")
    assert result.ok
    assert len(result.nodes[0].args) == 10_000


def test_nul_byte_is_reported_at_its_line_and_column():
    result = parse_text("a b;\nlisten 8\x000;\n")
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert errors and (errors[0].span.line, errors[0].span.col) == (2, 9)
    assert "U+0000" in errors[0].message


def test_crlf_line_endings_parse_like_lf_with_the_same_positions():
    lf = parse_text("server {\n\tlisten 80;\n}\n")
    crlf = parse_text("server {\r\n\tlisten 80;\r\n}\r\n")
    assert crlf.ok and lf.ok
    inner_lf, inner_crlf = lf.nodes[0].children[0], crlf.nodes[0].children[0]
    assert inner_crlf.args[0].value == "80"
    assert inner_crlf.span.line == inner_lf.span.line == 2
    assert inner_crlf.span.col == inner_lf.span.col == 2


def test_byte_order_marks_at_the_start_are_ignored_and_formatting_is_stable():
    for text in ("\ufeffserver { listen 80; }", "\ufeff\ufeffserver { listen 80; }"):
        result = parse_text(text)
        assert result.ok
        assert result.nodes[0].name == "server"
        assert result.nodes[0].span.col == 1
        once = format_text(text)
        assert format_text(once) == once


def test_unicode_arguments_survive_with_character_columns():
    result = parse_text("server_name 例え.jp ünï;")
    assert result.ok
    assert [a.value for a in result.nodes[0].args] == ["例え.jp", "ünï"]
    assert result.nodes[0].args[1].span.col == 19


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("root ${;", "unterminated-variable"),
        ("root ${};", "invalid-variable"),
        ("root ${1A};", "invalid-variable"),
        ("root ${UNSET_FOR_SURE};", "undefined-variable"),
        ('root "${A";', "unterminated-variable"),
    ],
)
def test_bad_environment_references_are_diagnostics(text, rule):
    result = parse_text(text, env={"A": "1"})
    assert rule in [d.rule for d in result.diagnostics]


def test_single_quotes_and_escapes_keep_a_literal_dollar_brace():
    result = parse_text("a '${X}' \"\\${X}\";", env={})
    assert result.ok
    assert [a.value for a in result.nodes[0].args] == ["${X}", "\\${X}"]


def test_default_value_may_hold_a_brace_and_spaces_when_quoted():
    result = parse_text('a "${UNSET:-x y}" "${UNSET:-{}";', env={})
    assert result.ok
    assert [a.value for a in result.nodes[0].args] == ["x y", "{"]


def _load(tmp_path: Path, text: str):
    conf = tmp_path / "x.conf"
    conf.write_text(text, encoding="utf-8")
    return load_config(conf, env={}, check_fs=True)


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_loading_hostile_text_gives_diagnostics_never_an_exception(tmp_path, text):
    try:
        (tmp_path / "x.conf").write_text(text, encoding="utf-8")
    except UnicodeEncodeError:
        pytest.skip("not representable as UTF-8 file content")
    result = load_config(tmp_path / "x.conf", env={}, check_fs=True)
    assert result.config is None or not result.errors
    assert not any(d.rule == "internal-error" for d in result.diagnostics)


@pytest.mark.parametrize("directive", ["root", "alias", "upload_store", "index"])
def test_nul_byte_in_a_path_argument_is_a_diagnostic_not_an_exception(tmp_path, directive):
    text = f'server {{ listen 127.0.0.1:1; location /x {{ {directive} "a\x00b"; }} }}'
    result = _load(tmp_path, text)
    assert result.config is None
    assert any("U+0000" in d.message for d in result.errors)


def test_a_statement_holding_a_nul_is_dropped_whole_and_parsing_goes_on():
    for text in ('root "a\x00b" x; next 1;', '"\x00" b; next 1;', "a\x00 b; next 1;"):
        result = parse_text(text)
        assert [d.message for d in result.diagnostics] == ['unexpected character "U+0000"']
        assert [n.name for n in result.nodes] == ["next"]


def test_overlong_root_path_is_a_diagnostic_not_an_exception(tmp_path):
    result = _load(tmp_path, "root " + "a" * 5000 + "; server { listen 127.0.0.1:1; }")
    assert result.diagnostics
    assert not any(d.rule == "internal-error" for d in result.diagnostics)


def test_absurdly_nested_regex_is_a_diagnostic_not_an_exception(tmp_path):
    regex = "(a" * 500 + ")" * 500
    result = _load(tmp_path, f"server {{ listen 127.0.0.1:1; location ~ {regex} {{}} }}")
    assert result.config is None
    assert any(d.rule == "invalid-regex" for d in result.diagnostics)


def test_environment_values_are_never_reparsed_as_syntax():
    env = {"A": 'x; autoindex on; } server { listen 1; "', "B": "${A}", "C": "\\n"}
    result = parse_text("root ${A} ${B} ${C};", env=env)
    assert result.ok
    assert [n.name for n in result.nodes] == ["root"]
    assert [a.value for a in result.nodes[0].args] == [env["A"], "${A}", "\\n"]
