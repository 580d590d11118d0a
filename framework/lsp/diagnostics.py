"""Validate an editor buffer (not the file on disk) the way ``validate-config`` validates a
file, and place each finding in that buffer.

A finding inside an included file is placed on the ``include`` line that brought the file in,
with the file's own position in the message. The LSP conversion (positions in the client's
units, severities, rule links) is left to the server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Directive, Span
from config_grammar.tree_builder import Node
from framework.config.build import build_config, internal_error, sort_diagnostics
from framework.registry import HandlerRegistry


@dataclass(frozen=True, slots=True)
class Placed:
    """A diagnostic with the span it is shown at in the buffer (None: the top of the
    buffer). ``origin`` is where it really is when that is another file."""

    diagnostic: Diagnostic
    span: Span | None
    origin: Span | None = None

    @property
    def message(self) -> str:
        text = self.diagnostic.message
        if self.origin is not None:
            text = f"{self.origin}: {text}"
        if self.diagnostic.hint:
            text += f"\nhint: {self.diagnostic.hint}"
        return text


def validate_buffer(
    text: str,
    filename: str,
    base_dir: Path,
    registry: HandlerRegistry,
    includer: tuple[Path, str] | None = None,
) -> list[Placed]:
    """Every finding for ``text`` as the config file ``filename`` (relative includes and
    paths resolve against ``base_dir``), placed in the buffer. ``load_module`` imports into
    ``registry`` (a fresh one per buffer), and not while its line has a syntax error: a
    half-typed ``load_module my`` must not import a module ``my``.

    With ``includer`` (the path and text of the file that includes this one), that file is
    validated instead, with this buffer's text in place of the file on disk, and the
    findings in this file are returned; if it turns out not to include this file after all,
    the buffer is validated on its own."""
    if includer is not None:
        path, includer_text = includer
        target = os.path.realpath(filename)
        found, sources, _ = _validate(
            includer_text, str(path), path.parent, registry, {target: text}
        )
        if target in {_real(name) for name in sources}:
            return _placed(found, target)
    diagnostics, _, top = _validate(text, filename, base_dir, registry, {})
    placed = _placed(diagnostics, os.path.realpath(filename))
    return [_fragment_note(p) if p.span in top else p for p in placed]


def _validate(
    text: str, filename: str, base_dir: Path, registry: HandlerRegistry, overlay: dict[str, str]
) -> tuple[list[Diagnostic], dict[str, str], set[Span]]:
    """The sorted findings of ``text`` as the main file, the sources it read and the name
    spans of its top-level directives."""
    from config_grammar.parser import parse_text

    try:
        parsed = parse_text(text, filename, base_dir=base_dir, overlay=overlay)
    except Exception as exc:  # a bug must come out as a diagnostic, not kill the server
        return [internal_error(exc, "parsing the buffer")], {}, set()
    source = Path(filename).absolute() if Path(filename).is_file() else None
    try:
        _, diagnostics = build_config(
            without_unfinished_load_modules(parsed.nodes, parsed.diagnostics),
            base_dir=base_dir,
            source=source,
            registry=registry,
            diagnostics=list(parsed.diagnostics),
        )
    except Exception as exc:
        diagnostics = [*parsed.diagnostics, internal_error(exc)]
    top = {n.name_span for n in parsed.nodes if isinstance(n, Directive) and not n.include_chain}
    return sort_diagnostics(diagnostics, parsed.sources), parsed.sources, top


def _placed(diagnostics: list[Diagnostic], target: str) -> list[Placed]:
    placed = [_place(d, target) for d in diagnostics]
    return [p for p in placed if p is not None]


def _fragment_note(placed: Placed) -> Placed:
    """A top-level "not allowed here" in a file no config near it includes: say how to get
    it checked in the block its ``include`` puts it in."""
    d = placed.diagnostic
    if d.rule != "not-allowed-here":
        return placed
    note = (
        "if this file is a fragment that another config includes, open that file too "
        "(none including it was found here or in the two directories above)"
    )
    return Placed(replace(d, hint=f"{d.hint}; {note}" if d.hint else note), placed.span)


def without_unfinished_load_modules(nodes: list[Node], found: list[Diagnostic]) -> list[Node]:
    """``nodes`` less the top-level ``load_module`` directives that share a line with a
    syntax error (a missing ``;`` while the name is being typed)."""
    broken = {
        (d.span.file, line)
        for d in found
        if d.severity == "error" and d.span is not None
        for line in range(d.span.line, d.span.end_line + 1)
    }

    def unfinished(node: Node) -> bool:
        if not isinstance(node, Directive) or node.name != "load_module":
            return False
        span = node.span
        return any((span.file, n) in broken for n in range(span.line, span.end_line + 1))

    return [node for node in nodes if not unfinished(node)]


def _place(d: Diagnostic, target: str) -> Placed | None:
    """Where ``d`` shows in the buffer whose real path is ``target``: at its own span, on the
    ``include`` line of the buffer that brought its file in, or nowhere."""
    if d.span is None:
        return Placed(d, None)
    if _real(d.span.file) == target:
        return Placed(d, d.span)
    for step in d.include_chain:
        if _real(step.file) == target:
            return Placed(d, step, d.span)
    return None  # in a file this buffer does not include


@lru_cache(maxsize=4096)
def _real(name: str) -> str:
    return os.path.realpath(name)
