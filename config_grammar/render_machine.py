"""Machine-readable diagnostics: ``--format json`` (a list of objects) and ``--format sarif``
(a SARIF 2.1.0 log)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from config_grammar.diagnostics import Diagnostic
    from config_grammar.tree import Span

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

def _span_dict(span: Span | None) -> dict[str, object]:
    if span is None:
        return {"file": None, "line": None, "col": None, "end_line": None, "end_col": None}
    return {
        "file": span.file,
        "line": span.line,
        "col": span.col,
        "end_line": span.end_line,
        "end_col": span.end_col,
    }


def render_json(diags: Iterable[Diagnostic]) -> str:
    """A JSON list with one object per diagnostic (1-based lines/columns, end exclusive)."""
    items = [
        {
            **_span_dict(d.span),
            "severity": d.severity,
            "rule": d.rule,
            "message": d.message,
            "hint": d.hint,
            "notes": list(d.notes),
            "include_chain": [_span_dict(s) for s in d.include_chain],
        }
        for d in diags
    ]
    return json.dumps(items, indent=2, ensure_ascii=False)


def _uri(path: str) -> str:
    if os.path.isabs(path):
        return "file://" + quote(path.replace(os.sep, "/"))
    return quote(path.replace(os.sep, "/"))


def _location(span: Span, message: str | None = None) -> dict[str, object]:
    loc: dict[str, object] = {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(span.file)},
            "region": {
                "startLine": span.line,
                "startColumn": span.col,
                "endLine": span.end_line,
                "endColumn": span.end_col,
            },
        }
    }
    if message:
        loc["message"] = {"text": message}
    return loc


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("webserv")
    except Exception:  # noqa: BLE001 - not installed: the version is informative only
        return "0"


def _level(d: Diagnostic) -> str:
    return "note" if d.severity == "info" else d.severity


def render_sarif(diags: Iterable[Diagnostic]) -> str:
    """A SARIF 2.1.0 log with one run whose tool driver is ``webserv``."""
    diags = list(diags)
    rule_index: dict[str, int] = {}
    rules: list[dict[str, object]] = []
    results: list[dict[str, object]] = []
    for d in diags:
        if d.rule not in rule_index:
            rule_index[d.rule] = len(rules)
            rules.append({"id": d.rule, "defaultConfiguration": {"level": _level(d)}})
        text = d.message + "".join(f"\n{x}" for x in (d.hint and f"hint: {d.hint}", *d.notes) if x)
        result: dict[str, object] = {
            "ruleId": d.rule,
            "ruleIndex": rule_index[d.rule],
            "level": _level(d),
            "message": {"text": text},
            "locations": [_location(d.span)] if d.span else [],
        }
        if d.include_chain:
            result["relatedLocations"] = [
                {"id": i, **_location(s, "included from here")}
                for i, s in enumerate(d.include_chain)
            ]
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "webserv", "version": _version(), "rules": rules}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False)
