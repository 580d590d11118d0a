"""What a row of the directive table is (``DirectiveSpec``), what value parsers get
(``ParseContext``), and the small parsers most rows share. Kept apart from the table itself
so that each feature's module (``directives_tls``, ``directives_headers``...) can define its
own rows and fields without importing the table.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from config_grammar.tree import Arg, Directive
from framework.config.values import ValueProblem, parse_choice, parse_flag, parse_size, parse_time

Context = Literal["G", "H", "S", "L"]
Scope = Literal["global", "server", "location"]
Combine = Literal["scalar", "append", "extend", "update"]

# which context letters each kind of block accepts
BLOCK_CONTEXTS: dict[str, frozenset[str]] = {
    "main": frozenset({"G", "H"}),
    "http": frozenset({"G", "H"}),  # the optional wrapper: same as the top level
    "server": frozenset({"S"}),
    "location": frozenset({"L"}),
}
CONTEXT_NAMES = {"G": "top level", "H": "top level", "S": "server", "L": "location"}


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What value parsers need besides the directive: relative paths resolve against
    ``base_dir`` (the main config file's directory). A parser that accepts a value but has
    something to say about it appends a ``ValueProblem`` to ``warnings`` (reported as a
    warning); ``log_formats`` are the names that nginx ``log_format`` directives define."""

    base_dir: Path
    warnings: list[ValueProblem] = field(default_factory=list)
    log_formats: frozenset[str] = frozenset()

    def path(self, value: str) -> Path:
        return Path(os.path.normpath(self.base_dir / value))

    def path_arg(self, arg: Arg, directive: str) -> Path:
        """``arg`` as an absolute path; an empty one is an error (it would silently mean
        the config directory)."""
        if not arg.value:
            raise ValueProblem(
                "invalid-value",
                f'empty path in "{directive}" directive',
                arg.span,
                'write "." to mean the config file\'s directory',
            )
        return self.path(arg.value)


ValueParser = Callable[[Directive, ParseContext], Any]


@dataclass(frozen=True, slots=True)
class DirectiveSpec:
    """One row of the directive table."""

    name: str
    contexts: frozenset[str]
    usage: str  # shown in hints and the schema
    min_args: int = 1
    max_args: int | None = 1  # None: unbounded
    block: Literal["none", "required", "optional"] = "none"
    parse: ValueParser | None = None  # None: structural, handled by the builder
    scope: Scope | None = None
    field: str | None = None
    combine: Combine = "scalar"
    default: str = ""
    summary: str = ""

    def context_text(self) -> str:
        names = dict.fromkeys(CONTEXT_NAMES[c] for c in "GHSL" if c in self.contexts)
        return ", ".join(names)


# -- value parsers shared by many rows --------------------------------------------------------


def first_arg(d: Directive) -> Arg:
    return d.args[0]


def as_size(d: Directive, _: ParseContext) -> int:
    return parse_size(first_arg(d), d.name)


def as_time(d: Directive, _: ParseContext) -> float:
    return parse_time(first_arg(d), d.name)


def as_flag(d: Directive, _: ParseContext) -> bool:
    return parse_flag(first_arg(d), d.name)


def as_path(d: Directive, ctx: ParseContext) -> Path:
    return ctx.path_arg(first_arg(d), d.name)


def as_string(d: Directive, _: ParseContext) -> str:
    return first_arg(d).value


def one_of(*choices: str) -> ValueParser:
    def parse(d: Directive, _: ParseContext) -> str:
        return parse_choice(first_arg(d), d.name, choices)

    return parse


G, H, S, L = "G", "H", "S", "L"


def spec(name: str, contexts: str, usage: str, **kw: Any) -> DirectiveSpec:
    """A table row; ``contexts`` is a string of context letters, e.g. ``"HSL"``."""
    return DirectiveSpec(name=name, contexts=frozenset(contexts), usage=usage, **kw)
