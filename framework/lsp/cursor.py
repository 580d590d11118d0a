"""Where the cursor is in a config buffer: the enclosing blocks, the statement being typed and
the token under the cursor.

Built on the config lexer (``config_grammar.lexer.tokenize``) rather than the parser, because
the buffer is usually half typed: a statement without its ``;`` or a block without its ``}`` is
exactly what completion sees. Positions are 0-based lines and code-point columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lark import Token

from config_grammar.lexer import ARG_TYPES, LexResult, tokenize


@dataclass(frozen=True, slots=True)
class Block:
    """One enclosing block: the directive that opened it and that directive's arguments."""

    name: str
    args: tuple[str, ...] = ()


@dataclass(slots=True)
class Cursor:
    """The cursor's surroundings.

    ``blocks`` are the enclosing blocks, outermost first. ``words`` are the complete words of
    the statement before the cursor (its name first); ``word`` is the token the cursor is in or
    just after (None between tokens), ``prefix`` the part of it before the cursor."""

    blocks: list[Block] = field(default_factory=list)
    words: list[Token] = field(default_factory=list)
    word: Token | None = None
    prefix: str = ""

    @property
    def in_name(self) -> bool:
        """True when the cursor is on the statement's directive name (or where one starts)."""
        return not self.words

    @property
    def arg_index(self) -> int:
        """The index of the argument at the cursor (0: the first after the name)."""
        return len(self.words) - 1

    @property
    def directive(self) -> str | None:
        """The name of the statement the cursor is in, once it is typed."""
        return self.words[0].value if self.words else None


def offset_of(text: str, line: int, col: int) -> int:
    """The string offset of a 0-based (line, code-point column), clamped to the text."""
    offset = 0
    for _ in range(line):
        newline = text.find("\n", offset)
        if newline < 0:
            return len(text)
        offset = newline + 1
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    return min(offset + col, end)


def cursor_at(text: str, line: int, col: int, lexed: LexResult | None = None) -> Cursor | None:
    """The cursor's surroundings at (line, col); None inside a comment. ``lexed``: the
    text's tokens when the caller has them (a cache per document version)."""
    offset = offset_of(text, line, col)
    lexed = lexed or tokenize(text, "<buffer>")
    if any((c.start_pos or 0) < offset <= (c.end_pos or 0) for c in lexed.comments):
        return None
    cursor = Cursor()
    statement: list[Token] = []
    for tok in lexed.tokens:
        assert tok.start_pos is not None and tok.end_pos is not None
        if tok.start_pos >= offset:
            break
        if tok.end_pos >= offset and tok.type in ARG_TYPES:  # the word being typed
            cursor.word = tok
            cursor.prefix = tok.value[: offset - tok.start_pos]
            break
        if tok.type == "LBRACE":
            if statement:
                args = tuple(unquote(t) for t in statement[1:])
                cursor.blocks.append(Block(unquote(statement[0]), args))
            else:
                cursor.blocks.append(Block(""))
            statement = []
        elif tok.type == "RBRACE":
            if cursor.blocks:
                cursor.blocks.pop()
            statement = []
        elif tok.type == "SEMI":
            statement = []
        else:
            statement.append(tok)
    cursor.words = statement
    return cursor


def token_at(
    text: str, line: int, col: int, lexed: LexResult | None = None
) -> tuple[Token, list[Token]] | None:
    """The word under (line, col) with the words of its statement before it (the name
    first), or None when the cursor is not on a word."""
    offset = offset_of(text, line, col)
    statement: list[Token] = []
    for tok in (lexed or tokenize(text, "<buffer>")).tokens:
        assert tok.start_pos is not None and tok.end_pos is not None
        if tok.start_pos > offset:
            return None
        if tok.type in ARG_TYPES:
            if tok.start_pos <= offset <= tok.end_pos:
                return tok, statement
            statement.append(tok)
        else:
            statement = []
    return None


def unquote(tok: Token) -> str:
    """The token's text without its quotes (escapes are left as written)."""
    value = str(tok.value)
    if tok.type != "WORD" and len(value) >= 2:
        return value[1:-1]
    return value
