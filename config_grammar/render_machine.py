"""Machine-readable diagnostics: ``--format json`` (a list of objects) and ``--format sarif``
(a SARIF 2.1.0 log)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

if TYPE_CHECKING:
    from config_grammar.diagnostics import Diagnostic
    from config_grammar.tree import Span

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


class RuleDoc(Protocol):
    """What SARIF tells about a rule (``framework.config.rules.RuleInfo`` is one)."""

    @property
    def summary(self) -> str: ...

    @property
    def help_uri(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ToolFailure:
    """A fatal error: the input could not be validated at all (a file that cannot be read, an
    ``--explain`` URL no client could send). ``file``: the input concerned, when there is one."""

    rule: str
    message: str
    file: str | None = None


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


def render_json(diags: Iterable[Diagnostic], failure: ToolFailure | None = None) -> str:
    """A JSON list with one object per diagnostic (1-based lines/columns, end exclusive). A
    ``failure`` is one more error item, with its ``file`` and no position."""
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
    if failure is not None:
        items.append(
            {
                **_span_dict(None),
                "file": failure.file,
                "severity": "error",
                "rule": failure.rule,
                "message": failure.message,
                "hint": None,
                "notes": [],
                "include_chain": [],
            }
        )
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


def _rule(rule: str, level: str, doc: RuleDoc | None) -> dict[str, object]:
    """A ``reportingDescriptor``; ``doc`` (the catalog's entry) adds the description and
    documentation link when it has them."""
    descriptor: dict[str, object] = {"id": rule, "defaultConfiguration": {"level": level}}
    if doc is not None and doc.summary:
        descriptor["shortDescription"] = {"text": doc.summary}
    if doc is not None and doc.help_uri:
        descriptor["helpUri"] = doc.help_uri
        if doc.summary:
            descriptor["help"] = {
                "text": f"{doc.summary.rstrip('.')}. Documentation: {doc.help_uri}"
            }
    return descriptor


def _invocation(failure: ToolFailure | None) -> dict[str, object]:
    """The run's ``invocation``: whether validation ran, and if not, why (SARIF 3.20.21)."""
    if failure is None:
        return {"executionSuccessful": True}
    notification: dict[str, object] = {
        "level": "error",
        "message": {"text": failure.message},
        "descriptor": {"id": failure.rule, "index": 0},  # the driver's notifications[0]
    }
    if failure.file is not None:
        notification["locations"] = [
            {"physicalLocation": {"artifactLocation": {"uri": _uri(failure.file)}}}
        ]
    return {"executionSuccessful": False, "toolExecutionNotifications": [notification]}


def render_sarif(
    diags: Iterable[Diagnostic],
    *,
    rules: Mapping[str, RuleDoc] | None = None,
    failure: ToolFailure | None = None,
) -> str:
    """A SARIF 2.1.0 log with one run whose tool driver is ``webserv``. ``rules``: the rule
    catalog, for each rule's description and help link (a rule missing from it gets neither).
    ``failure``: validation could not run; the log says so in ``invocations``."""
    diags = list(diags)
    catalog = rules or {}
    rule_index: dict[str, int] = {}
    descriptors: list[dict[str, object]] = []
    results: list[dict[str, object]] = []
    for d in diags:
        if d.rule not in rule_index:
            rule_index[d.rule] = len(descriptors)
            descriptors.append(_rule(d.rule, _level(d), catalog.get(d.rule)))
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
    driver: dict[str, object] = {"name": "webserv", "version": _version(), "rules": descriptors}
    if failure is not None:
        driver["notifications"] = [_rule(failure.rule, "error", catalog.get(failure.rule))]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "invocations": [_invocation(failure)],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False)
