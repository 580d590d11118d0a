"""Parse configuration text into a tree of `Directive` and `Comment` nodes.

Pipeline for one file: `tokenize` (lexer built from grammar.lark) -> `repair` (error
recovery, so that one run reports every syntax error) -> the LALR parser generated from
grammar.lark -> tree building (spans, comments, escapes, ``${VAR}`` expansion). Then
``include`` directives are replaced by the directives of the files they name.
"""

from __future__ import annotations

import errno
import glob
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lark.exceptions import UnexpectedInput

from config_grammar.diagnostics import Diagnostic
from config_grammar.lexer import LARK_PARSER, decode_source, renderable, tokenize
from config_grammar.names import KNOWN_DIRECTIVES
from config_grammar.recovery import repair
from config_grammar.tree import Directive, Span
from config_grammar.tree_builder import Node, TreeBuilder


@dataclass(slots=True)
class ParseResult:
    """Nodes of the main file (includes resolved), every diagnostic, and every source read.

    ``sources`` maps each file name used in spans to its text, for caret rendering.
    """

    nodes: list[Node]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no diagnostic is an error."""
        return not any(d.severity == "error" for d in self.diagnostics)


def parse_text(
    text: str,
    filename: str = "<string>",
    *,
    env: Mapping[str, str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    resolve_includes: bool = True,
    expand_env: bool = True,
    known_directives: Collection[str] = KNOWN_DIRECTIVES,
    overlay: Mapping[str, str] | None = None,
) -> ParseResult:
    """Parse ``text`` as the main configuration file named ``filename``.

    ``env`` (default ``os.environ``) supplies ``${VAR}`` values; ``expand_env=False`` keeps
    args unexpanded (for the formatter). Relative ``include`` paths resolve against
    ``base_dir`` (default: the current directory). ``known_directives`` are the names that
    mark a missing ``;`` when one starts a continuation line. ``overlay`` maps real paths
    of included files to the text to use instead of the file's (an editor's unsaved buffer).
    """
    ctx = _Context(
        env=(os.environ if env is None else env) if expand_env else None,
        base_dir=os.fspath(base_dir) if base_dir is not None else "",
        resolve_includes=resolve_includes,
        known=known_directives,
        overlay=overlay or {},
    )
    ctx.sources[filename] = renderable(text)
    if os.path.isfile(filename):
        ctx.stack.append(os.path.realpath(filename))
    nodes = ctx.parse_source(text, filename, ())
    order = {name: i for i, name in enumerate(ctx.sources)}
    ctx.diagnostics.sort(key=lambda d: (order.get(d.span.file, 0), d.span.line, d.span.col))
    return ParseResult(nodes, ctx.diagnostics, ctx.sources)


def parse_file(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    resolve_includes: bool = True,
    expand_env: bool = True,
    known_directives: Collection[str] = KNOWN_DIRECTIVES,
) -> ParseResult:
    """Read and parse the main configuration file ``path``.

    Relative includes resolve against ``base_dir`` (default: the directory of ``path``).
    Raises ``OSError`` when the main file itself cannot be read. A binary file (one holding a
    NUL byte) gives a single ``binary-file`` error and no nodes.
    """
    filename = os.fspath(path)
    text = decode_source(Path(filename).read_bytes())
    binary = binary_file_diagnostic(text, filename)
    if binary is not None:
        return ParseResult([], [binary], {filename: renderable(text)})
    return parse_text(
        text,
        filename,
        env=env,
        base_dir=os.path.dirname(filename) if base_dir is None else base_dir,
        resolve_includes=resolve_includes,
        expand_env=expand_env,
        known_directives=known_directives,
    )


@dataclass(slots=True)
class _Context:
    env: Mapping[str, str] | None
    base_dir: str
    resolve_includes: bool
    known: Collection[str]
    overlay: Mapping[str, str]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)  # real paths of the files being parsed

    def parse_source(self, text: str, filename: str, chain: tuple[Span, ...]) -> list[Node]:
        first_diag = len(self.diagnostics)
        lexed = tokenize(text, filename)
        self.diagnostics += lexed.diagnostics
        tokens, syntax_errors = repair(lexed.tokens, filename, text, self.known)
        self.diagnostics += syntax_errors
        try:
            tree = LARK_PARSER.parse(tokens)
        except UnexpectedInput as exc:  # repair() should make this impossible
            span = Span(filename, 1, 1, 1, 2)
            self.diagnostics.append(
                Diagnostic(
                    "error", "syntax-error", f"cannot parse: {exc}", span, include_chain=chain
                )
            )
            return []
        builder = TreeBuilder(filename, self.env, lexed.comments, chain)
        nodes = builder.build_list(tree.children, len(text))
        self.diagnostics += builder.diagnostics
        for diag in self.diagnostics[first_diag:]:
            diag.include_chain = chain
        if self.resolve_includes:
            nodes = self._resolve_includes(nodes)
        return nodes

    def _resolve_includes(self, nodes: list[Node]) -> list[Node]:
        out: list[Node] = []
        for node in nodes:
            if isinstance(node, Directive) and node.name == "include":
                out += self._include(node)
                continue
            if isinstance(node, Directive) and node.block is not None:
                node.block = self._resolve_includes(node.block)
            out.append(node)
        return out

    def _error(
        self,
        node: Directive,
        rule: str,
        message: str,
        hint: str | None = None,
        severity: str = "error",
        span: Span | None = None,
    ) -> None:
        self.diagnostics.append(
            Diagnostic(
                severity,
                rule,
                message,
                span or node.span,
                hint=hint,  # type: ignore[arg-type]
                include_chain=node.include_chain,
            )
        )

    def _include(self, node: Directive) -> list[Node]:
        if len(node.args) != 1 or node.block is not None:
            self._error(
                node,
                "include-invalid",
                'invalid number of arguments in "include" directive'
                if node.block is None
                else '"include" takes no block',
                'write "include PATH;" where PATH may be a glob',
            )
            return []
        arg = node.args[0]
        pattern = _without_dot_parts(os.path.join(self.base_dir, arg.value))
        chain = (*node.include_chain, node.span)
        if glob.has_magic(arg.value):
            paths = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
            written = os.path.dirname(arg.value)
            while glob.has_magic(written):
                written = os.path.dirname(written)
            # nginx includes nothing, silently: an empty drop-in directory is normal, a
            # missing one is worth a note (a typo, or a deploy step not done yet)
            if not paths and not os.path.isdir(os.path.join(self.base_dir, written or ".")):
                self._error(
                    node,
                    "include-empty-glob",
                    f'"{arg.value}" matches no file: directory "{written}" does not exist',
                    "nginx includes nothing here; check the path (relative to "
                    f'"{self.base_dir or "."}") or create the directory',
                    severity="info",
                    span=arg.span,
                )
        elif not os.path.exists(pattern):
            if (why := _cannot_follow(pattern)) is not None:  # as nginx: open() failed (40: ...)
                message, hint = f'cannot open included file "{arg.value}": {why}', None
                if "symbolic links" in why:
                    hint = "symbolic links on this path form a loop: fix the link"
            else:
                message = f'included file "{arg.value}" not found'
                hint = (
                    "relative paths are resolved against the main config file's "
                    f'directory ("{self.base_dir or "."}")'
                )
            self._error(node, "include-not-found", message, hint, span=arg.span)
            return []
        elif not os.path.isfile(pattern):
            self._error(node, "include-not-found", f'"{arg.value}" is not a file', span=arg.span)
            return []
        else:
            paths = [pattern]
        out: list[Node] = []
        for path in paths:
            real = os.path.realpath(path)
            if real in self.stack:
                names = [*(_display(p) for p in self.stack[self.stack.index(real) :]), path]
                self._error(
                    node,
                    "include-cycle",
                    f'include cycle: "{path}" is already being included',
                    "remove one of the includes in the cycle",
                    span=arg.span,
                )
                self.diagnostics[-1].notes.append("cycle: " + " -> ".join(names))
                continue
            try:
                text = self.overlay[real] if real in self.overlay else None
                text = text if text is not None else decode_source(Path(path).read_bytes())
            except OSError as exc:
                self._error(
                    node,
                    "include-unreadable",
                    f'cannot read "{path}": {exc.strerror or exc}',
                    span=arg.span,
                )
                continue
            self.sources[path] = renderable(text)
            binary = binary_file_diagnostic(text, path)
            if binary is not None:
                binary.include_chain = chain
                self.diagnostics.append(binary)
                continue
            self.stack.append(real)
            try:
                out += self.parse_source(text, path, chain)
            finally:
                self.stack.pop()
        return out


def binary_file_diagnostic(text: str, filename: str) -> Diagnostic | None:
    """A ``binary-file`` error at the first NUL byte of ``text``, or None when it has none.

    A configuration is text: a NUL byte means a compiled program, an archive, an image or a
    corrupted file was named. One error at that byte replaces the hundreds that lexing the
    rest would give.
    """
    at = text.find("\x00")
    if at < 0:
        return None
    line = text.count("\n", 0, at) + 1
    col = at - text.rfind("\n", 0, at)
    return Diagnostic(
        "error",
        "binary-file",
        "NUL byte (U+0000): this is a binary file, not a configuration",
        Span(filename, line, col, line, col + 1),
        hint="a configuration is UTF-8 text; check that the right file is named",
    )


def _without_dot_parts(path: str) -> str:
    """``path`` without its ``.`` components (``./h5bp/x.conf`` under ``--prefix .`` names
    ``h5bp/x.conf``): the same file, named the way a user writes it. ``..`` is kept."""
    parts = [part for part in path.split("/") if part != "."]
    return "/".join(parts) or "."


def _cannot_follow(path: str) -> str | None:
    """Why ``path``, which does not resolve to a file, cannot be followed (a symlink loop,
    a directory on the way that may not be searched), or None when nothing is there."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            return (exc.strerror or str(exc)).lower()
    return None


def _display(real: str) -> str:
    try:
        return os.path.relpath(real)
    except ValueError:
        return real
