"""``asgi MODULE:ATTR;``: an ASGI 3 app (or a wrapped ASGI 2 app) answering the requests of
its location."""

from __future__ import annotations

from framework.config.models import LocationConfig
from framework.handler import Handler
from framework.registry import registry


class AsgiHandler(Handler):
    """Not built yet: enabled nowhere."""

    name = "asgi"

    @classmethod
    def from_location(cls, location: LocationConfig) -> AsgiHandler | None:
        """Enabled where the location configures it."""
        return None


registry.register(AsgiHandler)
