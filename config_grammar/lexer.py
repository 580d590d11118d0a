"""Tokenizer for the configuration language, built from the terminals of ``grammar.lark``.

It never stops at the first problem: an unterminated string or a stray character becomes a
``BAD`` token plus a diagnostic (a word or string holding a NUL byte or a byte that is not
UTF-8 becomes a ``REFUSED`` token), and lexing resumes, so one run reports every error.

Files are read as bytes, the way nginx reads them (`decode_source`): a byte that is not UTF-8
is kept as a lone surrogate (``surrogateescape``) so that the lexer can tell where it is. In a
comment it is ignored, as nginx ignores it; anywhere else it is an ``invalid-utf8`` error at
its line and column, because webserv's values are text and guessing an encoding would
silently change a path or a header. `renderable` turns such bytes into U+FFFD for display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lark import Lark, Token
from lark.lexer import Lexer

from config_grammar.diagnostics import Diagnostic
from config_grammar.expand import reference_end
from config_grammar.tree import Span

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")
STRING_TYPES = frozenset({"DQSTRING", "SQSTRING"})
ARG_TYPES = frozenset({"WORD", "DQSTRING", "SQSTRING"})

# The lone surrogates ``surrogateescape`` decodes undecodable bytes 0x80-0xFF to.
_UNDECODABLE = re.compile("[\udc80-\udcff]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_source(data: bytes) -> str:
    """File bytes as text: UTF-8, each byte that is not UTF-8 kept as a lone surrogate (one
    character per byte, so columns stay byte-accurate around it)."""
    return data.decode("utf-8", "surrogateescape")


def renderable(text: str) -> str:
    """``text`` with every lone surrogate (an undecodable byte) replaced by U+FFFD, one for
    one, so that it can be printed and its columns do not move."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


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
    """Split ``text`` into tokens; lexical errors become diagnostics and ``BAD``/``REFUSED``
    tokens (which ``repair`` drops with their statement)."""
    result = LexResult()
    pos, line, line_start, n = 0, 1, 0, len(text)
    while text.startswith("\ufeff", pos):  # byte order marks are invisible: skip them
        pos = line_start = pos + 1
    match = _TOKEN_RE.match
    while pos < n:
        m = match(text, pos)
        if m is not None and not _runaway_string(m, text):
            kind, value = m.lastgroup, m[0]
        else:
            kind, value = "BAD", _bad_token_text(text, pos)
        col = pos - line_start + 1
        if kind != "WS":
            tok = make_token(kind, value, pos, line, col)  # type: ignore[arg-type]
            if kind == "COMMENT":  # nginx ignores any byte in a comment
                result.comments.append(make_token(kind, renderable(value), pos, line, col))
            else:
                if kind in ARG_TYPES and "\x00" in value:
                    # a NUL can only truncate a path or a name later: refuse it here
                    result.diagnostics.append(_nul_diagnostic(filename, tok))
                    tok = make_token("REFUSED", value, pos, line, col)
                elif kind in ARG_TYPES and (bad := _UNDECODABLE.search(value)) is not None:
                    result.diagnostics.append(_undecodable_diagnostic(filename, tok, bad))
                    tok = make_token("REFUSED", renderable(value), pos, line, col)
                elif kind == "BAD":
                    result.diagnostics.append(_bad_token_diagnostic(filename, tok))
                elif kind == "WORD" and (split := _split_reference(text, pos, value)):
                    value, where = split
                    tok = make_token("REFUSED", value, pos, line, col)
                    result.diagnostics.append(_split_reference_diagnostic(filename, tok, where))
                result.tokens.append(tok)
        newlines = value.count("\n")
        if newlines:
            line += newlines
            line_start = pos + value.rfind("\n") + 1
        pos += len(value)
    return result


def _runaway_string(m: re.Match[str], text: str) -> bool:
    """A string that runs over lines and ends glued to more text (``"a.com;`` ... ``"x";``):
    its opening quote is unterminated and it swallowed the lines up to the next quote.
    nginx would read it as one string; reporting the quote that lacks its pair is clearer
    than the errors its consequences give (a multi-line string that ends cleanly is valid)."""
    if m.lastgroup not in STRING_TYPES or "\n" not in m[0]:
        return False
    end = m.end()
    return end < len(text) and not text[end].isspace() and text[end] not in ";{}"


