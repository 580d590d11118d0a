"""Lint for response headers: ``add_header-redefinition`` (gixy's add_header_redefinition).

A level (server or location) that writes any ``add_header`` replaces every ``add_header`` it
would inherit: a location that adds ``Cache-Control`` silently drops the server's
``X-Frame-Options`` and ``Content-Security-Policy``. The warning sits on the inner level's
first ``add_header``, names the dropped headers and where they were set.
"""

from __future__ import annotations

from collections.abc import Iterator

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Span
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config

RULE = "add_header-redefinition"
HINT = (
    "a level that sets add_header replaces all the add_header it would inherit: repeat the "
    "dropped ones here, or move the shared ones into a snippet file that every level "
    "includes (include snippets/security-headers.inc;)"
)


def _described(dropped: list[tuple[str, Span | None]]) -> str:
    """``"X-A" (set at file:line:col), "X-B" (...)``, each name once."""
    first: dict[str, tuple[str, Span | None]] = {}
    for name, span in dropped:
        first.setdefault(name.lower(), (name, span))
    return ", ".join(
        f'"{name}" (set at {span})' if span is not None else f'"{name}"'
        for name, span in first.values()
    )


def check_add_header_redefinition(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    top: list[tuple[str, Span | None]] = [
        (d.args[0].value, d.span) for d in ctx.top_level("add_header")
    ]
    for server, loc in ctx.scopes():
        own = ctx.own(ctx.block_span(server, loc), "add_header")
        if not own:
            continue
        inherited: list[tuple[str, Span | None]]
        if loc is server.context:
            inherited = top
        else:
            parent = ctx.parents.get(id(loc), server.context)
            inherited = [(h.name, h.span) for h in parent.add_headers]
        kept = {d.args[0].value.lower() for d in own}
        dropped = [(name, span) for name, span in inherited if name.lower() not in kept]
        if not dropped:
            continue
        where = "this server" if loc is server.context else "this location"
        yield warn(
            RULE,
            f'"add_header" in {where} drops the inherited {_described(dropped)}',
            own[0],
            own[0].span,
            HINT,
        )


RULES = [
    LintRule(
        RULE,
        "a level's add_header silently drops the ones it would inherit",
        check_add_header_redefinition,
    ),
]
