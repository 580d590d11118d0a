"""Syntax errors are all reported in one run, each at the right place, nginx-style."""

from __future__ import annotations

from config_grammar.parser import parse_text


def diags(text: str):
    return parse_text(text, "t.conf", env={}).diagnostics


def where(diag) -> tuple[int, int]:
    return diag.span.line, diag.span.col


def test_stray_closing_brace_is_unexpected():
    (d,) = diags("root www;\n}\nindex a;\n")
    assert (d.rule, d.message, where(d)) == ("unbalanced-brace", 'unexpected "}"', (2, 1))


def test_unclosed_block_reports_end_of_file_and_points_at_the_block():
    (d,) = diags("server {\n    listen 80;\n    location / {\n        root x;\n    }\n")
    assert d.message == 'unexpected end of file, expecting "}"'
    assert where(d) == (5, 6)  # just after the last character of the file
    assert d.notes == ['block "server" opened at t.conf:1:1 is not closed']


def test_every_unclosed_block_is_named_innermost_first():
    (d,) = diags("http {\n  server {\n    listen 80;\n")
    assert d.notes == [
        'block "server" opened at t.conf:2:3 is not closed',
        'block "http" opened at t.conf:1:1 is not closed',
    ]


def test_brace_without_a_directive_name_is_unexpected_and_its_pair_is_dropped():
    result = parse_text("{\n  root x;\n}\nindex a;\n")
    assert [(d.message, where(d)) for d in result.diagnostics] == [('unexpected "{"', (1, 1))]
    assert [n.name for n in result.nodes] == ["root", "index"]


def test_stray_semicolon_is_unexpected():
    (d,) = diags("root x;;\n")
    assert (d.message, where(d)) == ('unexpected ";"', (1, 8))


def test_missing_semicolon_before_closing_brace_points_at_end_of_the_directive_line():
    (d,) = diags("server {\n    root www\n}\n")
    assert d.rule == "missing-semicolon"
    assert d.message == 'directive "root" is not terminated by ";"'
    assert where(d) == (2, 13)


def test_missing_semicolon_before_a_known_directive_on_the_next_line_is_reported_and_split():
    result = parse_text("server {\n    listen 80\n    root www;\n}\n", "t.conf")
    (d,) = result.diagnostics
    assert (d.rule, where(d)) == ("missing-semicolon", (2, 14))
    listen, root = result.nodes[0].children
    assert [a.value for a in listen.args] == ["80"] and root.name == "root"


def test_missing_semicolon_before_a_block_on_the_next_line():
    result = parse_text("server {\n    listen 80\n    location / { }\n}\n")
    assert [d.rule for d in result.diagnostics] == ["missing-semicolon"]
    assert [c.name for c in result.nodes[0].children] == ["listen", "location"]


def test_arguments_continued_on_the_next_line_are_not_an_error():
    result = parse_text("server_name a.example\n            b.example;\n")
    assert result.diagnostics == []
    assert [a.value for a in result.nodes[0].args] == ["a.example", "b.example"]


def test_known_directive_names_can_be_supplied():
    text = "greeting hi\nfarewell bye;\n"
    assert parse_text(text).diagnostics == []
    (d,) = parse_text(text, known_directives={"farewell"}).diagnostics
    assert d.message == 'directive "greeting" is not terminated by ";"'


def test_missing_semicolon_at_end_of_file():
    (d,) = diags("root www")
    assert (d.rule, where(d)) == ("missing-semicolon", (1, 9))


def test_unterminated_string_is_reported_at_its_quote_and_parsing_continues():
    result = parse_text('server {\n    return 200 "oops;\n    root www;\n}\n', "t.conf")
    (d,) = result.diagnostics
    assert (d.rule, where(d)) == ("unterminated-string", (2, 16))
    assert [c.name for c in result.nodes[0].children] == ["root"]


def test_quoted_string_followed_directly_by_a_word_is_unexpected():
    (d,) = diags('root "a"b;\n')
    assert (d.rule, where(d)) == ("syntax-error", (1, 9))
    assert d.message.startswith('unexpected "b"')


def test_a_quoted_directive_name_is_a_name_as_in_nginx():
    # nginx's lexer treats a quoted word like any other, so map keys can be "" (h5bp)
    assert diags('"root" www;\nmap $a $b { "" "no-store"; \'x y\' z; }\n') == []
    nodes = parse_text('"root" www;\nm { "" v; }\n').nodes
    assert [n.name for n in nodes] == ["root", "m"]
    (key,) = nodes[1].children
    assert (key.name, key.name_raw, key.args[0].value) == ("", '""', "v")


def test_invisible_character_is_named_by_code_point():
    (d,) = diags("root\u00a0www;\n")
    assert d.message == 'unexpected character "U+00A0"'


