"""``wsgi MODULE:ATTR;``: a WSGI app answering the requests of its location."""

from __future__ import annotations

from framework.config.models import LocationConfig
from framework.handler import Handler
from framework.registry import registry


class WsgiHandler(Handler):
    """Not built yet: enabled nowhere."""

    name = "wsgi"

    @classmethod
    def from_location(cls, location: LocationConfig) -> WsgiHandler | None:
        """Enabled where the location configures it."""
        return None


registry.register(WsgiHandler)
