"""Build `Directive`/`Comment` nodes from the Lark parse tree of one file.

Adds spans, places comments (own-line comments in the block list, same-line ones on the
directive they trail), and turns raw tokens into `Arg` values (escapes, ``${VAR}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from sys import intern

from lark import Token, Tree

from config_grammar.diagnostics import Diagnostic
from config_grammar.expand import expand
from config_grammar.lexer import token_span
from config_grammar.tree import Arg, Comment, Directive, Span

Node = Directive | Comment


class TreeBuilder:
    """Turns the Lark parse tree into `Directive`/`Comment` nodes with spans."""

    def __init__(
        self,
        filename: str,
        env: Mapping[str, str] | None,
        comments: list[Token],
        chain: tuple[Span, ...],
    ) -> None:
        self.filename = filename
        self.env = env
        self.comments = comments
        self.ci = 0  # next unplaced comment
        self.chain = chain
        self.diagnostics: list[Diagnostic] = []

    def _comment(self, tok: Token) -> Comment:
        return Comment(str(tok).rstrip(), token_span(self.filename, tok))

    def build_list(self, children: list[Tree], limit: int) -> list[Node]:
        """Nodes of one block; ``limit`` is the offset of its closing brace (or EOF)."""
        nodes: list[Node] = []
        prev: Directive | None = None
        comments = self.comments
        for child in children:
            start = child.children[0].start_pos
            while self.ci < len(comments) and comments[self.ci].start_pos < start:
                self._place_comment(nodes, prev)
            prev = self._directive(child.children)
            nodes.append(prev)
        while self.ci < len(comments) and comments[self.ci].start_pos < limit:
            self._place_comment(nodes, prev)
        return nodes

    def _place_comment(self, nodes: list[Node], prev: Directive | None) -> None:
        tok = self.comments[self.ci]
        self.ci += 1
        if prev is not None and tok.line == prev.span.end_line:
            prev.comments.append(self._comment(tok))
        else:
            nodes.append(self._comment(tok))

    def _directive(self, items: list) -> Directive:
        name_tok: Token = items[0]
        errors_before = len(self.diagnostics)
        args: list[Arg] = []
        i = 1
        while items[i].type in ("WORD", "DQSTRING", "SQSTRING"):
            args.append(self._arg(items[i]))
            i += 1
        term: Token = items[i]
        end: Token = items[-1]
        span = Span(self.filename, name_tok.line, name_tok.column, end.end_line, end.end_column)
        name = self._arg(name_tok) if name_tok.type != "WORD" else None
        node = Directive(
            intern(str(name_tok)) if name is None else name.value,  # one copy of each name
            args,
            span,
            token_span(self.filename, name_tok),
            include_chain=self.chain,
            name_raw=str(name_tok) if name is not None else None,
        )
        node.unexpanded = len(self.diagnostics) > errors_before
        comments = self.comments
        while self.ci < len(comments) and comments[self.ci].start_pos < term.start_pos:
            node.comments.append(self._comment(comments[self.ci]))
            self.ci += 1
        if term.type == "LBRACE":
            children = items[i + 1 : -1]
            first = children[0].children[0].start_pos if children else end.start_pos
            while (
                self.ci < len(comments)
                and comments[self.ci].start_pos < first
                and comments[self.ci].line == term.line
            ):
                node.comments.append(self._comment(comments[self.ci]))
                self.ci += 1
            node.block = self.build_list(children, end.start_pos)
        return node

    def _arg(self, tok: Token) -> Arg:
        raw = str(tok)
        quoted = tok.type != "WORD"
        body = raw[1:-1] if quoted else raw
        env = self.env if tok.type != "SQSTRING" else None
        value, problems = expand(body, env, offset=1 if quoted else 0)
        for p in problems:
            self.diagnostics.append(
                Diagnostic(
                    "error",
                    p.rule,
                    p.message,
                    self._sub_span(tok, p.offset, p.length),
                    hint=p.hint,
                    include_chain=self.chain,
                )
            )
        return Arg(value, token_span(self.filename, tok), raw, quoted)

    def _sub_span(self, tok: Token, offset: int, length: int) -> Span:
        raw = str(tok)
        before = raw[:offset]
        nl = before.count("\n")
        line = tok.line + nl
        col = (offset - before.rfind("\n")) if nl else tok.column + offset
        return Span(self.filename, line, col, line, col + length)
