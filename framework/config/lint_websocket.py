"""Lint for the WebSocket limits.

- ``websocket-ping-not-below-idle``: with ``websocket_ping_interval`` at or above
  ``websocket_idle_timeout``, the first ping comes too late for its pong to count as
  activity: a quiet but live client is closed (1001) at the idle timeout.
"""

from __future__ import annotations

from collections.abc import Iterator

from config_grammar.diagnostics import Diagnostic
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config

PING_NOT_BELOW_IDLE = "websocket-ping-not-below-idle"
_NAMES = ("websocket_ping_interval", "websocket_idle_timeout")


def check_ping_below_idle(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    reported: set[int] = set()
    for server, loc in ctx.scopes():
        ping, idle = loc.websocket_ping_interval, loc.websocket_idle_timeout
        if not ping or not idle or ping < idle:
            continue
        d = ctx.written(server, loc, _NAMES)
        if d is None or id(d) in reported:
            continue
        reported.add(id(d))
        yield warn(
            PING_NOT_BELOW_IDLE,
            f"websocket_ping_interval ({ping:g}s) is not below websocket_idle_timeout "
            f"({idle:g}s): a quiet client is closed before a ping can keep it alive",
            d,
            d.span,
            "ping more often than the idle timeout (e.g. 20s pings with a 60s timeout), "
            "or set websocket_ping_interval 0 if quiet clients should be closed",
        )


RULES = [
    LintRule(
        PING_NOT_BELOW_IDLE,
        "websocket_ping_interval at or above websocket_idle_timeout",
        check_ping_below_idle,
    ),
]
