"""Syntax error recovery at the token level.

``repair`` walks the token stream with the grammar's statement structure in mind
(``name arg* ;`` or ``name arg* { ... }``), reports every syntax error it meets, and returns a
token stream the LALR parser is guaranteed to accept: a missing ``;`` or ``}`` is inserted
(zero-width), a stray ``}``, ``;`` or ``{`` is dropped, and a statement holding a lexical
error is skipped up to its ``;`` or the end of its block. Messages use nginx's wording.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from lark import Token

from config_grammar.diagnostics import Diagnostic
from config_grammar.lexer import ARG_TYPES, STRING_TYPES, make_token, token_span
from config_grammar.names import BLOCK_DIRECTIVES, SIMPLE_DIRECTIVES
from config_grammar.tree import Span

#: Deepest block nesting accepted. Real configurations nest a handful of levels; the cap keeps
#: every recursive consumer of the tree (builder, formatter, config models) far from Python's
#: recursion limit, so hostile input gets a diagnostic instead of a RecursionError.
MAX_DEPTH = 100

# The inside of a regex repetition (`{2}`, `{2,3}`, `{2,}`, `{,3}`): an unquoted regex that
# holds one is split by "{" and "}" into a block, the commonest cascade in regex locations.
_QUANTIFIER = re.compile(r"\d+(?:,\d*)?|,\d+")


@dataclass(slots=True)
class _Block:
    name: Token | None  # None: a stray "{" whose matching "}" is dropped with it
    brace: Token
    indented: bool = False  # a statement of its body starts on its own line, indented deeper


def _synthetic(kind: str, value: str, after: Token) -> Token:
    pos, line, col = after.end_pos, after.end_line, after.end_column
    return Token(kind, value, pos, line, col, line, col, pos)


def _is_named(name: Token, names: Collection[str]) -> bool:
    """``name`` is an unquoted directive name in ``names``."""
    return name.type == "WORD" and name in names


def _point(filename: str, line: int, col: int) -> Span:
    return Span(filename, line, col, line, col + 1)


class _Repairer:
    def __init__(self, tokens: list[Token], filename: str, text: str, known: Collection[str]):
        self.tokens = tokens
        self.filename = filename
        self.text = text
        self.known = known
        self.out: list[Token] = []
        self.diags: list[Diagnostic] = []
        self.blocks: list[_Block] = []
        self.depth = 0  # named blocks open
        # The first "}" whose indentation differs from its block's name: a hint to where a
        # missing "}" belongs when the file ends with a block still open.
        self.misaligned: tuple[_Block, Token] | None = None
        # "}" count minus "{" count still to account for. When the braces do not balance, a
        # suspicious brace is repaired where the mistake is (a missing "{" after a block
        # name, "{" after a simple directive, a misaligned extra "}") instead of reporting
        # its consequences far below: a misplaced body, a stray "}", an unclosed block.
        self.excess = sum(t.type == "RBRACE" for t in tokens) - sum(
            t.type == "LBRACE" for t in tokens
        )

    def error(self, rule: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diags.append(Diagnostic("error", rule, message, span, hint=hint))

    def run(self) -> tuple[list[Token], list[Diagnostic]]:
        toks, out = self.tokens, self.out
        i, n = 0, len(toks)
        name: Token | None = None  # the directive being read, None between statements
        while i < n:
            tok = toks[i]
            kind = tok.type
            if name is None:
                i += 1
                if kind in ARG_TYPES:  # nginx accepts a quoted name too (map keys)
                    if i < 2 or toks[i - 2].end_line < tok.line:
                        self._close_dedented_blocks(tok)
                    name = tok
                    out.append(tok)
                elif kind == "RBRACE":
                    self._close_block(tok, first_on_line=i < 2 or toks[i - 2].end_line < tok.line)
                elif kind == "SEMI":
                    self.error(
                        "syntax-error",
                        'unexpected ";"',
                        token_span(self.filename, tok),
                        'remove the extra ";"',
                    )
                elif kind == "LBRACE":
                    self.error(
                        "unbalanced-brace",
                        'unexpected "{"',
                        token_span(self.filename, tok),
                        'a block needs a directive name before "{"',
                    )
                    self.blocks.append(_Block(None, tok))
                elif kind != "BAD" or tok[0] not in "\"'":  # reported by the lexer
                    i = self._skip_statement(i)
                continue
            last = out[-1]
            if kind in ARG_TYPES and tok.line > last.end_line and self._lacks_brace(name, i):
                self._missing_brace(name, last)
                name = None
            elif kind in ARG_TYPES:
                if last.type in STRING_TYPES and tok.start_pos == last.end_pos:
                    self.error(
                        "syntax-error",
                        f'unexpected "{tok[0]}" after a quoted string',
                        _point(self.filename, tok.line, tok.column),
                        "separate arguments with a space",
                    )
                    i = self._skip_statement(i, drop_from=self._statement_start())
                    name = None
                elif kind == "WORD" and tok.line > last.end_line and tok in self.known:
                    self._missing_semicolon(name, last)
                    name = None
                else:
                    out.append(tok)
                    i += 1
            elif kind == "SEMI" and self.excess > 0 and _is_named(name, BLOCK_DIRECTIVES):
                self._missing_brace(name, last, instead=tok)  # `location /;` then a body
                name = None
                i += 1
            elif kind == "SEMI":
                out.append(tok)
                name = None
                i += 1
            elif kind == "LBRACE" and self.excess < 0 and _is_named(name, SIMPLE_DIRECTIVES):
                self._brace_for_semicolon(name, tok)  # `root www {`: a typo for ";"
                name = None
                i += 1
            elif kind == "LBRACE" and (glued := self._glued_quantifier(i)):
                self._merge_regex(glued, i)
                i = glued
            elif kind == "LBRACE":
                if self.depth >= MAX_DEPTH:
                    self.error(
                        "nesting-too-deep",
                        f"blocks nested more than {MAX_DEPTH} levels deep",
                        token_span(self.filename, tok),
                        "flatten the configuration; this block is ignored",
                    )
                    i = self._skip_statement(i, drop_from=self._statement_start())
                else:
                    out.append(tok)
                    self.blocks.append(_Block(name, tok))
                    self.depth += 1
                    i += 1
                name = None
            elif kind == "RBRACE":
                self._missing_semicolon(name, last)
                name = None
            elif kind == "BAD" and tok[0] in "\"'":  # unterminated string: it ended the line?
                del out[self._statement_start() :]
                name = None
                i += 1
            else:  # another lexical error inside a directive: drop the whole directive
                i = self._skip_statement(i, drop_from=self._statement_start())
                name = None
        if name is not None:
            self._missing_semicolon(name, out[-1])
        self._close_at_eof()
        return out, self.diags

    def _statement_start(self) -> int:
        """Index in ``out`` of the name of the directive being read."""
        j = len(self.out) - 1
        while j > 0 and self.out[j - 1].type in ARG_TYPES:
            j -= 1
        return j

    def _lacks_brace(self, name: Token, i: int) -> bool:
        """A block directive (``location``, ``server``...) whose statement, continued on a new
        line at token ``i``, ends with ``;`` or ``}``: its ``{`` is missing. (A header split
        over lines that does reach its ``{`` is valid, as in nginx.)"""
        if self.excess <= 0 or not _is_named(name, BLOCK_DIRECTIVES):
            return False
        toks = self.tokens
        while i < len(toks) and toks[i].type in ARG_TYPES:
            i += 1
        return i == len(toks) or toks[i].type != "LBRACE"

    def _missing_brace(self, name: Token, last: Token, instead: Token | None = None) -> None:
        """Open the block the ``{`` was meant for (in place of the ``;`` ``instead``), so that
        its ``}`` closes it: one error, not a misplaced body and a stray ``}``."""
        header = self.text[name.start_pos : last.end_pos]
        if instead is None:
            at = _point(self.filename, last.end_line, last.end_column)
            hint = f'add "{{" at the end of the line: `{header} {{`'
            brace = _synthetic("LBRACE", "{", last)
        else:
            at = token_span(self.filename, instead)
            hint = f'replace ";" with "{{": `{header} {{`'
            brace = make_token("LBRACE", "{", instead.start_pos, instead.line, instead.column)
        self.error("missing-block", f'directive "{name}" has no opening "{{"', at, hint)
        self.out.append(brace)
        self.blocks.append(_Block(name, brace))
        self.depth += 1
        self.excess -= 1

    def _close_dedented_blocks(self, tok: Token) -> None:
        """When a "}" is missing (more "{" than "}"), a statement that starts on its own line
        at or left of the name of an indented block is read as after that block: the "}"
        is reported missing there, not at the end of the file after everything below."""
        closed: list[Token] = []
        while self.blocks and (top := self.blocks[-1]).name is not None:
            if tok.column > top.name.column:
                top.indented = True
                break
            if self.excess >= 0 or not top.indented:
                break
            closed.append(top.name)
            self.blocks.pop()
            self.depth -= 1
            self.excess += 1
        if not closed:
            return
        last = self.out[-1]
        self.out += [_synthetic("RBRACE", "}", last)] * len(closed)
        names = ", ".join(f'"{n}" ({n.line}:{n.column})' for n in closed)
        self.error(
            "unbalanced-brace",
            f"block {names} is not closed"
            if len(closed) == 1
            else f"blocks {names} are not closed",
            _point(self.filename, last.end_line, last.end_column),
            f'add the missing "}}" here, before line {tok.line}'
            if len(closed) == 1
            else f'add {len(closed)} missing "}}" here, before line {tok.line}',
        )

    def _brace_for_semicolon(self, name: Token, brace: Token) -> None:
        """End a simple directive written with ``{`` where its ``;`` belongs."""
        self.error(
            "unexpected-block",
            f'"{name}" directive does not take a block',
            token_span(self.filename, brace),
            f'end "{name}" with ";" instead of "{{"',
        )
        self.out.append(make_token("SEMI", ";", brace.start_pos, brace.line, brace.column))
        self.excess += 1

    def _glued_quantifier(self, i: int) -> int:
        """When the ``{`` at ``i`` is a regex repetition glued inside an unquoted word
        (``^/a{2,3}$``), the index of the first token after the whole word; else 0."""
        toks, n = self.tokens, len(self.tokens)
        prev = self.out[-1]
        if prev.type != "WORD" or prev.end_pos != toks[i].start_pos:
            return 0
        end = 0
        while i + 2 < n and toks[i].type == "LBRACE" and toks[i].start_pos == prev.end_pos:
            inner, close = toks[i + 1], toks[i + 2]
            if not (
                inner.type == "WORD"
                and inner.start_pos == toks[i].end_pos
                and close.type == "RBRACE"
                and close.start_pos == inner.end_pos
                and _QUANTIFIER.fullmatch(inner.value)
            ):
                break
            i += 3
            while i < n and toks[i].type == "WORD" and toks[i].start_pos == toks[i - 1].end_pos:
                i += 1
            prev, end = toks[i - 1], i
        return end

    def _merge_regex(self, end: int, i: int) -> None:
        """Replace the word before token ``i`` and the glued pieces up to ``end`` by one word,
        and report the missing quotes once."""
        first, last = self.out[-1], self.tokens[end - 1]
        value = self.text[first.start_pos : last.end_pos]
        self.out[-1] = make_token("WORD", value, first.start_pos, first.line, first.column)
        self.error(
            "unquoted-regex-brace",
            f'the regex "{value}" holds "{{" and must be quoted',
            Span(self.filename, first.line, first.column, last.end_line, last.end_column),
            f'quote the regex, as nginx requires: "{value}"',
        )

    def _skip_statement(self, i: int, drop_from: int | None = None) -> int:
        """Skip tokens up to and including the next ``;`` or block at this depth."""
        if drop_from is not None:
            del self.out[drop_from:]
        toks, depth = self.tokens, 0
        while i < len(toks):
            kind = toks[i].type
            if kind == "SEMI" and depth == 0:
                return i + 1
            if kind == "LBRACE":
                depth += 1
            elif kind == "RBRACE":
                if depth == 0:
                    return i  # it closes the enclosing block
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return i

    def _close_block(self, tok: Token, first_on_line: bool) -> None:
        if not self.blocks:
            self.error(
                "unbalanced-brace",
                'unexpected "}"',
                token_span(self.filename, tok),
                'this "}" closes no block: remove it or check the braces above',
            )
            return
        top = self.blocks[-1]
        if (
            self.excess > 0
            and first_on_line
            and top.name is not None
            and tok.column != top.name.column
        ):  # one "}" too many, and this one is not aligned with the block it would close
            self.excess -= 1
            self.error(
                "unbalanced-brace",
                'unexpected "}"',
                token_span(self.filename, tok),
                f'this "}}" is not aligned with "{top.name}" ({top.name.line}:{top.name.column}) '
                'and the file has one "}" too many: remove it',
            )
            return
        block = self.blocks.pop()
        if block.name is not None:
            self.depth -= 1
            self.out.append(tok)
            if first_on_line and tok.column != block.name.column and self.misaligned is None:
                self.misaligned = (block, tok)

    def _missing_semicolon(self, name: Token, last: Token) -> None:
        self.error(
            "missing-semicolon",
            f'directive "{name}" is not terminated by ";"',
            _point(self.filename, last.end_line, last.end_column),
            'add ";" at the end of the directive',
        )
        self.out.append(_synthetic("SEMI", ";", last))

    def _close_at_eof(self) -> None:
        if not self.blocks:
            return
        # Point just after the last non-blank character: the line a reader looks at.
        content = self.text.rstrip()
        eof_line = content.count("\n") + 1
        eof_col = len(content) - content.rfind("\n")
        named = [b for b in self.blocks if b.name is not None]
        if named:
            diag = Diagnostic(
                "error",
                "unbalanced-brace",
                'unexpected end of file, expecting "}"',
                _point(self.filename, eof_line, eof_col),
                hint='add the missing "}"' if len(named) == 1 else f'add {len(named)} missing "}}"',
            )
            for block in reversed(named):
                where = Span(
                    self.filename,
                    block.name.line,
                    block.name.column,
                    block.name.line,
                    block.name.column,
                )
                diag.notes.append(f'block "{block.name}" opened at {where} is not closed')
            if self.misaligned is not None:
                block, brace = self.misaligned
                at = Span(self.filename, brace.line, brace.column, brace.line, brace.column)
                opened = Span(self.filename, block.name.line, block.name.column, 0, 0)
                diag.notes.append(
                    f'the "}}" at {at} closes "{block.name}" ({opened}) but is not aligned with '
                    f'it: the missing "}}" may belong to "{block.name}"'
                )
            self.diags.append(diag)
        end = Token(
            "RBRACE", "}", len(self.text), eof_line, eof_col, eof_line, eof_col, len(self.text)
        )
        for block in reversed(self.blocks):
            if block.name is not None:
                self.out.append(end)
        self.blocks.clear()


def repair(
    tokens: list[Token], filename: str, text: str, known: Collection[str]
) -> tuple[list[Token], list[Diagnostic]]:
    """Return a token stream the grammar accepts, and the syntax errors found on the way."""
    return _Repairer(tokens, filename, text, known).run()
