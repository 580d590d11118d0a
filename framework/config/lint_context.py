"""What lint rules are made of: the ``Rule`` API (``check(model, ctx)``), the ``LintContext``
rules read, the ``LintRule`` implementation and the helpers every rule module shares
(``warn``, ``served_dir``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from config_grammar.diagnostics import Diagnostic, Severity
from config_grammar.tree import Comment, Directive, Span
from framework.config.models import Config, LocationConfig, ServerConfig


@dataclass
class LintContext:
    """What rules look at: the effective config and the directives each location wrote."""

    config: Config
    nodes: list[Directive | Comment]
    check_fs: bool = True
    # id() of the directives the builder accepted; rules never see one it rejected (which
    # already has an error, and may lack the arguments a rule reads). None: all of them.
    accepted: set[int] | None = None
    by_span: dict[Span, Directive] = field(default_factory=dict)
    # id() of a location -> the location it is nested in (top-level ones: absent)
    parents: dict[int, LocationConfig] = field(default_factory=dict)

    def valid(self, node: Directive) -> bool:
        return self.accepted is None or id(node) in self.accepted

    def __post_init__(self) -> None:
        stack = [n for n in self.nodes if isinstance(n, Directive)]
        while stack:
            node = stack.pop()
            self.by_span[node.span] = node
            stack.extend(node.children)
        for _server, loc in self.scopes():
            for child in loc.children:
                self.parents[id(child)] = loc

    def own(self, span: Span | None, name: str) -> list[Directive]:
        """The ``name`` directives written directly in the block at ``span``."""
        node = self.by_span.get(span) if span is not None else None
        if node is None:
            return []
        return [d for d in node.children if d.name == name and self.valid(d)]

    def scopes(self) -> Iterator[tuple[ServerConfig, LocationConfig]]:
        """Every (server, location) pair, server contexts included, nested ones too."""
        for server in self.config.servers:
            yield server, server.context
            stack = list(reversed(server.locations))
            while stack:
                loc = stack.pop()
                yield server, loc
                stack.extend(reversed(loc.children))

    def top_level(self, name: str) -> list[Directive]:
        """The ``name`` directives written at the top level (or in the ``http`` wrapper)."""
        found = []
        stack = [n for n in self.nodes if isinstance(n, Directive)]
        while stack:
            node = stack.pop(0)
            if node.name == "http":
                stack[:0] = node.children
            elif node.name == name and self.valid(node):
                found.append(node)
        return found

    def written(
        self, server: ServerConfig, loc: LocationConfig, names: tuple[str, ...]
    ) -> Directive | None:
        """The directive (one of ``names``) that gives ``loc`` its effective value: in the
        location itself, else the nearest enclosing location, the server, the top level."""
        scope: LocationConfig | None = loc
        while scope is not None:
            span = self.block_span(server, scope)
            found = [d for name in names for d in self.own(span, name)]
            if found:
                return found[-1]
            if scope is server.context:
                break
            scope = self.parents.get(id(scope), server.context)
        found = [d for name in names for d in self.top_level(name)]
        return found[-1] if found else None

    def resolve(self, value: str) -> Path:
        """A path written in the config, made absolute like the builder does."""
        base = self.config.source.parent if self.config.source is not None else Path.cwd()
        return Path(os.path.normpath(base / value))

    def real(self, path: Path) -> Path:
        """``path`` with symlinks resolved when the filesystem may be looked at (lexically
        normalised with ``--no-fs``), so two spellings of one directory compare equal."""
        if self.check_fs:
            return Path(os.path.realpath(path))
        return Path(os.path.normpath(path))

    def block_span(self, server: ServerConfig, loc: LocationConfig) -> Span | None:
        return loc.span if loc.span is not None else server.span


@runtime_checkable
class Rule(Protocol):
    """The lint-rule API, for built-in rules and plugins alike (gixy-style).

    A rule has a stable kebab-case ``id`` (shown as ``warning[ID]``), a default ``severity``
    (``"error"``, ``"warning"`` or ``"info"``), a one-line ``summary``, a ``help_uri`` where
    its documentation is, and ``check(model, ctx)``, which yields ``Diagnostic`` values:
    ``model`` is the built ``Config``, ``ctx`` the ``LintContext`` (the syntax tree, the
    directives each block wrote, path helpers). ``LintRule`` is the ready-made
    implementation; any object with these attributes works.
    """

    @property
    def id(self) -> str: ...

    @property
    def severity(self) -> Severity: ...

    @property
    def summary(self) -> str: ...

    @property
    def help_uri(self) -> str: ...

    def check(self, model: Config, ctx: LintContext) -> Iterable[Diagnostic]: ...


@dataclass(frozen=True)
class LintRule:
    """A ``Rule`` made of a function: ``LintRule("my-rule", "what it finds", check)`` with
    ``check(model, ctx)``. ``needs_fs``: the rule looks at the filesystem, and is skipped
    with ``--no-fs``. ``help_uri`` defaults to the rule's entry in docs/rules.md."""

    id: str
    summary: str
    run: Callable[[Config, LintContext], Iterable[Diagnostic]]
    needs_fs: bool = False
    severity: Severity = "warning"
    help_uri: str = ""

    def __post_init__(self) -> None:
        if not self.help_uri:
            from framework.config.rules import rule_url

            object.__setattr__(self, "help_uri", rule_url(self.id))

    def check(self, model: Config, ctx: LintContext) -> Iterable[Diagnostic]:
        """The rule's findings for ``model``."""
        return self.run(model, ctx)


def warn(
    rule: str,
    message: str,
    node: Directive | None,
    span: Span | None = None,
    hint: str | None = None,
    severity: Severity = "warning",
) -> Diagnostic:
    """A diagnostic at ``span`` (default: the whole of ``node``) with ``node``'s include
    chain."""
    chain = node.include_chain if node is not None else ()
    where = span if span is not None else (node.span if node is not None else None)
    return Diagnostic(severity, rule, message, where, hint, chain)


def served_dir(loc: LocationConfig) -> Path:
    """The directory a location's URIs map into (alias, or root + the literal prefix)."""
    if loc.alias is not None:
        return loc.alias
    if loc.modifier in ("", "^~", "=") and loc.pattern.startswith("/"):
        prefix = loc.pattern if loc.pattern.endswith("/") else loc.pattern.rsplit("/", 1)[0]
        return Path(os.path.normpath(str(loc.root) + prefix))
    return loc.root
