"""``Application``: the per-config request pipeline, built once at startup (and on reload).

``route(request)`` picks the virtual server (local address, then ``Host``) and the location.
``respond(request)`` runs the location's handler chain, compiled once per location in the
order return -> ``handler`` entries -> upload -> cgi -> static -> autoindex, and turns
``HTTPError`` into ``error_page`` internal redirects or built-in pages, follows
``InternalRedirect`` (capped), and turns any other exception into a logged 500.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Awaitable, Callable, Iterator

from framework.config.models import Config, LocationConfig, ServerConfig
from framework.handler import Handler
from framework.http.errorpage import builtin_error_response
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.request import Request
from framework.http.response import Response
from framework.logs import AccessLog, AccessLogs, error_log
from framework.registry import registry
from framework.routing.locations import LocationMatcher
from framework.routing.paths import normalize_target
from framework.routing.servers import ServerSelector

MAX_REDIRECTS = 10
_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE)
BUILTIN_CHAIN = ("upload", "cgi", "static", "autoindex")

Endpoint = Callable[[Request], Awaitable[Response]]


class _Chain:
    """One location's compiled handler chain."""

    __slots__ = ("handlers", "entry", "allow", "allow_header", "access_log")

    def __init__(
        self, handlers: list[Handler], location: LocationConfig, access_log: AccessLog | None
    ) -> None:
        self.handlers = handlers
        self.access_log = access_log
        allowed = location.allow_methods
        self.allow_header = ", ".join(sorted(allowed))
        served: set[str] = set()
        for h in handlers:
            served |= h.methods or frozenset()
        self.allow = ", ".join(sorted(served & set(allowed)))
        terminal = _terminal(frozenset(served & set(allowed)), self.allow)
        entry: Endpoint = terminal
        for handler in reversed(handlers):
            entry = _link(handler, entry)
        self.entry = entry


def _link(handler: Handler, call_next: Endpoint) -> Endpoint:
    handle = handler.handle

    def call(request: Request) -> Awaitable[Response]:
        return handle(request, call_next)

    return call


def _terminal(served: frozenset[str], allow: str) -> Endpoint:
    async def nothing_handled(request: Request) -> Response:
        if served and request.method not in served:
            raise HTTPError(405, headers={"Allow": allow})
        raise HTTPError(404)

    return nothing_handled


def _builtins(names: tuple[str, ...], location: LocationConfig) -> list[Handler]:
    """The built-in handlers among ``names`` that ``location`` enables (each class's
    ``from_location`` decides, e.g. cgi only where a ``cgi`` rule is set)."""
    made = []
    for name in names:
        factory = getattr(registry.get(name), "from_location", None)
        handler = factory(location) if factory is not None else None
        if handler is not None:
            made.append(handler)
    return made


def _error_response(exc: HTTPError) -> Response:
    """The built-in page for ``exc`` (no ``error_page`` applies), with its headers."""
    response = builtin_error_response(exc.status, exc.headers)
    if exc.close:
        response.headers["Connection"] = "close"
    return response


def _iter_locations(server: ServerConfig) -> Iterator[LocationConfig]:
    yield server.context
    stack = list(server.locations)
    while stack:
        loc = stack.pop()
        yield loc
        stack.extend(loc.children)