def test_several_errors_are_reported_in_one_run_in_source_order():
    text = (
        "server {\n"  # 1
        "    listen 80\n"  # 2: missing ;
        "    root www;\n"  # 3
        "    location / {\n"  # 4
        '        return 200 "x\n'  # 5: unterminated string
        "    }\n"  # 6
        "    index a.html;;\n"  # 7: stray ;
        "}\n"  # 8
        "}\n"  # 9: stray }
        "http {\n"  # 10: never closed
        "    workers 2;\n"  # 11
    )
    result = parse_text(text, "t.conf", env={})
    found = [(d.rule, where(d)) for d in result.diagnostics]
    assert found == [
        ("missing-semicolon", (2, 14)),
        ("unterminated-string", (5, 20)),
        ("syntax-error", (7, 18)),
        ("unbalanced-brace", (9, 1)),
        ("unbalanced-brace", (11, 15)),
    ]
    # The recovered tree keeps every good directive, so later stages can validate them.
    server, http = result.nodes
    assert [c.name for c in server.children] == ["listen", "root", "location", "index"]
    assert [c.name for c in http.children] == ["workers"]


def test_errors_in_an_expression_do_not_hide_syntax_errors_elsewhere():
    result = parse_text("root ${NOPE};\n}\n", env={})
    assert [d.rule for d in result.diagnostics] == ["undefined-variable", "unbalanced-brace"]


def test_valid_input_gives_no_diagnostics_and_ok_result():
    result = parse_text("server { listen 80; }\n")
    assert result.ok and result.diagnostics == []


def test_unclosed_block_note_names_the_block_whose_brace_is_misaligned():
    text = "server {\n    location / {\n        root www;\n}\n"
    (d,) = diags(text)
    assert d.notes[-1].startswith('the "}" at t.conf:4:1 closes "location" (t.conf:2:5)')


def test_missing_brace_is_reported_before_the_first_statement_indented_as_a_sibling():
    text = "server {\n    location / {\n        root www;\n\n    location /b { }\n}\n"
    (d,) = diags(text)
    assert (d.rule, d.message, where(d)) == (
        "unbalanced-brace",
        'block "location" (2:5) is not closed',
        (3, 18),
    )
    (server,) = parse_text(text).nodes
    assert [c.args[0].value for c in server.children] == ["/", "/b"]


def test_recovery_never_raises_on_arbitrary_token_soup():
    import random

    rng = random.Random(1234)
    pieces = ["a", "b c", ";", "{", "}", '"', "'", '"q"', "'s'", "#c", "\n", " ", "\\",
              "${", "${X}", "}", "\u00a0", "include", "listen"]  # fmt: skip
    for _ in range(500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 30)))
        result = parse_text(text, "fuzz.conf", env={"X": "1"}, resolve_includes=False)
        for diag in result.diagnostics:
            assert diag.span is not None and diag.span.line >= 1 and diag.span.col >= 1


def test_a_block_directive_missing_its_brace_gets_its_body_back():
    result = parse_text("server {\n    location /\n        root www;\n    }\n}\n", "t.conf")
    (d,) = result.diagnostics
    assert (d.rule, where(d)) == ("missing-block", (2, 15))
    (location,) = result.nodes[0].children
    assert [c.name for c in location.children] == ["root"]


def test_a_header_split_over_lines_that_reaches_its_brace_is_valid_as_in_nginx():
    result = parse_text("server\n{\n    location\n        /a\n    { }\n}\n")
    assert result.diagnostics == []
    assert result.nodes[0].children[0].args[0].value == "/a"


def test_an_unquoted_regex_repetition_is_one_error_and_the_regex_is_kept_whole():
    result = parse_text("location ~ ^/a{2,3}/b{4}$ {\n    root x;\n}\n", "t.conf")
    (d,) = result.diagnostics
    assert (d.rule, where(d)) == ("unquoted-regex-brace", (1, 12))
    assert d.hint == 'quote the regex, as nginx requires: "^/a{2,3}/b{4}$"'
    (location,) = result.nodes
    assert [a.value for a in location.args] == ["~", "^/a{2,3}/b{4}$"]
    assert [c.name for c in location.children] == ["root"]


def test_a_brace_glued_to_a_word_that_is_not_a_repetition_still_opens_a_block():
    result = parse_text("server{listen 80;}\n")
    assert result.diagnostics == [] and result.nodes[0].children[0].name == "listen"


def test_brace_repairs_apply_only_when_the_braces_do_not_balance():
    # balanced: `root www { }` is a block given to root (the builder reports it), and an
    # unaligned "}" that closes its block is just untidy
    assert parse_text("root www { }\n").diagnostics == []
    assert parse_text("server {\n    listen 80;\n  }\n").diagnostics == []


def test_a_string_over_lines_that_ends_cleanly_is_valid():
    result = parse_text('return 200 "a;\nb";\nindex x;\n')
    assert result.diagnostics == []
    assert result.nodes[0].args[1].value == "a;\nb"
