"""``wsgi MODULE:ATTR;``: a WSGI app answering the requests of its location.

It is the ASGI handler with another ``load_app``: the app is wrapped in
``BoundedWSGIMiddleware`` (``handlers/wsgi_bridge.py``, on ``a2wsgi``) and runs in a pool
of at most ``DEFAULT_THREADS`` threads per app and worker, the one place webserv uses threads:
WSGI is blocking by design, so each request in progress needs a thread. The request body
streams into ``wsgi.input`` as the app reads it (with the engine's backpressure), the
response streams out as the app yields it (a bounded queue between the thread and the
loop), and the location's ``asgi_root_path`` becomes ``SCRIPT_NAME``. No lifespan: WSGI
has none.
"""

from __future__ import annotations

from framework.asgi.lifespan import LifespanMode
from framework.asgi.loader import ASGIApp, load_target
from framework.config.directives_apps import AppTarget
from framework.config.models import LocationConfig
from framework.registry import registry
from handlers.asgi import AsgiHandler
from handlers.wsgi_bridge import DEFAULT_THREADS, BoundedWSGIMiddleware


class WsgiHandler(AsgiHandler):
    """Runs the location's WSGI app in the worker's bounded thread pool."""

    name = "wsgi"

    @classmethod
    def target_of(cls, location: LocationConfig) -> AppTarget | None:
        """The ``wsgi`` directive's target."""
        return location.wsgi

    def load_app(self) -> ASGIApp:
        """The WSGI app behind the ASGI bridge and its thread pool."""
        app = load_target(self.target, self.location.asgi_app_dir)
        return BoundedWSGIMiddleware(app, DEFAULT_THREADS, name=f"wsgi {self.target.text}")

    def lifespan_mode(self) -> LifespanMode:
        """WSGI has no lifespan."""
        return "off"

    async def shutdown(self) -> None:
        """The last location using the app stops its pool (threads still in the app are
        daemons: they cannot hold the worker's exit)."""
        host = self.host
        await super().shutdown()
        if host is not None and host.users == 0 and isinstance(host.app, BoundedWSGIMiddleware):
            host.app.close()


registry.register(WsgiHandler)
