"""``proxy_pass URL;``: the requests of the location are forwarded to an upstream server."""

from __future__ import annotations

from framework.config.models import LocationConfig
from framework.handler import Handler
from framework.registry import registry


class ProxyHandler(Handler):
    """Not built yet: enabled nowhere."""

    name = "proxy"

    @classmethod
    def from_location(cls, location: LocationConfig) -> ProxyHandler | None:
        """Enabled where the location configures it."""
        return None


registry.register(ProxyHandler)
