"""Group a repaired token list into statements, the structure ``grammar.lark`` describes:
``directive: _arg+ (SEMI | LBRACE _statement* RBRACE)``.

``repair`` has already made the token list fit that grammar, so one pass with a stack of
open blocks replaces Lark's LALR parser, which spent about a quarter of a large config's
load time feeding it tokens one by one (issue 12). The output has the shape `TreeBuilder`
reads from a Lark tree: a statement's ``children`` are its name and argument tokens, its
terminator, and for a block its statements and the closing brace.
"""

from __future__ import annotations

from lark import Token

from config_grammar.lexer import ARG_TYPES


class Statement:
    """One directive: ``children`` is ``[name, arg..., ';']`` or
    ``[name, arg..., '{', Statement..., '}']``."""

    __slots__ = ("children",)

    def __init__(self, children: list[Token | Statement]) -> None:
        self.children = children

    @property
    def start_pos(self) -> int:
        """The offset of the directive's name in its file."""
        name = self.children[0]
        assert isinstance(name, Token) and name.start_pos is not None
        return name.start_pos


class StatementError(ValueError):
    """The token list does not fit the grammar (``repair`` should make this impossible)."""

    def __init__(self, message: str, token: Token | None) -> None:
        where = f" at line {token.line}, column {token.column}" if token is not None else ""
        super().__init__(message + where)
        self.token = token


def group_statements(tokens: list[Token]) -> list[Statement]:
    """The top-level statements of ``tokens``; raises `StatementError` when they do not
    fit the grammar."""
    top: list[Token | Statement] = []
    target = top  # where the next statement goes: the top level or an open block
    enclosing: list[list[Token | Statement]] = []
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if tok.type == "RBRACE" and enclosing:
            target.append(tok)
            target = enclosing.pop()
            i += 1
            continue
        if tok.type not in ARG_TYPES:
            raise StatementError(f'unexpected "{tok}"', tok)
        start = i
        while i < n and tokens[i].type in ARG_TYPES:
            i += 1
        if i == n:
            raise StatementError('missing ";" or "{" at the end of the input', tok)
        term = tokens[i]
        if term.type not in ("SEMI", "LBRACE"):
            raise StatementError(f'unexpected "{term}"', term)
        i += 1
        items: list[Token | Statement] = list(tokens[start:i])
        target.append(Statement(items))
        if term.type == "LBRACE":
            enclosing.append(target)
            target = items
    if enclosing:
        raise StatementError('missing "}" at the end of the input', None)
    return top  # type: ignore[return-value]  # only statements at the top level
