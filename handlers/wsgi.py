"""``wsgi MODULE:ATTR;``: a WSGI app answering the requests of its location.

It is the ASGI handler with another ``load_app``: the app is wrapped in
``BoundedWSGIMiddleware`` (``handlers/wsgi_bridge.py``, on ``a2wsgi``) and runs in a pool
of at most ``DEFAULT_THREADS`` threads per app and worker, the one place webserv uses threads:
WSGI is blocking by design, so each request in progress needs a thread. The request body
streams into ``wsgi.input`` as the app reads it (with the engine's backpressure), the
response streams out as the app yields it (a bounded queue between the thread and the
loop), and the location's ``asgi_root_path`` becomes ``SCRIPT_NAME``. No lifespan: WSGI
has none. A request first waits on the loop for a free thread (503 past the pool's
backlog), and a WebSocket handshake is served as plain HTTP (a WSGI app cannot accept one).
"""

from __future__ import annotations

from framework.asgi.lifespan import LifespanMode
from framework.asgi.loader import ASGIApp, load_target
from framework.asgi.scope import request_scope
from framework.config.directives_apps import AppTarget
from framework.config.models import LocationConfig
from framework.handler import CallNext
from framework.http.errors import HTTPError
from framework.http.request import Request
from framework.http.response import Response
from framework.registry import registry
from handlers.asgi import AsgiHandler
from handlers.wsgi_bridge import DEFAULT_THREADS, RETRY_AFTER, BoundedWSGIMiddleware


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

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        """Every request is plain HTTP to a WSGI app, a WebSocket handshake included (the app
        cannot accept one: it answers it as it sees fit). The request first waits here for
        a free thread: a client leaving meanwhile only cancels the wait, and past the
        pool's backlog the answer is 503 with ``Retry-After``."""
        app = self.app
        if not isinstance(app, BoundedWSGIMiddleware):
            return await super().handle(request, call_next)
        if not await app.acquire():
            raise HTTPError(503, "WSGI pool busy", headers={"Retry-After": RETRY_AFTER})
        try:
            scope, _ = request_scope(request, self.root_path, self.state)
        except BaseException:
            app.slots.release()  # the thread held for it will not be used
            raise
        return await self.respond(request, scope, app.serve)

    async def shutdown(self) -> None:
        """The last location using the app stops its pool (threads still in the app are
        daemons: they cannot hold the worker's exit)."""
        host = self.host
        await super().shutdown()
        if host is not None and host.users == 0 and isinstance(host.app, BoundedWSGIMiddleware):
            host.app.close()


registry.register(WsgiHandler)
