"""Lints for compression.

- ``precompressed-without-vary``: ``gzip_static on`` / ``brotli_static on`` answer the same
  URL with different bytes depending on ``Accept-Encoding``; without ``gzip_vary on`` no
  ``Vary`` tells a shared cache, which may then hand the compressed copy to a client that
  cannot decode it (``always`` sends one version to everyone and needs no ``Vary``).
- ``gzip-types-text-html``: ``text/html`` is always compressed; nginx warns about it
  (duplicate MIME type).
"""

from __future__ import annotations

from collections.abc import Iterator

from config_grammar.diagnostics import Diagnostic
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config

NO_VARY = "precompressed-without-vary"
TEXT_HTML = "gzip-types-text-html"


def check_precompressed_without_vary(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    reported: set[int] = set()
    for server, loc in ctx.scopes():
        if loc.gzip_vary:
            continue
        for name in ("gzip_static", "brotli_static"):
            if getattr(loc, name) != "on":
                continue
            d = ctx.written(server, loc, (name,))
            if d is None or id(d) in reported:
                continue
            reported.add(id(d))
            yield warn(
                NO_VARY,
                f'"{name} on" without "gzip_vary on": caches are not told that the answer '
                "depends on Accept-Encoding",
                d,
                d.span,
                "add `gzip_vary on;` where this is set (or use `always` when every client "
                "gets the compressed file)",
            )


def check_text_html_in_gzip_types(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    seen: set[int] = set()
    found = list(ctx.top_level("gzip_types"))
    for server, loc in ctx.scopes():
        found += ctx.own(ctx.block_span(server, loc), "gzip_types")
    for d in found:
        if id(d) in seen:
            continue
        seen.add(id(d))
        for arg in d.args:
            if arg.value.lower() == "text/html":
                yield warn(
                    TEXT_HTML,
                    'duplicate MIME type "text/html" in "gzip_types" directive',
                    d,
                    arg.span,
                    "text/html is always compressed: drop it from the list",
                )


RULES = [
    LintRule(
        NO_VARY, "gzip_static/brotli_static on without gzip_vary", check_precompressed_without_vary
    ),  # fmt: skip
    LintRule(
        TEXT_HTML,
        "text/html listed in gzip_types (always compressed)",
        check_text_html_in_gzip_types,
    ),  # fmt: skip
]
