"""Validate an editor buffer (not the file on disk) the way ``validate-config`` validates a
file, and place each finding in that buffer.

A finding inside an included file is placed on the ``include`` line that brought the file in,
with the file's own position in the message. The LSP conversion (positions in the client's
units, severities, rule links) is left to the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Span
from framework.config.build import build_config, internal_error, sort_diagnostics


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


def validate_buffer(text: str, filename: str, base_dir: Path) -> list[Placed]:
    """Every finding for ``text`` as the config file ``filename`` (relative includes and
    paths resolve against ``base_dir``), placed in the buffer."""
    from config_grammar.parser import parse_text

    try:
        parsed = parse_text(text, filename, base_dir=base_dir)
    except Exception as exc:  # a bug must come out as a diagnostic, not kill the server
        return [Placed(internal_error(exc, "parsing the buffer"), None)]
    source = Path(filename).absolute() if Path(filename).is_file() else None
    try:
        _, diagnostics = build_config(
            parsed.nodes,
            base_dir=base_dir,
            source=source,
            diagnostics=list(parsed.diagnostics),
        )
    except Exception as exc:
        diagnostics = [*parsed.diagnostics, internal_error(exc)]
    placed = [_place(d, filename) for d in sort_diagnostics(diagnostics, parsed.sources)]
    return [p for p in placed if p is not None]


def _place(d: Diagnostic, filename: str) -> Placed | None:
    if d.span is None:
        return Placed(d, None)
    if d.span.file == filename:
        return Placed(d, d.span)
    outermost = d.include_chain[0] if d.include_chain else None
    if outermost is not None and outermost.file == filename:
        return Placed(d, outermost, d.span)
    return None  # the buffer is included by the file this finding belongs to
