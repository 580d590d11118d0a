"""Every node carries file/line/col/end spans (1-based, end column exclusive)."""

from __future__ import annotations

from config_grammar.parser import parse_file, parse_text
from config_grammar.tree import Span

TEXT = """\
server {
    listen 127.0.0.1:8080;
    location ~ "\\.php$" {
        root   'www';
    }
}
"""


def test_directive_name_and_arg_spans():
    (server,) = parse_text(TEXT, "site.conf").nodes
    listen, location = server.children
    assert listen.name_span == Span("site.conf", 2, 5, 2, 11)
    assert listen.args[0].span == Span("site.conf", 2, 12, 2, 26)
    assert listen.span == Span("site.conf", 2, 5, 2, 27)  # through the ";"
    assert location.args[1].span == Span("site.conf", 3, 16, 3, 24)  # quotes included
    root = location.children[0]
    assert root.args[0].span == Span("site.conf", 4, 16, 4, 21)


def test_block_span_runs_from_name_to_closing_brace():
    (server,) = parse_text(TEXT, "site.conf").nodes
    assert server.span == Span("site.conf", 1, 1, 6, 2)
    assert server.children[1].span == Span("site.conf", 3, 5, 5, 6)


def test_multiline_string_span_ends_on_its_last_line():
    (d,) = parse_text('return 200 "a\nbc";').nodes
    assert d.args[1].span == Span("<string>", 1, 12, 2, 4)
    assert d.span.end_line == 2 and d.span.end_col == 5


def test_columns_count_characters_not_bytes():
    (d,) = parse_text("x 'é' y;").nodes
    assert d.args[1].span.col == 7


def test_comment_spans():
    result = parse_text("# a\nroot x; # b\n")
    assert result.nodes[0].span == Span("<string>", 1, 1, 1, 4)
    assert result.nodes[1].comments[0].span == Span("<string>", 2, 9, 2, 12)


def test_span_str_is_file_line_col():
    assert str(Span("a.conf", 3, 7, 3, 9)) == "a.conf:3:7"


def test_included_nodes_carry_their_own_file_and_the_include_chain(tmp_path):
    (tmp_path / "main.conf").write_text("server {\n    include site.conf;\n}\n")
    (tmp_path / "site.conf").write_text("\n  listen 80;\n")
    main = str(tmp_path / "main.conf")
    result = parse_file(main)
    assert result.diagnostics == []
    (listen,) = result.nodes[0].children
    site = str(tmp_path / "site.conf")
    assert listen.span == Span(site, 2, 3, 2, 13)
    assert listen.args[0].span == Span(site, 2, 10, 2, 12)
    assert listen.include_chain == (Span(main, 2, 5, 2, 23),)
    assert set(result.sources) == {main, site}