class Application:
    """Routing, handler chains and error handling for one validated ``Config``."""

    def __init__(self, config: Config) -> None:
        import handlers  # noqa: F401 - registers the built-in handlers

        for module in config.load_modules:
            registry.load_module(module)
        self.config = config
        self.selector = ServerSelector(config)
        self.access_logs = AccessLogs()
        self._matchers: dict[int, LocationMatcher] = {}
        self._chains: dict[int, _Chain] = {}
        self._handlers: list[Handler] = []
        self.inflight = 0
        self.on_idle: asyncio.Future[None] | None = None  # set when inflight drops to 0
        for server in config.servers:
            self._matchers[id(server)] = LocationMatcher(server)
            for loc in _iter_locations(server):
                if id(loc) not in self._chains:
                    self._chains[id(loc)] = self._compile(loc)

    def _compile(self, location: LocationConfig) -> _Chain:
        chain = _builtins(("redirect",), location)
        for spec in location.handlers:
            cls = registry.get(spec.name)
            if cls is None:
                raise RuntimeError(f'unknown handler "{spec.name}"')
            settings = spec.settings if spec.settings is not None else cls.Settings()
            chain.append(cls(settings, location))
        chain += _builtins(BUILTIN_CHAIN, location)
        self._handlers.extend(chain)
        return _Chain(chain, location, self.access_logs.get(location.access_log))

    # -- lifecycle ------------------------------------------------------------------------------
    async def startup(self) -> None:
        """Run every handler's ``startup`` hook."""
        for handler in self._handlers:
            await handler.startup()

    async def shutdown(self) -> None:
        """Run every handler's ``shutdown`` hook (errors are logged) and flush the logs."""
        for handler in self._handlers:
            try:
                await handler.shutdown()
            except Exception:  # noqa: BLE001
                error_log.exception("shutdown of handler %s failed", handler.name)
        self.access_logs.close()

    # -- routing ---------------------------------------------------------------------------------
    def default_server(self, local: tuple[str, int]) -> ServerConfig:
        """The default server of a listening address (for connection-level limits)."""
        return self.selector.default_for(local)

    def route(self, request: Request) -> None:
        """Set ``request.server_config`` and ``request.location``."""
        server = self.selector.select(request.server, request.host)
        request.server_config = server
        request.location = self._matchers[id(server)].match(request.path)

    # -- responding ------------------------------------------------------------------------------
    async def respond(self, request: Request) -> Response:
        """The response for ``request``; never raises (except ``CancelledError``)."""
        self.inflight += 1
        try:
            return await self._respond(request)
        except asyncio.CancelledError:
            raise
        except OSError as exc:
            if exc.errno not in _OUT_OF_FDS:
                error_log.exception(
                    "unhandled error answering %s %s", request.method, request.target
                )
                return builtin_error_response(500)
            # a resource shortage, not a missing file nor a bug: retryable, one line
            error_log.error(
                "%s while answering %s %s", exc.strerror, request.method, request.target
            )
            response = builtin_error_response(503)
            response.headers["Retry-After"] = "1"
            return response
        except Exception:  # noqa: BLE001 - anything is a 500, the server keeps serving
            error_log.exception("unhandled error answering %s %s", request.method, request.target)
            return builtin_error_response(500)
        finally:
            self.inflight -= 1
            if not self.inflight and self.on_idle is not None:
                if not self.on_idle.done():
                    self.on_idle.set_result(None)
                self.on_idle = None

    async def respond_error(self, request: Request, status: int) -> Response:
        """The answer to an engine-level error on a routed request (e.g. 413 decided from
        Content-Length): its ``error_page`` if configured, else the built-in page; always
        with ``Connection: close``. Never raises (except ``CancelledError``)."""
        response: Response | None = None
        if request.location is not None and status in request.location.error_pages:
            try:
                response = await self._respond(request, HTTPError(status, close=True))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                error_log.exception("error page for %d failed", status)
        if response is None:
            response = builtin_error_response(status)
        response.headers["Connection"] = "close"
        return response

    async def _respond(self, request: Request, initial: HTTPError | None = None) -> Response:
        error_status = 0  # set while serving an error_page
        while True:
            try:
                if initial is not None:
                    exc, initial = initial, None
                    raise exc
                if request.location is None:
                    self.route(request)
                location = request.location
                assert location is not None
                if request.method not in location.allow_methods:
                    raise HTTPError(405, headers={"Allow": self._chain(location).allow_header})
                response = await self._chain(location).entry(request)
                if error_status:
                    return self._error_page_result(response, request, error_status)
                return response
            except InternalRedirect as redirect:
                self._follow(request, redirect.uri, redirect.method)
            except HTTPError as exc:
                if error_status:  # the error page itself failed: built-in page
                    return self._builtin(error_status, request)
                uri, override = self._error_page_for(request, exc.status)
                if uri is None or request.redirects >= MAX_REDIRECTS:
                    return _error_response(exc)
                if uri.startswith(("http://", "https://")):
                    return Response(302, b"", {"Location": uri})
                error_status = override or exc.status
                request.state["error_status"] = exc.status
                request.state["error_close"] = exc.close
                self._follow(request, uri, "GET" if request.method != "HEAD" else "HEAD")

    def _chain(self, location: LocationConfig) -> _Chain:
        chain = self._chains.get(id(location))
        if chain is None:  # a location object built after startup (e.g. a copied model)
            chain = self._chains[id(location)] = self._compile(location)
        return chain

    def _follow(self, request: Request, uri: str, method: str | None) -> None:
        request.redirects += 1
        if request.redirects > MAX_REDIRECTS:
            error_log.error("rewrite or internal redirection cycle while processing %s", uri)
            raise HTTPError(500)
        path, query = normalize_target(uri)
        request.path = path
        if "?" in uri:
            request.query = query
        if method:
            request.method = method
        request.location = None

    @staticmethod
    def _error_page_for(request: Request, status: int) -> tuple[str | None, int | None]:
        location = request.location
        if location is None:
            return None, None
        page = location.error_pages.get(status)
        if page is None:
            return None, None
        return page.uri, page.status_override

    def _error_page_result(self, response: Response, request: Request, status: int) -> Response:
        if response.status >= 300 and response.status != 304:
            if 300 <= response.status < 400:
                return response
            return self._builtin(status, request)
        response.status = status
        response.reason = None
        if request.state.get("error_close"):
            response.headers["Connection"] = "close"
        return response

    def _builtin(self, status: int, request: Request) -> Response:
        response = builtin_error_response(status)
        if request.state.get("error_close"):
            response.headers["Connection"] = "close"
        return response

    def error_response(self, request: Request | None, status: int) -> Response:
        """The answer to an engine-level error (400/408/413/414/431/501/505): the built-in
        page, with ``Connection: close``."""
        response = builtin_error_response(status)
        response.headers["Connection"] = "close"
        return response

    # -- logging ---------------------------------------------------------------------------------
    def log_access(self, request: Request, status: int, sent: int) -> None:
        """Append the request to its location's access log (if any)."""
        location = request.location
        if location is None:
            server = request.server_config
            if server is None:
                try:
                    server = self.selector.default_for(request.server)
                except Exception:  # noqa: BLE001
                    return
            location = server.context
        chain = self._chains.get(id(location))
        log = chain.access_log if chain is not None else self.access_logs.get(location.access_log)
        if log is not None:
            log.log(request, status, sent)
