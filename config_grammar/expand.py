"""Argument values: nginx escape processing and ``${VAR}`` / ``${VAR:-default}`` expansion.

Escapes follow nginx: ``\\"``, ``\\'``, ``\\\\``, ``\\n``, ``\\r`` and ``\\t`` are replaced; any
other backslash pair is kept as written, so regexes such as ``\\.php$`` survive unchanged.

Environment references are expanded in bare words and double-quoted strings, never in
single-quoted strings (the way to write a literal ``${X}``). ``${VAR:-default}`` uses the
default when ``VAR`` is unset or empty (shell semantics); the default may itself hold
references (``${A:-${B}}``). A ``${`` preceded by a backslash is not expanded and keeps its
backslash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}

# One piece of an argument: an escape pair, the start of a `${...}` reference (its end is
# found by `reference_end`, as references nest), a run of plain text, or a lone `$`.
_PIECE = re.compile(r"\\[\s\S]|\$\{|[^\\$]+|\$|\\")
_BRACE = re.compile(r"\$\{|\}")
_REFERENCE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?")


@dataclass(slots=True)
class ExpansionProblem:
    """A bad ``${...}`` reference: ``offset``/``length`` locate it inside the raw token."""

    rule: str
    message: str
    offset: int
    length: int
    hint: str | None = None


def expand(
    body: str, env: Mapping[str, str] | None, *, offset: int = 0
) -> tuple[str, list[ExpansionProblem]]:
    """Unescape ``body`` and, when ``env`` is given, expand its ``${...}`` references.

    ``offset`` is the position of ``body`` inside the raw token (1 for a quoted string), so
    that problems point at the right column.
    """
    if "\\" not in body and (env is None or "${" not in body):
        return body, []
    out: list[str] = []
    problems: list[ExpansionProblem] = []
    pos = 0
    while (m := _PIECE.match(body, pos)) is not None:
        piece = m[0]
        pos = m.end()
        if piece == "${":
            pos, closed = reference_end(body, pos)
            piece = body[m.start() : pos]
            if env is not None:
                value, more = _resolve(piece, closed, env, offset + m.start())
                problems += more
                out.append(value)
                continue
        if piece[0] == "\\":
            out.append(_ESCAPES.get(piece[1:], piece))
        else:
            out.append(piece)
    return "".join(out), problems


def reference_end(body: str, pos: int) -> tuple[int, bool]:
    """Where the reference whose ``${`` ends at ``pos`` ends (after its matching ``}``, or at
    the end of ``body``), and whether it is closed."""
    depth = 1
    for m in _BRACE.finditer(body, pos):
        depth += 1 if m[0] == "${" else -1
        if depth == 0:
            return m.end(), True
    return len(body), False


def _resolve(
    piece: str, closed: bool, env: Mapping[str, str], at: int
) -> tuple[str, list[ExpansionProblem]]:
    if not closed:
        return piece, [
            ExpansionProblem(
                "unterminated-variable",
                f'unterminated variable reference "{piece}"',
                at,
                len(piece),
                'close it with "}", or use single quotes for a literal "${"',
            )
        ]
    ref = _REFERENCE.fullmatch(piece[2:-1])
    if ref is None:
        return piece, [
            ExpansionProblem(
                "invalid-variable",
                f'invalid variable reference "{piece}"',
                at,
                len(piece),
                'write "${NAME}" or "${NAME:-default}" (NAME: letters, digits, "_")',
            )
        ]
    name, default = ref[1], ref[2]
    value = env.get(name)
    if value is not None and (value or default is None):
        return value, []
    if default is not None:  # it may hold references in turn
        return expand(default, env, offset=at + 2 + ref.start(2))
    return piece, [
        ExpansionProblem(
            "undefined-variable",
            f'environment variable "{name}" is not set',
            at,
            len(piece),
            f'set {name}, or give a default: "${{{name}:-value}}"',
        )
    ]
