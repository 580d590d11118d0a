"""WebSocket limits (``websocket_max_message_size``, idle timeout...): their rows of the
directive table, their value parsers and the ``LocationConfig`` fields they fill. This module
must not import ``framework.config.models``, which mixes ``WebSocketFields`` in."""

from __future__ import annotations

from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec


class WebSocketFields(Model):
    """The ``LocationConfig`` fields of the WebSocket directives."""


SPECS: list[DirectiveSpec] = []

__all__ = ["SPECS", "WebSocketFields"]
