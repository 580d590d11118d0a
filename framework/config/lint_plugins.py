"""Lint rules from installed plugins: the ``webserv.lint_rules`` entry point group.

Each entry point names a rule object (see ``lint_context.Rule``) or an iterable of them::

    [project.entry-points."webserv.lint_rules"]
    acme = "acme_lints:RULES"

A plugin that cannot be loaded, an object that is not a rule, or a rule whose ID is already
taken (by a built-in rule or an earlier plugin) becomes one ``lint-plugin-error`` diagnostic
naming the entry point; the other rules still run.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import cast

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Span
from framework.config.lint_context import Rule
from framework.config.plugin_checks import one_line_reason

ENTRY_POINT_GROUP = "webserv.lint_rules"
PLUGIN_ERROR = "lint-plugin-error"
SEVERITIES = ("error", "warning", "info")
_RULE_ID = re.compile(r"[a-z][a-z0-9_]*(?:-[a-z0-9_]+)*\Z")


@dataclass(frozen=True)
class PluginRules:
    """The rules plugins provide, which entry point each came from, and the problems found
    while loading them."""

    rules: tuple[Rule, ...]
    origin: dict[str, str]  # rule ID -> "entry point name = module:attr"
    problems: tuple[Diagnostic, ...]


# keyed by sys.path: discovery reads every installed distribution's metadata, once
_cache: dict[tuple[str, ...], PluginRules] = {}


def plugin_rules(builtin_ids: Iterable[str]) -> PluginRules:
    """Every rule the installed ``webserv.lint_rules`` entry points provide."""
    taken = frozenset(builtin_ids)
    key = (*sys.path, *sorted(taken))
    if key not in _cache:
        _cache[key] = _load(taken)
    return _cache[key]


def _load(builtin: frozenset[str]) -> PluginRules:
    rules: list[Rule] = []
    origin: dict[str, str] = {}
    problems: list[Diagnostic] = []
    seen_eps: set[tuple[str, str]] = set()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if (ep.name, ep.value) in seen_eps:
            continue  # the same distribution found twice on sys.path
        seen_eps.add((ep.name, ep.value))
        where = f'lint plugin "{ep.name} = {ep.value}"'
        try:
            loaded = ep.load()
        except Exception as exc:  # a plugin's import error must not stop validation
            problems.append(_problem(f"{where} cannot be loaded: {one_line_reason(exc)}"))
            continue
        for candidate in _candidates(loaded):
            reason = _not_a_rule(candidate)
            if reason is not None:
                problems.append(_problem(f"{where} provides {reason}"))
                continue
            rule = cast(Rule, candidate)
            if rule.id in builtin:
                problems.append(
                    _problem(
                        f'{where} defines rule "{rule.id}", the ID of a built-in rule: '
                        "the plugin rule is not run",
                        "give the plugin rule an ID of its own (prefix it with the plugin name)",
                    )
                )
            elif rule.id in origin:
                problems.append(
                    _problem(
                        f'{where} defines rule "{rule.id}", already defined by lint plugin '
                        f'"{origin[rule.id]}": the second one is not run',
                        "give each plugin rule an ID of its own",
                    )
                )
            else:
                rules.append(rule)
                origin[rule.id] = _entry(ep)
    return PluginRules(tuple(rules), origin, tuple(problems))


def _entry(ep: EntryPoint) -> str:
    return f"{ep.name} = {ep.value}"


def _candidates(loaded: object) -> list[object]:
    """The entry point's object as a list of would-be rules."""
    if hasattr(loaded, "check") or isinstance(loaded, str | bytes):
        return [loaded]
    if isinstance(loaded, Iterable):
        return list(loaded)
    return [loaded]


def _not_a_rule(obj: object) -> str | None:
    """Why ``obj`` is not a usable rule, or None."""
    rule_id = getattr(obj, "id", None)
    if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
        return f"{obj!r}, which has no kebab-case string id"
    if not callable(getattr(obj, "check", None)):
        return f'rule "{rule_id}" without a check(model, ctx) method'
    if getattr(obj, "severity", None) not in SEVERITIES:
        return f'rule "{rule_id}" whose severity is not one of {", ".join(SEVERITIES)}'
    if not isinstance(getattr(obj, "summary", None), str):
        return f'rule "{rule_id}" without a summary'
    if not isinstance(getattr(obj, "help_uri", ""), str):
        return f'rule "{rule_id}" whose help_uri is not a string'
    return None


def _problem(message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(
        "error",
        PLUGIN_ERROR,
        message,
        None,
        hint or "fix or uninstall the plugin; this is not a problem in the configuration",
    )


def failed_rule(exc: BaseException, rule: Rule, origin: str) -> Diagnostic:
    """The diagnostic for a plugin rule whose check raised."""
    return _problem(
        f'lint plugin rule "{rule.id}" ({origin}) failed: {one_line_reason(exc)}',
        "this is a bug in the plugin; the other rules ran",
    )


def invalid_finding(item: object) -> str | None:
    """Why ``item``, yielded by a rule's check, is not a usable ``Diagnostic``, or None."""
    if not isinstance(item, Diagnostic):
        return f"{type(item).__name__} {_short(item)}, not a Diagnostic"
    if item.severity not in SEVERITIES:
        allowed = ", ".join(SEVERITIES)
        return f"a Diagnostic whose severity {_short(item.severity)} is not one of {allowed}"
    if not isinstance(item.rule, str) or not isinstance(item.message, str):
        return "a Diagnostic whose rule or message is not a string"
    if item.span is not None and not isinstance(item.span, Span):
        return f"a Diagnostic whose span is {type(item.span).__name__}, not a Span or None"
    if item.hint is not None and not isinstance(item.hint, str):
        return "a Diagnostic whose hint is not a string"
    if not all(isinstance(s, Span) for s in item.include_chain) or not all(
        isinstance(n, str) for n in item.notes
    ):
        return "a Diagnostic whose include_chain or notes hold the wrong types"
    return None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def bad_findings(rule: Rule, origin: str, count: int, first: str) -> Diagnostic:
    """The diagnostic for a plugin rule whose check yielded something else than findings."""
    more = f" (and {count - 1} more such item{'s' if count > 2 else ''})" if count > 1 else ""
    return _problem(
        f'lint plugin rule "{rule.id}" ({origin}) yielded {first}{more}: it is ignored',
        "this is a bug in the plugin; its other findings and the other rules are kept",
    )
