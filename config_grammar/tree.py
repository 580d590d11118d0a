"""The syntax tree produced by the parser: directives and comments with source spans."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file. Lines and columns are 1-based; ``end_col`` is exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(slots=True)
class Arg:
    """One directive argument after unquoting, escape processing and ``${VAR}`` expansion."""

    value: str
    span: Span
    raw: str  # the source text as written (quotes included), used by the formatter
    quoted: bool = False


@dataclass(slots=True)
class Comment:
    """A ``#`` comment, kept so that ``webserv fmt`` can preserve it."""

    text: str  # including the leading '#'
    span: Span


@dataclass(slots=True)
class Directive:
    """``name arg* ;`` (``block is None``) or ``name arg* { ... }``.

    ``include`` directives are resolved by the parser: the included directives appear in
    place, each carrying ``include_chain`` (the spans of the include directives that led to
    it, outermost first). The formatter works on the unresolved tree of a single file.
    """

    name: str
    args: list[Arg]
    span: Span  # the whole directive, from its name to ';' or the closing '}'
    name_span: Span
    block: list[Directive | Comment] | None = None
    include_chain: tuple[Span, ...] = ()
    comments: list[Comment] = field(default_factory=list)  # trailing comments on the same line
    name_raw: str | None = None  # the name as written when it was quoted ('""'), else None
    # an argument's ${VAR} could not be expanded (already reported): the directive's meaning
    # is unknown, so the config builder skips it rather than report its consequences
    unexpanded: bool = False

    @property
    def children(self) -> list[Directive]:
        """The directives of the block (comments left out); empty for a simple directive."""
        return [n for n in self.block or () if isinstance(n, Directive)]
