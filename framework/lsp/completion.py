"""Completion: directive names valid in the block at the cursor, and the values the directive
table knows for the argument at the cursor (``on|off``, ``html|json``, handler names...).

Everything comes from the directive table (``framework.config.directives.DIRECTIVES``) and the
handler registry; nothing here lists directive names of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from framework.config.directives import BLOCK_CONTEXTS, DIRECTIVES, DirectiveSpec
from framework.config.spec import as_flag
from framework.lsp.cursor import Block, Cursor
from framework.registry import HandlerRegistry

_LITERAL = re.compile(r"[A-Za-z0-9][\w.:=\-]*")


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One completion item: a directive (``kind="directive"``), a value or a setting."""

    label: str
    kind: str
    detail: str = ""
    documentation: str = ""


def block_kind(blocks: list[Block]) -> str | None:
    """The kind of the innermost block (main, http, server, location, handler); None for a
    block whose contents the table does not describe (``types``, ``map``, ``events``...)."""
    if not blocks:
        return "main"
    name = blocks[-1].name
    return name if name in ("http", "server", "location", "handler") else None


def directive_names(kind: str) -> list[DirectiveSpec]:
    """The table rows allowed in a block of ``kind`` (main, http, server, location)."""
    allowed = BLOCK_CONTEXTS[kind]
    rows = [row for row in DIRECTIVES.values() if row.contexts & allowed]
    if kind == "http":  # the wrapper cannot be nested
        rows = [row for row in rows if row.name != "http"]
    return sorted(rows, key=lambda row: row.name)


def enum_values(row: DirectiveSpec, index: int) -> list[str]:
    """The literal values the table's usage line gives for argument ``index``
    (``autoindex_format html|json;`` -> html, json); empty for a placeholder like PATH."""
    if row.parse is as_flag:
        return ["on", "off"] if index == 0 else []
    form = re.split(r"[;{]", row.usage)[0].replace(" | ", "|")
    words = form.split()[1:]
    if words and words[-1] == "..." and index >= len(words) - 1:
        index = len(words) - 2  # "NAME ...": the last word repeats
    if not 0 <= index < len(words):
        return []
    word = words[index]
    if _is_flag(word):  # "[default_server] [ssl]": optional flags, in any order
        return [w[1:-1] for w in words[index:] if _is_flag(w) and _is_literal(w[1:-1])]
    return [v for v in word.strip("[]").split("|") if _is_literal(v)]


def _is_literal(value: str) -> bool:
    """``ssl``, ``TLSv1.2``, ``unix:``: a value to type as is; ``PATH``, ``=NEW``,
    ``shared:NAME:SIZE``, ``1..9``: a placeholder."""
    if not _LITERAL.fullmatch(value) or ".." in value:
        return False
    return not any(part.isupper() for part in re.split(r"[:=]", value))


def _is_flag(word: str) -> bool:
    return word.startswith("[") and word.endswith("]") and "|" not in word


def suggestions(cursor: Cursor, registry: HandlerRegistry) -> list[Suggestion]:
    """What may be typed at ``cursor``."""
    kind = block_kind(cursor.blocks)
    if kind is None:
        return []
    if kind == "handler":
        return _handler_settings(cursor, registry)
    if cursor.in_name:
        return [
            Suggestion(row.name, "directive", row.usage, row.summary)
            for row in directive_names(kind)
        ]
    name = cursor.directive
    row = DIRECTIVES.get(name or "")
    if row is None:
        return []
    if name == "handler" and cursor.arg_index == 0:
        return [
            Suggestion(handler, "value", "handler", _first_line(cls.__doc__))
            for handler, cls in registry.items()
        ]
    return [Suggestion(value, "value", row.usage) for value in enum_values(row, cursor.arg_index)]


def _handler_settings(cursor: Cursor, registry: HandlerRegistry) -> list[Suggestion]:
    """Inside ``handler NAME { }``: the names of the handler's settings."""
    if not cursor.in_name or not cursor.blocks[-1].args:
        return []
    cls = registry.get(cursor.blocks[-1].args[0])
    if cls is None:
        return []
    out = []
    for setting, info in cls.Settings.model_fields.items():
        annotation = getattr(info.annotation, "__name__", None) or str(info.annotation)
        out.append(Suggestion(setting, "setting", annotation, info.description or ""))
    return out


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n", 1)[0]
