"""Checks of ``proxy_pass`` and ``upstream`` blocks (nginx refuses most of these at startup).

Errors:
- ``duplicate-upstream``: two ``upstream`` blocks with one name.
- ``upstream-not-found``: ``proxy_pass http://NAME`` where NAME is no upstream and does not
  resolve (nginx: host not found in upstream); also a ``server`` name in an upstream.
- ``upstream-with-port``: ``proxy_pass http://NAME:PORT`` where NAME is an upstream.
- ``proxy-pass-uri-in-regex``: a URI part in a regex location's ``proxy_pass`` (nginx:
  cannot have URI part in location given by regular expression).

Warnings:
- ``proxy-timeout-zero``: a zero ``proxy_*_timeout`` (every attempt times out at once).
- ``upstream-keepalive-unused``: an upstream with ``keepalive`` proxied to without
  ``proxy_http_version 1.1`` and ``proxy_set_header Connection ""`` (nginx's recipe:
  otherwise every request closes its connection).
- ``proxy-upgrade-incomplete``: ``proxy_set_header Upgrade`` without HTTP/1.1 or without
  ``Connection "upgrade"``, so no tunnel can form.
- ``upstream-unused``: an upstream no ``proxy_pass`` names.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Directive
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config, LocationConfig, ServerConfig


def _resolves(host: str, port: int) -> bool:
    try:
        return bool(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    except (OSError, UnicodeError):
        return False


def _proxying(ctx: LintContext) -> Iterator[tuple[ServerConfig, LocationConfig, Directive]]:
    """Each location that writes ``proxy_pass``, with the directive."""
    for server, loc in ctx.scopes():
        for d in ctx.own(ctx.block_span(server, loc), "proxy_pass"):
            if loc.proxy_pass is not None:
                yield server, loc, d


def check_duplicate_upstreams(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    seen: dict[str, Directive] = {}
    for d in ctx.top_level("upstream"):
        name = d.args[0].value
        first = seen.get(name)
        if first is not None:
            yield warn(
                "duplicate-upstream",
                f'duplicate upstream "{name}"',
                d,
                d.args[0].span,
                f"first defined at {first.span}",
                severity="error",
            )
        else:
            seen[name] = d


def _rejected_upstreams(ctx: LintContext) -> set[str]:
    """Names of the upstream blocks the builder rejected (an error already reported)."""
    valid = set(map(id, ctx.top_level("upstream")))
    stack = [n for n in ctx.nodes if isinstance(n, Directive)]
    names: set[str] = set()
    while stack:
        node = stack.pop()
        if node.name == "http":
            stack += node.children
        elif node.name == "upstream" and node.args and id(node) not in valid:
            names.add(node.args[0].value)
    return names


def check_upstream_targets(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    rejected: set[str] | None = None
    for _server, loc, d in _proxying(ctx):
        proxy = loc.proxy_pass
        assert proxy is not None
        arg = d.args[0]
        if proxy.variables:
            continue
        if proxy.host in loc.upstreams:
            if proxy.port is not None:
                yield warn(
                    "upstream-with-port",
                    f'upstream "{proxy.host}" may not have port {proxy.port}',
                    d,
                    arg.span,
                    f"write proxy_pass http://{proxy.host}; the upstream's servers give the ports",
                    severity="error",
                )
            continue
        if not _resolves(proxy.host, proxy.port or 80):
            if rejected is None:
                rejected = _rejected_upstreams(ctx)
            if proxy.host not in rejected:  # a rejected upstream block has its own error
                names = ", ".join(sorted(loc.upstreams)) or "none defined"
                yield warn(
                    "upstream-not-found",
                    f'host not found in upstream "{proxy.host}"',
                    d,
                    arg.span,
                    f"name an upstream block (upstreams: {names}) or a host that resolves",
                    severity="error",
                )
        if loc.modifier in ("~", "~*") and proxy.uri is not None:
            yield warn(
                "proxy-pass-uri-in-regex",
                '"proxy_pass" cannot have URI part in location given by regular expression',
                d,
                arg.span,
                "drop the URI part (the request URI is passed as is), or build it with "
                "variables: proxy_pass http://backend/new$uri;",
                severity="error",
            )


def check_upstream_servers(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    for d in ctx.top_level("upstream"):
        for entry in d.children:
            if entry.name != "server" or not entry.args:
                continue
            text = entry.args[0].value
            host, port = text, 80
            if text.startswith("["):
                continue  # an IPv6 literal (checked by the parser)
            if ":" in text:
                host, _, port_text = text.partition(":")
                port = int(port_text) if port_text.isdigit() else 80
            if not _resolves(host, port):
                yield warn(
                    "upstream-not-found",
                    f'host not found in upstream "{text}"',
                    entry,
                    entry.args[0].span,
                    "use an IP address or a name that resolves",
                    severity="error",
                )


def check_timeouts(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    names = ("proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout")
    for d in (
        ctx.top_level("proxy_connect_timeout")
        + ctx.top_level("proxy_read_timeout")
        + ctx.top_level("proxy_send_timeout")
    ):
        yield from _zero(d)
    for server, loc in ctx.scopes():
        for name in names:
            for d in ctx.own(ctx.block_span(server, loc), name):
                yield from _zero(d)


def _zero(d: Directive) -> Iterator[Diagnostic]:
    value = d.args[0].value
    if value.rstrip("smhd") in ("0", "0.0", "") and value[:1] == "0":
        yield warn(
            "proxy-timeout-zero",
            f"{d.name} of 0: every attempt times out at once",
            d,
            d.args[0].span,
            "give the upstream time, e.g. 60s (nginx's default)",
        )


def check_keepalive(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    warned: set[str] = set()
    for _server, loc, d in _proxying(ctx):
        proxy = loc.proxy_pass
        assert proxy is not None
        upstream = loc.upstreams.get(proxy.host)
        if upstream is None or not upstream.keepalive or upstream.name in warned:
            continue
        headers = {name.lower(): value for name, value in loc.proxy_set_header}
        if loc.proxy_http_version == "1.1" and headers.get("connection", "close") != "close":
            continue
        warned.add(upstream.name)
        yield warn(
            "upstream-keepalive-unused",
            f'upstream "{upstream.name}" has keepalive but this location closes every connection',
            d,
            d.args[0].span,
            'add `proxy_http_version 1.1;` and `proxy_set_header Connection "";` (as nginx needs)',
        )


def check_upgrade(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    for _server, loc, d in _proxying(ctx):
        headers = {name.lower(): value for name, value in loc.proxy_set_header}
        if "upgrade" not in headers:
            continue
        if loc.proxy_http_version != "1.1" or "upgrade" not in headers.get("connection", ""):
            yield warn(
                "proxy-upgrade-incomplete",
                "this location passes Upgrade but cannot tunnel",
                d,
                d.args[0].span,
                'add `proxy_http_version 1.1;` and `proxy_set_header Connection "upgrade";`',
            )


def check_unused_upstreams(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    used = set()
    dynamic = False
    for _server, loc, _d in _proxying(ctx):
        assert loc.proxy_pass is not None
        used.add(loc.proxy_pass.host)
        dynamic = dynamic or loc.proxy_pass.variables
    if dynamic:
        return
    for d in ctx.top_level("upstream"):
        if d.args[0].value not in used:
            yield warn(
                "upstream-unused",
                f'upstream "{d.args[0].value}" is not used',
                d,
                d.args[0].span,
                "name it in a proxy_pass, or remove it",
            )


RULES: list[LintRule] = [
    LintRule("duplicate-upstream", "two upstream blocks with one name",
             check_duplicate_upstreams, severity="error"),
    LintRule("upstream-not-found", "proxy_pass or an upstream server names an unknown host",
             check_upstream_targets, severity="error"),
    LintRule("upstream-server-not-found", "an upstream server's name does not resolve",
             check_upstream_servers, severity="error"),
    LintRule("proxy-timeout-zero", "a proxy timeout of 0", check_timeouts),
    LintRule("upstream-keepalive-unused", "keepalive without HTTP/1.1 and Connection \"\"",
             check_keepalive),
    LintRule("proxy-upgrade-incomplete", "Upgrade passed without what a tunnel needs",
             check_upgrade),
    LintRule("upstream-unused", "an upstream no proxy_pass names", check_unused_upstreams),
]  # fmt: skip
