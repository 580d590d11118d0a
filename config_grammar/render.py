"""Renderers for diagnostics: human text (rustc/Caddy-like), JSON, and SARIF 2.1.0."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from config_grammar.diagnostics import Diagnostic
    from config_grammar.tree import Span

_COLORS = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[1;33m",
    "gutter": "\x1b[1;34m",
    "bold": "\x1b[1m",
    "reset": "\x1b[0m",
}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def summary(diags: Iterable[Diagnostic]) -> str:
    """``2 errors, 1 warning`` (or ``no errors or warnings``)."""
    diags = list(diags)
    errors = sum(d.severity == "error" for d in diags)
    warnings = len(diags) - errors
    parts = [
        f"{n} {word}{'' if n == 1 else 's'}"
        for n, word in ((errors, "error"), (warnings, "warning"))
        if n
    ]
    return ", ".join(parts) or "no errors or warnings"


def render_text(
    diags: Iterable[Diagnostic], sources: Mapping[str, str], *, color: bool = False
) -> str:
    """Render ``diags`` with source excerpts and carets, followed by a summary line."""
    diags = list(diags)
    paint = _painter(color)
    lines_cache: dict[str, list[str]] = {}
    blocks = []
    for diag in diags:
        blocks.append(_render_one(diag, sources, lines_cache, paint))
    blocks.append(paint("bold", summary(diags)))
    return "\n\n".join(blocks) + "\n"


def _painter(color: bool):
    if not color:
        return lambda _style, text: text
    return lambda style, text: f"{_COLORS[style]}{text}{_COLORS['reset']}"


def _render_one(
    diag: Diagnostic, sources: Mapping[str, str], cache: dict[str, list[str]], paint
) -> str:
    label = paint(diag.severity, f"{diag.severity}[{diag.rule}]")
    span = diag.span
    head = f"{span}: {label}: {diag.message}" if span else f"{label}: {diag.message}"
    out = [paint("bold", head) if not span else head]
    source_line = _source_line(span, sources, cache) if span else None
    width = len(str(span.line)) if span else 1
    pad = " " * width
    if source_line is not None:
        start = span.col - 1
        stop = span.end_col - 1 if span.end_line == span.line else len(source_line)
        indent = "".join(c if c == "\t" else " " for c in source_line[:start])
        carets = "^" * max(1, stop - start)
        out += [
            paint("gutter", f"{pad} |"),
            paint("gutter", f"{span.line} |") + f" {source_line}",
            paint("gutter", f"{pad} |") + f" {indent}{paint(diag.severity, carets)}",
        ]
    if diag.hint:
        out.append(f"{pad} = hint: {diag.hint}")
    for note in diag.notes:
        out.append(f"{pad} = note: {note}")
    for include in reversed(diag.include_chain):
        out.append(f"{pad} = note: included from {include}")
    return "\n".join(out)


def _source_line(span: Span, sources: Mapping[str, str], cache: dict[str, list[str]]):
    if span.file not in cache:
        text = sources.get(span.file)
        cache[span.file] = text.split("\n") if text is not None else []
    lines = cache[span.file]
    return lines[span.line - 1].rstrip("\r") if 0 < span.line <= len(lines) else None


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


def render_sarif(diags: Iterable[Diagnostic]) -> str:
    """A SARIF 2.1.0 log with one run whose tool driver is ``webserv``."""
    diags = list(diags)
    rule_index: dict[str, int] = {}
    rules: list[dict[str, object]] = []
    results: list[dict[str, object]] = []
    for d in diags:
        if d.rule not in rule_index:
            rule_index[d.rule] = len(rules)
            rules.append({"id": d.rule, "defaultConfiguration": {"level": d.severity}})
        text = d.message + "".join(f"\n{x}" for x in (d.hint and f"hint: {d.hint}", *d.notes) if x)
        result: dict[str, object] = {
            "ruleId": d.rule,
            "ruleIndex": rule_index[d.rule],
            "level": d.severity,
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
