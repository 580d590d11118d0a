"""Megabyte-long tokens: each lexes as one token (plain runs are one regex step, strings an
unrolled loop), and an unknown name far longer than any real one gets no did-you-mean."""

from __future__ import annotations

from pathlib import Path

from config_grammar.lexer import tokenize
from framework.config.build import MAX_SUGGESTED_LENGTH, load_config

BIG = 2_000_000


def test_a_two_megabyte_bare_word_is_one_token():
    word = "/" + "a" * BIG + "${X}b\\;c"
    result = tokenize(f"root {word};\n", "t.conf")
    assert [t.type for t in result.tokens] == ["WORD", "WORD", "SEMI"]
    assert result.tokens[1].value == word
    assert result.diagnostics == []


def test_a_two_megabyte_quoted_string_with_escapes_is_one_token():
    for quote in "\"'":
        body = ("x" * 1000 + "\\" + quote) * (BIG // 1000)
        result = tokenize(f"root {quote}{body}{quote};\n", "t.conf")
        kind = "DQSTRING" if quote == '"' else "SQSTRING"
        assert [t.type for t in result.tokens] == ["WORD", kind, "SEMI"]
        assert len(result.tokens[1].value) == len(body) + 2


def test_an_unterminated_two_megabyte_string_is_one_error_at_its_quote():
    result = tokenize('root "' + "a" * BIG + "\n}\n", "t.conf")
    assert [(d.rule, d.span.line, d.span.col) for d in result.diagnostics] == [
        ("unterminated-string", 1, 6)
    ]


def _unknown_hints(tmp_path: Path, names: list[str]) -> list[str | None]:
    path = tmp_path / "t.conf"
    body = " ".join(f"{name} a;" for name in names)
    path.write_text(f"server {{ listen 8080; {body} }}\n")
    result = load_config(path, env={}, check_fs=False)
    assert [d.rule for d in result.diagnostics] == ["unknown-directive"] * len(names)
    return [d.hint for d in result.diagnostics]


def test_a_name_longer_than_the_limit_gets_no_suggestion_and_a_near_name_still_does(tmp_path):
    too_long = "x" * (MAX_SUGGESTED_LENGTH + 1)
    huge = "rooot" + "z" * BIG
    assert _unknown_hints(tmp_path, ["rooot", too_long, huge]) == [
        'did you mean "root"?',
        None,
        None,
    ]
