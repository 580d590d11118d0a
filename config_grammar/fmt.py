"""``webserv fmt``: canonical formatting of one configuration file.

Four-space indentation, one directive per line, one space between arguments, arguments
re-emitted exactly as written (quoting and ``${VAR}`` kept), at most one blank line where
the source had blank lines, comments kept where they were (own-line or trailing). Includes
are not expanded. ``format_text(format_text(x)) == format_text(x)``.
"""

from __future__ import annotations

from config_grammar.diagnostics import Diagnostic
from config_grammar.lexer import decode_source, renderable
from config_grammar.parser import binary_file_diagnostic, parse_text
from config_grammar.tree import Comment, Directive

INDENT = "    "


class FormatError(Exception):
    """The text has syntax errors; ``diagnostics`` and ``sources`` say where."""

    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, str]) -> None:
        super().__init__(f"{len(diagnostics)} syntax error(s)")
        self.diagnostics = diagnostics
        self.sources = sources


def format_text(text: str, filename: str = "<string>") -> str:
    """Return the canonical form of ``text``; raise `FormatError` on syntax errors."""
    result = parse_text(text, filename, resolve_includes=False, expand_env=False)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors:
        raise FormatError(errors, result.sources)
    _restore_comment_bytes(result.nodes, text.split("\n"))
    lines: list[str] = []
    _emit(result.nodes, 0, lines)
    return "\n".join(lines) + "\n" if lines else ""


def read_source(data: bytes, filename: str) -> str:
    """A file's bytes as text the way ``validate-config`` reads them: bytes that are not
    UTF-8 stay as lone surrogates (so `encode_source` writes them back unchanged, and the
    lexer reports them in strings); raise `FormatError` for a binary file."""
    text = decode_source(data)
    binary = binary_file_diagnostic(text, filename)
    if binary is not None:
        raise FormatError([binary], {filename: renderable(text)})
    return text


def encode_source(text: str) -> bytes:
    """The bytes of formatted ``text``: a byte `read_source` kept as a surrogate is written
    back as the same byte, never re-encoded."""
    return text.encode("utf-8", "surrogateescape")


def _restore_comment_bytes(nodes: list[Directive | Comment], source: list[str]) -> None:
    """Comments as written: the lexer shows a byte that is not UTF-8 as U+FFFD, and fmt must
    write the byte back, not the replacement (columns count one character per such byte)."""
    for node in nodes:
        comments = [node] if isinstance(node, Comment) else node.comments
        for comment in comments:
            if "\ufffd" in comment.text:
                span = comment.span
                comment.text = source[span.line - 1][span.col - 1 : span.end_col - 1].rstrip()
        if isinstance(node, Directive) and node.block:
            _restore_comment_bytes(node.block, source)


def _last_line(node: Directive | Comment) -> int:
    if isinstance(node, Directive) and node.comments:
        return max(node.span.end_line, node.comments[-1].span.end_line)
    return node.span.end_line


def _emit(nodes: list[Directive | Comment], depth: int, lines: list[str]) -> None:
    indent = INDENT * depth
    prev: Directive | Comment | None = None
    for node in nodes:
        if prev is not None and node.span.line - _last_line(prev) > 1:
            lines.append("")
        prev = node
        if isinstance(node, Comment):
            lines.append(indent + node.text)
            continue
        head = " ".join([node.name_raw or node.name, *(a.raw for a in node.args)])
        if node.block is None:
            _with_comments(indent, head + ";", node.comments, lines)
            continue
        end = node.span
        after_close = [
            c for c in node.comments if c.span.line == end.end_line and c.span.col >= end.end_col
        ]
        after_open = [c for c in node.comments if c not in after_close]
        if not node.block and not after_open:
            _with_comments(indent, head + " {}", after_close, lines)
            continue
        _with_comments(indent, head + " {", after_open, lines, inner=indent + INDENT)
        _emit(node.block, depth + 1, lines)
        _with_comments(indent, "}", after_close, lines)


def _with_comments(
    indent: str, code: str, comments: list[Comment], lines: list[str], inner: str | None = None
) -> None:
    """``code`` with the first comment trailing it; further comments on their own lines."""
    first = f" {comments[0].text}" if comments else ""
    lines.append(f"{indent}{code}{first}")
    for comment in comments[1:]:
        lines.append(f"{inner if inner is not None else indent}{comment.text}")