#: How deep ``${...}`` references may nest in a bare word (the WORD terminal's limit).
MAX_BARE_REFERENCE_DEPTH = 3
_REFERENCE_TOKEN = re.compile(r"\$\{|\}|[;\n]")
_DEFAULTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:-")
_ENDS_DIRECTIVE = re.compile(r"[ \t]*;")


def _split_reference(text: str, pos: int, word: str) -> tuple[str, tuple[int, int, bool]] | None:
    """A bare word cut short inside a ``${...}`` reference by a space (``${A:-a b}``, or
    ``${A };``) or by nesting deeper than the WORD terminal allows: the whole word up to the
    reference's closing ``}`` on the same line (and any word text glued after it), with the
    reference's offset and length in it and whether it was cut by nesting. ``None`` when the
    word is not such a word (an unclosed ``${WWW;`` is reported by the expansion)."""
    start = word.find("${")
    while start >= 0:
        end, closed = reference_end(word, start + 2)
        if not closed:
            break
        start = word.find("${", end)
    if start < 0:
        return None
    depth = deepest = 0
    for m in _REFERENCE_TOKEN.finditer(text, pos + start):
        if m[0] in ";\n":
            return None
        depth += 1 if m[0] == "${" else -1
        deepest = max(deepest, depth)
        if depth == 0:
            stop = m.end()
            break
    else:
        return None
    if stop <= pos + len(word):
        return None
    if not _DEFAULTED.match(text, pos + start + 2) and not _ENDS_DIRECTIVE.match(text, stop):
        return None  # `${A }` is taken as split only where the directive ends right after it
    if (more := _TOKEN_RE.match(text, stop)) is not None and more.lastgroup == "WORD":
        stop = more.end()  # text glued after the reference belongs to the same argument
    return text[pos:stop], (start, m.end() - pos - start, deepest > MAX_BARE_REFERENCE_DEPTH)


def _split_reference_diagnostic(
    filename: str, tok: Token, found: tuple[int, int, bool]
) -> Diagnostic:
    offset, length, too_deep = found
    reference = tok.value[offset : offset + length]
    if too_deep:
        message = (
            f'variable reference "{reference}" nests deeper than '
            f"{MAX_BARE_REFERENCE_DEPTH} levels in an unquoted argument"
        )
        hint = (
            f"quote the argument to nest deeper, or nest at most {MAX_BARE_REFERENCE_DEPTH} "
            "levels: ${A:-${B:-${C}}}"
        )
    else:
        message = f'space inside variable reference "{reference}" in an unquoted argument'
        hint = (
            f'quote the argument ("{reference}"): an unquoted argument ends at a space'
            if _DEFAULTED.match(reference, 2)
            else 'remove the space: write "${NAME}" or "${NAME:-default}"'
        )
    return Diagnostic(
        "error",
        "invalid-variable",
        message,
        _inner_span(filename, tok, offset, length),
        hint=hint,
    )


def _bad_token_text(text: str, pos: int) -> str:
    if text[pos] in "\"'":
        end = text.find("\n", pos)
        return text[pos : len(text) if end < 0 else end]
    return text[pos]


def _inner_span(filename: str, tok: Token, offset: int, length: int) -> Span:
    """The span of ``length`` characters at ``offset`` inside ``tok`` (on one line)."""
    before = tok.value[:offset]
    newlines = before.count("\n")
    line = tok.line + newlines
    col = len(before) - before.rfind("\n") if newlines else tok.column + len(before)
    return Span(filename, line, col, line, col + length)


def _nul_diagnostic(filename: str, tok: Token) -> Diagnostic:
    return Diagnostic(
        "error",
        "syntax-error",
        'unexpected character "U+0000"',
        _inner_span(filename, tok, tok.value.index("\x00"), 1),
        hint="remove the NUL byte; it is not allowed anywhere in a configuration",
    )


def _undecodable_diagnostic(filename: str, tok: Token, bad: re.Match[str]) -> Diagnostic:
    raw = bad[0].encode("utf-8", "surrogateescape")
    shown = " ".join(f"0x{b:02X}" for b in raw[:4]) + (" ..." if len(raw) > 4 else "")
    return Diagnostic(
        "error",
        "invalid-utf8",
        f"byte {shown} is not valid UTF-8"
        if len(raw) == 1
        else f"bytes {shown} are not valid UTF-8",
        _inner_span(filename, tok, bad.start(), len(bad[0].split("\n")[0])),
        hint="save the file as UTF-8 (this looks like Latin-1 or another legacy encoding); "
        "only comments may hold other bytes",
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
