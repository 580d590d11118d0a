"""``format_text``: canonical layout, comments kept, raw args kept, idempotent."""

from __future__ import annotations

import pytest

from config_grammar.fmt import FormatError, format_text
from config_grammar.parser import parse_text

MESSY = """\
  # top comment
http{
server   {  # header comment
listen    80 ;   # trailing comment
        server_name a.example
           b.example;



   location ~* "\\.(gif|jpg)$" {root '/x';}   # after the block
   location /empty {}
   location /f { # only a comment
   }
        # last comment in server
}
}
include   conf.d/*.conf;
"""

CANONICAL = """\
# top comment
http {
    server { # header comment
        listen 80; # trailing comment
        server_name a.example b.example;

        location ~* "\\.(gif|jpg)$" {
            root '/x';
        } # after the block
        location /empty {}
        location /f { # only a comment
        }
        # last comment in server
    }
}
include conf.d/*.conf;
"""


def test_messy_input_is_normalised():
    assert format_text(MESSY) == CANONICAL


@pytest.mark.parametrize(
    "text",
    [
        MESSY,
        CANONICAL,
        "",
        "# only a comment\n",
        "a;\n\n\n\nb;\n",
        "server {\n\n    listen 80;\n\n}\n",
        'return 200 "multi\nline" ;  # c\n',
        "x a # inside args\n  b; # after\n",
        "server\n{\n  listen 80;\n} # closing\n# tail\n",
        "types { text/html html htm; image/png png; }\n",
        "location = /x { return 301 /y; } location /z { }",
        "a {\n# c1\n# c2\n\n# c3\nb;\n}\n",
    ],
)
def test_formatting_is_idempotent(text):
    once = format_text(text)
    assert format_text(once) == once


@pytest.mark.parametrize(
    "text",
    [MESSY, "x a # inside args\n  b; # after\n", "server { # a\n listen 1; } # b\n"],
)
def test_formatting_keeps_every_comment_and_every_directive(text):
    def inventory(source: str) -> tuple[list[str], list[str]]:
        comments = [line.split("#", 1)[1] for line in source.splitlines() if "#" in line]
        words = [
            a.raw
            for n in _walk(parse_text(source, expand_env=False, resolve_includes=False).nodes)
            for a in n.args
        ]
        return sorted(comments), words

    assert inventory(format_text(text)) == inventory(text)


def _walk(nodes):
    for node in nodes:
        if hasattr(node, "args"):
            yield node
            yield from _walk(node.block or [])


def test_args_are_re_emitted_as_written():
    text = """x "${A}" '${B}' \\.php$ "a\\"b" $uri;\n"""
    assert format_text(text) == text


def test_blank_lines_collapse_to_one_and_vanish_at_block_edges():
    assert format_text("a;\n\n\n\nb;\nc {\n\n  d;\n\n}\n") == "a;\n\nb;\nc {\n    d;\n}\n"


def test_several_directives_on_one_line_are_split():
    assert format_text("a 1; b 2; c { d; }") == "a 1;\nb 2;\nc {\n    d;\n}\n"


def test_comments_inside_arguments_trail_the_directive():
    assert format_text("x a # one\n  b # two\n  c;\n") == "x a b c; # one\n# two\n"


def test_includes_and_variables_are_not_resolved():
    text = "include missing/*.conf;\nroot ${UNSET_FOR_FMT_TEST};\n"
    assert format_text(text) == text


def test_syntax_errors_raise_format_error_with_diagnostics():
    with pytest.raises(FormatError) as info:
        format_text("server {\n    listen 80\n", "bad.conf")
    rules = [d.rule for d in info.value.diagnostics]
    assert rules == ["missing-semicolon", "unbalanced-brace"]
    assert info.value.sources == {"bad.conf": "server {\n    listen 80\n"}
