"""Diagnostics: errors and warnings as values with locations, and their renderers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from config_grammar.tree import Span

# "info": a finding worth knowing that is not a mistake (never fails --strict)
Severity = Literal["error", "warning", "info"]


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


# The renderers live in render.py; re-exported here so that callers import one module.
from config_grammar.render import render_text, summary  # noqa: E402
from config_grammar.render_machine import render_json, render_sarif  # noqa: E402

__all__ = ["Diagnostic", "Severity", "render_json", "render_sarif", "render_text", "summary"]
