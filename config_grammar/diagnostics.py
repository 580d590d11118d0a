"""Diagnostics: errors and warnings as values with locations, and their renderers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from config_grammar.tree import Span

Severity = Literal["error", "warning"]


@dataclass(slots=True)
class Diagnostic:
    """One finding. ``rule`` is a stable kebab-case ID such as ``unknown-directive``."""

    severity: Severity
    rule: str
    message: str
    span: Span | None = None
    hint: str | None = None
    include_chain: tuple[Span, ...] = ()
    notes: list[str] = field(default_factory=list)
