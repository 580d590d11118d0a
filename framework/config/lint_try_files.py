"""Lint about ``try_files`` not being inherited (nginx's rule, which webserv follows).

- ``try-files-unreachable`` (warning): a server-level ``try_files`` in a server that has a
  ``location /``. A server's ``try_files`` applies only to requests that no location matches,
  and ``location /`` matches them all, so it never runs; the usual intent is to put it in
  ``location /``.
"""

from __future__ import annotations

from collections.abc import Iterator

from config_grammar.diagnostics import Diagnostic
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config


def check_unreachable_try_files(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    for server in ctx.config.servers:
        if server.context.try_files is None:
            continue
        catch_all = any(
            loc.modifier in ("", "^~") and loc.pattern == "/" for loc in server.locations
        )
        if not catch_all:
            continue
        for d in ctx.own(server.span, "try_files"):
            yield warn(
                "try-files-unreachable",
                "this try_files never runs: a server's try_files applies only where no "
                'location matches, and "location /" matches every request',
                d,
                d.name_span,
                "move it into location / (try_files is not inherited by locations, as in nginx)",
            )


RULES: list[LintRule] = [
    LintRule(
        "try-files-unreachable",
        "a server-level try_files that location / makes unreachable (not inherited)",
        check_unreachable_try_files,
    ),
]
