"""Lints for proxy awareness: ``set_real_ip_from`` ranges written with host bits set
(nginx 1.22 warns "low address bits of 10.0.0.1/8 are meaningless" and trusts the whole
range), and ``real_ip_header`` or ``real_ip_recursive`` set where no proxy is trusted."""

from __future__ import annotations

from collections.abc import Iterator

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Directive
from framework.config.directives_realip import parse_trusted_source
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config, LocationConfig


def _directives(ctx: LintContext, name: str) -> Iterator[Directive]:
    stack = [n for n in ctx.nodes if isinstance(n, Directive)]
    while stack:
        node = stack.pop()
        if node.name == name and ctx.valid(node):
            yield node
        stack.extend(node.children)


def _trusts(loc: LocationConfig) -> bool:
    """Whether ``loc`` or a location nested in it has a ``set_real_ip_from``."""
    return bool(loc.set_real_ip_from) or any(_trusts(child) for child in loc.children)


def check_low_address_bits(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """A range like ``10.0.0.1/8`` means ``10.0.0.0/8``: probably not what was meant."""
    for d in _directives(ctx, "set_real_ip_from"):
        text = d.args[0].value
        parsed = parse_trusted_source(text)
        if parsed is None or parsed[1]:
            continue
        network = parsed[0]
        yield warn(
            "low-address-bits",
            f"low address bits of {text} are meaningless",
            d,
            d.args[0].span,
            f"this trusts all of {network}; write {network}, or the address alone to "
            "trust one host",
        )


def check_real_ip_without_trust(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``real_ip_header``/``real_ip_recursive`` where no ``set_real_ip_from`` applies do
    nothing: the client stays the TCP peer."""
    for server, loc in ctx.scopes():
        inner = server.locations if loc is server.context else loc.children
        if loc.set_real_ip_from or any(_trusts(child) for child in inner):
            continue
        span = ctx.block_span(server, loc)
        for name in ("real_ip_header", "real_ip_recursive"):
            for d in ctx.own(span, name):
                yield warn(
                    "real-ip-untrusted",
                    f'"{name}" has no effect: no "set_real_ip_from" applies here',
                    d,
                    d.name_span,
                    "add set_real_ip_from with the address of your proxy or load balancer",
                )


RULES: list[LintRule] = [
    LintRule(
        "low-address-bits",
        "set_real_ip_from range with host bits set (the whole range is trusted)",
        check_low_address_bits,
    ),
    LintRule(
        "real-ip-untrusted",
        "real_ip_header or real_ip_recursive where no set_real_ip_from applies",
        check_real_ip_without_trust,
    ),
]
