"""Lexical rules of the configuration language: words, quotes, escapes, comments, ${VAR}."""

from __future__ import annotations

import pytest

from config_grammar.parser import parse_text
from config_grammar.tree import Directive


def parse_ok(text: str, env: dict[str, str] | None = None) -> list[Directive]:
    result = parse_text(text, env=env or {})
    assert result.diagnostics == []
    return [n for n in result.nodes if isinstance(n, Directive)]


def values(text: str, env: dict[str, str] | None = None) -> list[str]:
    (directive,) = parse_ok(text, env)
    return [a.value for a in directive.args]


def test_simple_and_block_directives_build_a_tree():
    server, top = parse_ok("server { listen 80; location / { root www; } }\nworkers 2;")
    assert (server.name, server.args, top.name) == ("server", [], "workers")
    listen, location = server.block
    assert listen.block is None and [a.value for a in listen.args] == ["80"]
    assert [a.value for a in location.args] == ["/"]
    assert [(d.name, d.args[0].value) for d in location.children] == [("root", "www")]


def test_empty_block_is_an_empty_list_not_none():
    (d,) = parse_ok("http {}")
    assert d.block == [] and d.children == []


def test_hash_inside_a_word_is_not_a_comment():
    assert values("return 200 a#b;") == ["200", "a#b"]


def test_hash_at_token_start_starts_a_comment_even_after_a_semicolon():
    result = parse_text("root www;# note\nindex a;", env={})
    assert [n.name for n in result.nodes] == ["root", "index"]
    assert [c.text for c in result.nodes[0].comments] == ["# note"]


def test_comment_between_arguments_does_not_end_the_directive():
    assert values("server_name a.example # first\n    b.example;") == ["a.example", "b.example"]


def test_double_and_single_quotes_allow_spaces_and_special_characters():
    assert values("""return 200 "a b; {c} #d" 'e "f" ;';""") == ["200", "a b; {c} #d", 'e "f" ;']


def test_quoted_strings_may_span_lines():
    assert values('return 200 "line1\nline2";') == ["200", "line1\nline2"]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (r'"a\"b"', 'a"b'),
        (r"'a\'b'", "a'b"),
        (r'"a\\b"', "a\\b"),
        (r'"a\nb"', "a\nb"),
        (r'"a\tb"', "a\tb"),
        (r'"a\rb"', "a\rb"),
        (r'"a\qb"', r"a\qb"),
        (r'"\.php$"', r"\.php$"),
    ],
)
def test_escapes_follow_nginx_and_unknown_ones_keep_the_backslash(raw, value):
    assert values(f"x {raw};") == [value]


def test_quote_flag_and_raw_text_are_kept():
    (d,) = parse_ok("x 'a' \"b\" c;")
    assert [(a.raw, a.quoted) for a in d.args] == [("'a'", True), ('"b"', True), ("c", False)]


def test_escaped_semicolon_and_space_stay_inside_a_bare_word():
    assert values(r"x a\;b c\ d;") == [r"a\;b", r"c\ d"]


def test_quote_in_the_middle_of_a_word_is_an_ordinary_character():
    assert values("x a\"b'c;") == ["a\"b'c"]


@pytest.mark.parametrize(
    "args",
    [
        r"~* \.(gif|jpg|jpeg)$",
        r"~ ^/a/(.*)$",
        r"~ ^/user/(?<name>[a-z]+)/?$",
        r"~ \.php$",
        r"= /exact",
        r"^~ /images/",
        r"~ ^/(a|b)+[0-9]*\d$",
    ],
)
def test_regex_arguments_lex_as_words(args):
    assert values(f"location {args} {{ }}") == args.split(" ")


def test_braces_end_a_bare_word():
    (d,) = parse_ok("location /a{root b;}")
    assert d.args[0].value == "/a" and d.children[0].args[0].value == "b"


