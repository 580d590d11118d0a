"""Lints about nginx ``$variables`` written in the configuration.

- ``variable-not-expanded`` (warning): a ``$name`` in a directive that webserv takes
  literally (``root /srv/$host;``, ``index $x;``). nginx substitutes variables in some of
  those (``root``, ``alias``, ``access_log``...); webserv expands them only in ``return``,
  ``try_files``, ``add_header``, ``expires``, ``error_page`` and ``map``, so the literal
  text would be used silently.
- ``unknown-variable`` (error): a ``$name`` that no one defines, in a directive that expands
  variables. nginx refuses to start (``[emerg] unknown "name" variable``); webserv would
  send the text as written.
- ``variable-cycle`` (error): ``map`` variables whose values name each other; each request
  that uses them is answered 500, as in nginx ("cycle while evaluating variable").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Arg, Directive, Span
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config
from framework.http.variables import KNOWN_PREFIXES, KNOWN_VARIABLES, VARIABLE

EXPANDING = frozenset(
    {"return", "try_files", "add_header", "expires", "error_page", "map", "proxy_pass",
     "proxy_set_header"}
)  # fmt: skip
"""The directives whose arguments webserv expands variables in."""
# arguments that are regexes or blocks of other vocabularies, never templates
_NOT_TEMPLATES = frozenset(
    {"location", "server_name", "handler", "types", "include", "upstream"}
)  # fmt: skip
# a named group in a PCRE-style or Python regex: (?<name>...) / (?P<name>...)
_NAMED_GROUP = re.compile(r"\(\?P?<(\w+)>")
_NOT_EXPANDED_HINT = (
    "webserv expands variables only in return, try_files, add_header, expires, error_page, map, "
    "proxy_pass and proxy_set_header; here the text is used as written"
)


def _defined_names(ctx: LintContext) -> set[str]:
    """Names defined by this config: ``map`` targets and named groups of location,
    ``server_name`` and ``map`` regexes (nginx defines a variable for each)."""
    names: set[str] = set()
    for _server, loc in ctx.scopes():
        if loc.regex is not None:
            names.update(loc.regex.groupindex)
        for table in getattr(loc, "maps", {}).values():
            names.add(table.variable)
            for regex, _ in table.regexes:
                names.update(regex.groupindex)
    for server in ctx.config.servers:
        for name in server.server_names:
            if name.startswith("~"):
                names.update(_NAMED_GROUP.findall(name))
    return names


def _known(name: str, defined: set[str]) -> bool:
    return name in KNOWN_VARIABLES or name in defined or name.startswith(KNOWN_PREFIXES)


def _directives(ctx: LintContext) -> Iterator[Directive]:
    """Every accepted directive whose arguments may be templates (includes resolved)."""
    stack = [n for n in reversed(ctx.nodes) if isinstance(n, Directive)]
    while stack:
        node = stack.pop()
        if node.name in ("handler", "types"):
            continue
        if node.block is not None and node.name != "map":  # map entries: checked with it
            stack.extend(reversed(node.children))
        if ctx.valid(node):
            yield node


def _templates(d: Directive) -> Iterator[Arg]:
    """The arguments of ``d`` that are templates."""
    if d.name in _NOT_TEMPLATES:
        return
    if d.name == "map":
        yield d.args[0]
        for entry in d.children:
            yield from entry.args
        return
    yield from d.args


def _span_of(arg: Arg, match: re.Match[str]) -> Span:
    """The span of the variable ``match`` found in ``arg.value``: exact when the argument
    is written on one line without escapes, else the whole argument."""
    span = arg.span
    raw = arg.raw
    text = raw[1:-1] if arg.quoted else raw
    if span.line != span.end_line or text != arg.value:
        return span
    col = span.col + (1 if arg.quoted else 0) + match.start()
    return Span(span.file, span.line, col, span.line, col + len(match.group(0)))


def _findings(ctx: LintContext, unknown: bool) -> Iterator[Diagnostic]:
    """``unknown``: the unknown names in expanding directives; else the variables in
    directives that do not expand them (one finding per argument)."""
    defined = _defined_names(ctx) if unknown else set()
    for d in _directives(ctx):
        if (d.name in EXPANDING) != unknown:
            continue
        for arg in _templates(d):
            if "$" not in arg.value:
                continue
            for match in VARIABLE.finditer(arg.value):
                name = match.group(1) or match.group(2)
                if not unknown:
                    yield warn(
                        "variable-not-expanded",
                        f'"{d.name}" does not expand variables: "${name}" is taken literally',
                        d,
                        _span_of(arg, match),
                        _NOT_EXPANDED_HINT,
                    )
                    break
                if not _known(name, defined):
                    yield warn(
                        "unknown-variable",
                        f'unknown "{name}" variable in "{d.name}" directive',
                        d,
                        _span_of(arg, match),
                        _UNKNOWN_HINT,
                        severity="error",
                    )


def check_not_expanded(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``variable-not-expanded``: a ``$name`` that would be used literally."""
    return _findings(ctx, unknown=False)


def check_unknown(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``unknown-variable``: a ``$name`` nothing defines, where variables are expanded."""
    return _findings(ctx, unknown=True)


def check_cycle(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``variable-cycle``: ``map`` variables whose values (or sources) name each other,
    directly or through other maps: nginx answers such a request 500 ("cycle while
    evaluating variable"). One finding per map on a cycle."""
    refs: dict[str, set[str]] = {}
    where: dict[str, Directive] = {}
    for d in _directives(ctx):
        if d.name != "map" or len(d.args) != 2:
            continue
        name = d.args[1].value[1:]
        where.setdefault(name, d)
        names = refs.setdefault(name, set())
        for arg in _templates(d):
            for match in VARIABLE.finditer(arg.value):
                names.add(match.group(1) or match.group(2))
    for name, d in where.items():
        path = _cycle_from(name, refs)
        if path is not None:
            chain = " -> ".join(f"${n}" for n in path)
            yield warn(
                "variable-cycle",
                f'cycle while evaluating variable "{name}": {chain}',
                d,
                d.args[1].span,
                "a map's value or source names a map variable that leads back to it; "
                "such a request is answered 500",
                severity="error",
            )


def _cycle_from(start: str, refs: dict[str, set[str]]) -> list[str] | None:
    """A path of map names from ``start`` back to itself, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        for nxt in sorted(refs.get(name, ())):
            if nxt == start:
                return [*path, start]
            if nxt in refs and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


_UNKNOWN_HINT = (
    "webserv knows "
    + ", ".join(f"${v}" for v in sorted(KNOWN_VARIABLES) if not v.isdigit())
    + ", $1..$9, named captures, map variables and "
    + ", ".join(f"${p}NAME" for p in KNOWN_PREFIXES)
)

RULES: list[LintRule] = [
    LintRule(
        "variable-not-expanded",
        "a $variable in a directive that takes its text literally",
        check_not_expanded,
    ),
    LintRule(
        "unknown-variable",
        "an unknown $variable where variables are expanded (error: nginx refuses it)",
        check_unknown,
        severity="error",
    ),
    LintRule(
        "variable-cycle",
        "map variables that name each other (error: nginx answers 500)",
        check_cycle,
        severity="error",
    ),
]
