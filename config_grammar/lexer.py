"""Tokenizer for the configuration language, built from the terminals of ``grammar.lark``.

It never stops at the first problem: an unterminated string or a stray character becomes a
``BAD`` token plus a diagnostic (a word or string holding a NUL byte becomes a ``NUL`` token),
and lexing resumes, so one run reports every error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lark import Lark, Token
from lark.lexer import Lexer

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Span

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")
STRING_TYPES = frozenset({"DQSTRING", "SQSTRING"})
ARG_TYPES = frozenset({"WORD", "DQSTRING", "SQSTRING"})


class _TokenListLexer(Lexer):
    """Lark lexer that replays an already tokenized (and repaired) token list."""

    def __init__(self, lexer_conf: object) -> None:
        pass

    def lex(self, data):  # type: ignore[override]  # Lark's interface-0 custom lexer API
        yield from data


#: The LALR parser generated from grammar.lark; it parses token lists made by `tokenize`.
LARK_PARSER = Lark(GRAMMAR_PATH.read_text(), parser="lalr", lexer=_TokenListLexer)

_TOKEN_RE = re.compile(
    "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in LARK_PARSER.terminals)
)


@dataclass(slots=True)
class LexResult:
    """Tokens (comments and whitespace left out), comments, and lexical diagnostics."""

    tokens: list[Token] = field(default_factory=list)
    comments: list[Token] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def make_token(kind: str, value: str, pos: int, line: int, col: int) -> Token:
    """A token whose end position is computed from its value."""
    newlines = value.count("\n")
    if newlines:
        end_line, end_col = line + newlines, len(value) - value.rfind("\n")
    else:
        end_line, end_col = line, col + len(value)
    return Token(kind, value, pos, line, col, end_line, end_col, pos + len(value))


def token_span(filename: str, tok: Token) -> Span:
    """The source span of ``tok``."""
    return Span(filename, tok.line, tok.column, tok.end_line, tok.end_column)


def tokenize(text: str, filename: str) -> LexResult:
    """Split ``text`` into tokens; lexical errors become diagnostics and ``BAD``/``NUL``
    tokens (which ``repair`` drops with their statement)."""
    result = LexResult()
    pos, line, line_start, n = 0, 1, 0, len(text)
    while text.startswith("\ufeff", pos):  # byte order marks are invisible: skip them
        pos = line_start = pos + 1
    match = _TOKEN_RE.match
    while pos < n:
        m = match(text, pos)
        if m is not None:
            kind, value = m.lastgroup, m[0]
        else:
            kind, value = "BAD", _bad_token_text(text, pos)
        col = pos - line_start + 1
        if kind != "WS":
            tok = make_token(kind, value, pos, line, col)  # type: ignore[arg-type]
            if kind == "COMMENT":
                result.comments.append(tok)
            else:
                if kind in ARG_TYPES and "\x00" in value:
                    # a NUL can only truncate a path or a name later: refuse it here
                    result.diagnostics.append(_nul_diagnostic(filename, tok))
                    tok = make_token("NUL", value, pos, line, col)
                elif kind == "BAD":
                    result.diagnostics.append(_bad_token_diagnostic(filename, tok))
                result.tokens.append(tok)
        newlines = value.count("\n")
        if newlines:
            line += newlines
            line_start = pos + value.rfind("\n") + 1
        pos += len(value)
    return result


def _bad_token_text(text: str, pos: int) -> str:
    if text[pos] in "\"'":
        end = text.find("\n", pos)
        return text[pos : len(text) if end < 0 else end]
    return text[pos]


def _nul_diagnostic(filename: str, tok: Token) -> Diagnostic:
    before = tok.value[: tok.value.index("\x00")]
    newlines = before.count("\n")
    line = tok.line + newlines
    col = len(before) - before.rfind("\n") if newlines else tok.column + len(before)
    return Diagnostic(
        "error",
        "syntax-error",
        'unexpected character "U+0000"',
        Span(filename, line, col, line, col + 1),
        hint="remove the NUL byte; it is not allowed anywhere in a configuration",
    )


def _bad_token_diagnostic(filename: str, tok: Token) -> Diagnostic:
    if tok[0] in "\"'":
        return Diagnostic(
            "error",
            "unterminated-string",
            f"unterminated string: missing closing {tok[0]}",
            Span(filename, tok.line, tok.column, tok.line, tok.column + 1),
            hint=f"add the closing {tok[0]}, or escape a quote inside the string as \\{tok[0]}",
        )
    char = tok[0]
    shown = char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
    return Diagnostic(
        "error",
        "syntax-error",
        f'unexpected character "{shown}"',
        token_span(filename, tok),
        hint="quote the argument if this character is intended"
        if char != "\\"
        else "a backslash must escape a character",
    )
