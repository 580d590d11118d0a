"""WebSocket limits (``websocket_max_message_size``, ``websocket_idle_timeout``,
``websocket_ping_interval``): their rows of the directive table, their value parsers and the
``LocationConfig`` fields they fill. This module must not import ``framework.config.models``,
which mixes ``WebSocketFields`` in.

They apply to the WebSocket sessions accepted in a location (``request.accept_websocket``
and ASGI ``websocket`` apps); nginx has no such directives (its WebSocket limits are the
proxy's ``proxy_read_timeout``), so the defaults are those of common Python servers."""

from __future__ import annotations

from config_grammar.tree import Directive
from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec, ParseContext, first_arg, spec
from framework.config.values import ValueProblem, parse_size, parse_time

MAX_MESSAGE_SIZE = 1024 * 1024  # 1m, as uvicorn's ws_max_size and websockets' max_size
IDLE_TIMEOUT = 60.0  # as nginx's proxy_read_timeout for a proxied WebSocket
PING_INTERVAL = 20.0  # as uvicorn's ws_ping_interval


class WebSocketFields(Model):
    """The ``LocationConfig`` fields of the WebSocket directives."""

    websocket_max_message_size: int = MAX_MESSAGE_SIZE
    """Largest message (after permessage-deflate inflation) accepted; 0 = unlimited.
    A bigger one closes the connection with 1009."""
    websocket_idle_timeout: float = IDLE_TIMEOUT
    """A session that receives nothing (no frame, not even a pong) this long is closed
    with 1001; 0 = never."""
    websocket_ping_interval: float = PING_INTERVAL
    """Seconds between server pings (their pongs keep a live client from idling out);
    0 = no pings."""


def _max_message_size(d: Directive, _: ParseContext) -> int:
    return parse_size(first_arg(d), d.name)


def _idle_timeout(d: Directive, _: ParseContext) -> float:
    return parse_time(first_arg(d), d.name)


def _ping_interval(d: Directive, _: ParseContext) -> float:
    value = parse_time(first_arg(d), d.name)
    if 0 < value < 0.1:
        arg = first_arg(d)
        raise ValueProblem(
            "invalid-value",
            f'"{arg.value}" in "{d.name}" directive is too short',
            arg.span,
            "pings are meant for seconds (e.g. 20s), or 0 to send none",
        )
    return value


# fmt: off
SPECS: list[DirectiveSpec] = [
    spec("websocket_max_message_size", "HSL", "websocket_max_message_size SIZE;",
         parse=_max_message_size, scope="location", field="websocket_max_message_size",
         default="1m", summary="largest WebSocket message accepted (0 = no limit; else 1009)"),
    spec("websocket_idle_timeout", "HSL", "websocket_idle_timeout TIME;", parse=_idle_timeout,
         scope="location", field="websocket_idle_timeout", default="60s",
         summary="close a WebSocket that received nothing this long with 1001 (0 = never)"),
    spec("websocket_ping_interval", "HSL", "websocket_ping_interval TIME;",
         parse=_ping_interval, scope="location", field="websocket_ping_interval",
         default="20s", summary="seconds between server pings on a WebSocket (0 = none)"),
]
# fmt: on

__all__ = ["SPECS", "WebSocketFields"]
