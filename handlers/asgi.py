"""``asgi MODULE:ATTR;``: an ASGI 3 app (or a wrapped ASGI 2 app) answering the requests of
its location.

The app is imported in each worker at startup (``load_app``) and shared by every location
of the worker naming the same target (``framework.asgi.loader.AppHost``), together with its
lifespan. Each HTTP request and each WebSocket session runs the app in a task of its own,
as uvicorn does, in a fresh ``contextvars`` context: the app's timeouts, cancel scopes and
task-keyed state (``asyncio.current_task()``) are its own, never the connection's. The
handler returns the response as soon as the app has sent its first body message
(``framework.asgi.http.HttpCycle``); a task still running after its response (background
work) neither holds the connection nor is cancelled until the worker stops.
``WsgiHandler`` (``handlers/wsgi.py``) is this handler with another ``load_app``.
"""

from __future__ import annotations

import asyncio
from asyncio import get_running_loop
from contextvars import Context
from types import CoroutineType
from typing import Any

from framework.asgi.http import ABANDON_GRACE, HttpCycle, StreamBody, coroutine_of
from framework.asgi.lifespan import LifespanMode
from framework.asgi.loader import AppHost, ASGIApp, app_host, as_asgi3, load_target
from framework.asgi.scope import request_scope, websocket_scope
from framework.asgi.websocket import WebSocketCycle
from framework.config.directives_apps import AppTarget
from framework.config.models import LocationConfig
from framework.handler import CallNext, Handler, HandlerSettings
from framework.http.request import Request
from framework.http.response import Response
from framework.registry import registry
from framework.websocket import check_handshake, is_websocket_request, offered_subprotocols


class AsgiHandler(Handler[HandlerSettings]):
    """Runs the location's ASGI app (see the module docstring)."""

    name = "asgi"

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        target = self.target_of(location)
        assert target is not None
        self.target: AppTarget = target
        self.methods = None  # the app answers every method the location allows
        self.root_path = location.asgi_root_path
        self.host: AppHost | None = None
        self.app: ASGIApp = _not_started
        self.state: dict[str, Any] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def target_of(cls, location: LocationConfig) -> AppTarget | None:
        """The app directive this handler serves."""
        return location.asgi

    @classmethod
    def from_location(cls, location: LocationConfig) -> AsgiHandler | None:
        """Enabled where the app directive is written (never where it would be inherited)."""
        target = cls.target_of(location)
        if target is None or not target.declared_in(location.span):
            return None
        return cls(cls.Settings(), location)

    def load_app(self) -> ASGIApp:
        """The ASGI 3 app to run (overridden by the WSGI handler)."""
        return as_asgi3(load_target(self.target, self.location.asgi_app_dir))

    def lifespan_mode(self) -> LifespanMode:
        """Whether to run the app's lifespan (``asgi_lifespan``)."""
        return self.location.asgi_lifespan

    async def startup(self) -> None:
        host = app_host(
            self.name, self.target, self.location.asgi_app_dir, self.lifespan_mode(), self.load_app
        )
        await host.start()
        self.host = host
        self.app = host.app
        self.state = host.lifespan.state

    async def shutdown(self) -> None:
        """Cancel the app tasks still running (the worker let its connections finish, up
        to ``shutdown_timeout``, before it stops its handlers), wait a moment for them to
        end, and stop the app's lifespan if this was its last user."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=ABANDON_GRACE)
        host, self.host = self.host, None
        if host is not None:
            await host.stop()

    async def handle(self, request: Request, call_next: CallNext) -> Response:
        scope, upgrade = request_scope(request, self.root_path, self.state)
        if upgrade and is_websocket_request(request):
            return await self._websocket(request)
        return await self.respond(request, scope, self.app)

    async def respond(self, request: Request, scope: dict[str, Any], app: ASGIApp) -> Response:
        """Run ``app`` on the ``http`` ``scope`` of ``request`` in a task of its own and
        return its response once known (raises what the app raised before it: a 500)."""
        loop = get_running_loop()
        ready: asyncio.Future[Response] = loop.create_future()
        cycle = HttpCycle(request, ready, self.tasks)
        call = app(scope, cycle.receive, cycle.send)
        if call.__class__ is not CoroutineType:  # an awaitable object: a task needs a coroutine
            call = coroutine_of(call)
        # a fresh context, as a task the server started would have: nothing of the engine's
        task = cycle.task = loop.create_task(call, context=Context())  # type: ignore[arg-type]
        self.tasks.add(task)
        task.add_done_callback(cycle.app_done)
        try:
            response = await ready
        except asyncio.CancelledError:
            cycle.abandon()
            raise
        except BaseException:
            if cycle.body_error is not None:
                raise cycle.body_error from None  # a 413 whatever the app made of it
            raise
        if cycle.body_error is not None and response.body.__class__ is not StreamBody:
            raise cycle.body_error
        return response

    async def _websocket(self, request: Request) -> Response:
        check_handshake(request)  # the app sees valid handshakes only (else 400/426)
        cycle = WebSocketCycle(request)
        scope = websocket_scope(request, self.root_path, self.state, offered_subprotocols(request))
        task = asyncio.get_running_loop().create_task(
            self._run_websocket(cycle, scope), context=Context()
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        try:
            return await cycle.response()
        except asyncio.CancelledError:
            if not cycle.accepted:  # once accepted, the app hears websocket.disconnect
                task.cancel()
            raise

    async def _run_websocket(self, cycle: WebSocketCycle, scope: dict[str, Any]) -> None:
        try:
            await self.app(scope, cycle.receive, cycle.send)
        except BaseException as exc:  # noqa: BLE001 - a 500, or a 1011 close once accepted
            cycle.app_finished(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        cycle.app_finished(None)


async def _not_started(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("the ASGI handler has not started")


registry.register(AsgiHandler)