def test_braces_inside_quotes_do_not_open_blocks():
    assert values('location "~ ^/x{2,3}$" { }') == ["~ ^/x{2,3}$"]


@pytest.mark.parametrize(
    ("raw", "env", "value"),
    [
        ("${ROOT}", {"ROOT": "/srv"}, "/srv"),
        ("${ROOT}/www", {"ROOT": "/srv"}, "/srv/www"),
        ("pre-${A}-${B}-post", {"A": "1", "B": "2"}, "pre-1-2-post"),
        ("${PORT:-8080}", {}, "8080"),
        ("${PORT:-8080}", {"PORT": "9000"}, "9000"),
        ("${PORT:-8080}", {"PORT": ""}, "8080"),
        ("${EMPTY}", {"EMPTY": ""}, ""),
        ('"${A} and ${B:-b}"', {"A": "a"}, "a and b"),
        ("$uri", {}, "$uri"),
        ("a$", {}, "a$"),
    ],
)
def test_environment_references_expand_in_bare_words_and_double_quotes(raw, env, value):
    assert values(f"x {raw};", env) == [value]


def test_single_quotes_keep_environment_references_literal():
    assert values("x '${HOME}';", {"HOME": "/root"}) == ["${HOME}"]


def test_default_environment_is_os_environ(monkeypatch):
    monkeypatch.setenv("WEBSERV_TEST_ROOT", "/from/env")
    result = parse_text("root ${WEBSERV_TEST_ROOT};")
    assert result.nodes[0].args[0].value == "/from/env"


def test_expansion_can_be_turned_off_for_the_formatter():
    result = parse_text("root ${UNSET_VARIABLE};", expand_env=False)
    assert result.diagnostics == [] and result.nodes[0].args[0].value == "${UNSET_VARIABLE}"


def test_undefined_variable_is_an_error_at_the_reference():
    result = parse_text("root /srv/${NOPE}/www;", env={})
    (diag,) = result.diagnostics
    assert (diag.severity, diag.rule) == ("error", "undefined-variable")
    assert '"NOPE"' in diag.message and "${NOPE:-" in diag.hint
    assert (diag.span.line, diag.span.col, diag.span.end_col) == (1, 11, 18)


def test_undefined_variable_inside_a_multiline_string_points_at_its_line():
    result = parse_text('return 200 "a\n  ${NOPE}";', env={})
    (diag,) = result.diagnostics
    assert (diag.span.line, diag.span.col, diag.span.end_col) == (2, 3, 10)


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("${}", "invalid-variable"),
        ("${1A}", "invalid-variable"),
        ("${A:x}", "invalid-variable"),
        ("${A", "unterminated-variable"),
        ('"${A"', "unterminated-variable"),
    ],
)
def test_malformed_references_are_errors(raw, rule):
    result = parse_text(f"x {raw};", env={"A": "1"})
    assert [d.rule for d in result.diagnostics] == [rule]
    assert result.diagnostics[0].span.col == 3 + raw.startswith('"')


def test_unterminated_reference_does_not_swallow_the_semicolon():
    result = parse_text("x ${A;\ny 1;", env={})
    assert [d.rule for d in result.diagnostics] == ["unterminated-variable"]
    assert [n.name for n in result.nodes] == ["x", "y"]


def test_backslash_before_dollar_brace_prevents_expansion():
    assert values(r'x "\${A}";', {"A": "1"}) == [r"\${A}"]


def test_directive_names_are_not_expanded():
    (d,) = parse_ok("${A} 1;", {"A": "x"})
    assert d.name == "${A}"


def test_crlf_line_endings_are_accepted():
    (server,) = parse_ok("server {\r\n    listen 80; # c\r\n}\r\n")
    assert server.children[0].args[0].value == "80"
    assert server.children[0].comments[0].text == "# c"


def test_leading_byte_order_mark_is_ignored():
    (d,) = parse_ok("\ufeffroot www;")
    assert d.name == "root" and d.name_span.col == 1
