"""Diagnostics as human text (rustc/Caddy-like); the machine formats are in ``render_machine``."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config_grammar.diagnostics import Diagnostic
    from config_grammar.tree import Span

_COLORS = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[1;33m",
    "info": "\x1b[1;36m",
    "gutter": "\x1b[1;34m",
    "bold": "\x1b[1m",
    "reset": "\x1b[0m",
}


_COUNTED = ("error", "warning", "info")

#: Columns shown on each side of a span in a long line, and the longest span underlined.
CONTEXT_COLUMNS = 40
MAX_CARETS = 80
_ELLIPSIS = "..."
# Control characters (a binary file's bytes, an escape sequence) and lone surrogates would
# garble or drive the terminal: each is shown as one U+FFFD, so the carets stay aligned.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# In a message or hint (which quote names and values from the file), a control character is
# shown as its escape (``\x1b``), so that it can be recognised and cannot drive the terminal.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape_control(text: str) -> str:
    """``text`` with control characters as ``\\xNN`` escapes and lone surrogates as U+FFFD."""
    if _CONTROL.search(text):
        text = _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)
    return _SURROGATES.sub("\ufffd", text)


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide and fullwidth characters (CJK, most emoji) take
    two, combining marks none, anything else one."""
    return sum(_char_width(c) for c in text)


def _char_width(char: str) -> int:
    if char.isascii():
        return 1
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


# A quoted name or value in a message is clipped in its middle only when it is far longer than
# any real path (so paths in messages stay whole); a 1 MB directive name must not print 1 MB.
_QUOTE_MAX = 1024
_LONG_QUOTE = re.compile(f'"[^"]{{{_QUOTE_MAX},}}"')


def _clip_quote(m: re.Match[str]) -> str:
    text = m[0]
    return f"{text[: CONTEXT_COLUMNS // 2 + 1]}{_ELLIPSIS}{text[-CONTEXT_COLUMNS // 4 - 1 :]}"


def excerpt(line: str, start: int, stop: int) -> tuple[str, int, int]:
    """The part of ``line`` to print for the span ``[start, stop)`` (0-based columns), and
    the span's columns in it: a long line becomes a window of ``CONTEXT_COLUMNS`` around the
    span, marked with "..." where it is cut, and a span longer than ``MAX_CARETS`` is
    clipped, so a 2 MB line prints as about 160 columns."""
    line = _UNPRINTABLE.sub("\ufffd", line)
    start = min(start, len(line))
    stop = min(stop, start + MAX_CARETS)
    if len(line) <= stop - start + 2 * CONTEXT_COLUMNS:
        return line, start, max(stop, start + 1)
    left = max(0, start - CONTEXT_COLUMNS)
    right = min(len(line), stop + CONTEXT_COLUMNS)
    head = _ELLIPSIS if left > 0 else ""
    tail = _ELLIPSIS if right < len(line) else ""
    shift = len(head) - left
    return head + line[left:right] + tail, start + shift, max(stop, start + 1) + shift


def summary(diags: Iterable[Diagnostic]) -> str:
    """``2 errors, 1 warning, 1 info`` (or ``no errors or warnings``)."""
    diags = list(diags)
    counts = {severity: sum(d.severity == severity for d in diags) for severity in _COUNTED}
    parts = [
        f"{n} {word}{'' if n == 1 or word == 'info' else 's'}" for word, n in counts.items() if n
    ]
    return ", ".join(parts) or "no errors or warnings"


def render_text(
    diags: Iterable[Diagnostic], sources: Mapping[str, str], *, color: bool = False
) -> str:
    """Render ``diags`` with source excerpts and carets, followed by a summary line."""
    diags = list(diags)
    paint = _painter(color)
    lines_cache: dict[str, list[str]] = {}
    blocks = []
    for diag in diags:
        blocks.append(_render_one(diag, sources, lines_cache, paint))
    blocks.append(paint("bold", summary(diags)))
    # a file name read from a directory may hold an undecodable byte (a lone surrogate)
    return _SURROGATES.sub("\ufffd", "\n\n".join(blocks) + "\n")


def _painter(color: bool):
    if not color:
        return lambda _style, text: text
    return lambda style, text: f"{_COLORS[style]}{text}{_COLORS['reset']}"


def _render_one(
    diag: Diagnostic, sources: Mapping[str, str], cache: dict[str, list[str]], paint
) -> str:
    label = paint(diag.severity, f"{diag.severity}[{diag.rule}]")
    span = diag.span
    message = _escape_control(_LONG_QUOTE.sub(_clip_quote, diag.message))
    head = f"{span}: {label}: {message}" if span else f"{label}: {message}"
    out = [paint("bold", head) if not span else head]
    source_line = _source_line(span, sources, cache) if span else None
    width = len(str(span.line)) if span else 1
    pad = " " * width
    if source_line is not None:
        start = span.col - 1
        stop = span.end_col - 1 if span.end_line == span.line else len(source_line)
        shown, start, stop = excerpt(source_line, start, max(stop, start + 1))
        indent = "".join(c if c == "\t" else " " * _char_width(c) for c in shown[:start])
        carets = "^" * max(1, display_width(shown[start:stop]))
        out += [
            paint("gutter", f"{pad} |"),
            paint("gutter", f"{span.line} |") + f" {shown}",
            paint("gutter", f"{pad} |") + f" {indent}{paint(diag.severity, carets)}",
        ]
    if diag.hint:
        out.append(f"{pad} = hint: {_escape_control(diag.hint)}")
    for note in diag.notes:
        out.append(f"{pad} = note: {_escape_control(note)}")
    for include in reversed(diag.include_chain):
        out.append(f"{pad} = note: included from {_escape_control(str(include))}")
    return "\n".join(out)


def _source_line(span: Span, sources: Mapping[str, str], cache: dict[str, list[str]]):
    if span.file not in cache:
        text = sources.get(span.file)
        cache[span.file] = text.split("\n") if text is not None else []
    lines = cache[span.file]
    return lines[span.line - 1].rstrip("\r") if 0 < span.line <= len(lines) else None
