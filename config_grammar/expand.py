"""Argument values: nginx escape processing and ``${VAR}`` / ``${VAR:-default}`` expansion.

Escapes follow nginx: ``\\"``, ``\\'``, ``\\\\``, ``\\n``, ``\\r`` and ``\\t`` are replaced; any
other backslash pair is kept as written, so regexes such as ``\\.php$`` survive unchanged.

Environment references are expanded in bare words and double-quoted strings, never in
single-quoted strings (the way to write a literal ``${X}``). ``${VAR:-default}`` uses the
default when ``VAR`` is unset or empty (shell semantics). A ``${`` preceded by a backslash is
not expanded and keeps its backslash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}

# One piece of an argument: an escape pair, a `${...}` reference (maybe unterminated), a run
# of plain text, or a lone `$`.
_PIECE = re.compile(r"\\[\s\S]|\$\{[^}]*\}?|[^\\$]+|\$|\\")
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
    for m in _PIECE.finditer(body):
        piece = m[0]
        if piece[0] == "\\":
            out.append(_ESCAPES.get(piece[1:], piece))
        elif env is not None and piece.startswith("${"):
            value, problem = _resolve(piece, env, offset + m.start())
            if problem is not None:
                problems.append(problem)
            out.append(value)
        else:
            out.append(piece)
    return "".join(out), problems


def _resolve(piece: str, env: Mapping[str, str], at: int) -> tuple[str, ExpansionProblem | None]:
    if not piece.endswith("}"):
        return piece, ExpansionProblem(
            "unterminated-variable",
            f'unterminated variable reference "{piece}"',
            at,
            len(piece),
            'close it with "}", or use single quotes for a literal "${"',
        )
    ref = _REFERENCE.fullmatch(piece[2:-1])
    if ref is None:
        return piece, ExpansionProblem(
            "invalid-variable",
            f'invalid variable reference "{piece}"',
            at,
            len(piece),
            'write "${NAME}" or "${NAME:-default}" (NAME: letters, digits, "_")',
        )
    name, default = ref[1], ref[2]
    value = env.get(name)
    if value is not None and (value or default is None):
        return value, None
    if default is not None:
        return default, None
    return piece, ExpansionProblem(
        "undefined-variable",
        f'environment variable "{name}" is not set',
        at,
        len(piece),
        f'set {name}, or give a default: "${{{name}:-value}}"',
    )
