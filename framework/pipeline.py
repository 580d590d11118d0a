"""``Application``: the per-config request pipeline, built once at startup (and on reload).

``route(request)`` picks the virtual server (local address, then ``Host``) and the location.
``respond(request)`` runs the location's handler chain, compiled once per location in the
order of ``FRONT_CHAIN`` (output filters, return, access checks) -> ``handler`` entries ->
``BUILTIN_CHAIN`` (try_files, upload, cgi, proxy, asgi, wsgi, static, autoindex). Every outcome of
the chain is a ``Response``: ``call_next`` turns an ``HTTPError`` (or a failure, a logged
500) into an ``ErrorResponse`` where it is raised, so wrapping handlers see errors too. The
location's ``on_response`` hooks then see the final response (also one decided before the
chain: 405, 413), and ``error_page`` replaces the body of an ``ErrorResponse``, keeping its
other headers. ``InternalRedirect`` is followed (capped).
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Awaitable, Callable, Iterator

from config_grammar.tree import Span
from framework.config.models import Config, LocationConfig, ServerConfig
from framework.config.plugin_checks import one_line_reason
from framework.handler import Handler
from framework.http.errorpage import ErrorResponse, builtin_error_response
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.headers import Headers
from framework.http.realip import apply_real_ip
from framework.http.request import Request
from framework.http.response import Response
from framework.http.tunnel import Tunnel, Upgrade
from framework.http.variables import expand_uri
from framework.logs import AccessLog, AccessLogs, error_log
from framework.registry import registry
from framework.routing.locations import LocationMatcher, matcher_for
from framework.routing.paths import normalize_target
from framework.routing.servers import ServerSelector
from framework.routing.urls import redirect_url

MAX_REDIRECTS = 10
_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE)
# nginx's phase order: output filters (they only implement ``on_response``, so their place
# among the hooks is what counts), then ``return`` (rewrite phase), then access checks,
# then user handlers, then the content handlers
FRONT_CHAIN = ("headers", "gzip", "redirect", "access", "auth_basic")
ACCESS_CHECKS = frozenset({"access", "auth_basic"})  # they run before a 405, as in nginx
BUILTIN_CHAIN = (
    "try_files",
    "upload",
    "cgi",
    "proxy",
    "asgi",
    "wsgi",
    "static",
    "autoindex",
)
# what an error_page replaces of the error response it answers for: the body and these
# (every other header of the error is kept: WWW-Authenticate, Allow, Retry-After, ...)
CONTENT_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "content-language",
        "content-location",
        "content-range",
        "transfer-encoding",
        "etag",
        "last-modified",
        "accept-ranges",
    }
)

Endpoint = Callable[[Request], Awaitable[Response]]
Hook = Callable[[Request, Response], Awaitable[None]]


class _Chain:
    """One location's compiled handler chain.

    ``allow`` is the one ``Allow`` value of the location: the methods it allows that some
    handler of the chain answers (a handler with ``methods = None`` answers them all).
    ``hooks`` are the ``on_response`` hooks of the handlers that define one.
    ``not_allowed`` answers a method the location does not allow: its access checks first
    (nginx answers an unauthenticated PUT with 401, not 405), then 405 with ``Allow``."""

    __slots__ = (
        "handlers",
        "entry",
        "allow",
        "hooks",
        "return_first",
        "access_log",
        "not_allowed",
    )

    def __init__(
        self, handlers: list[Handler], location: LocationConfig, access_log: AccessLog | None
    ) -> None:
        self.handlers = handlers
        self.access_log = access_log
        allowed = frozenset(location.allow_methods)
        served: set[str] = set()
        for h in handlers:
            served |= h.methods if h.methods is not None else allowed
        answered = frozenset(served & allowed)
        self.allow = ", ".join(sorted(answered or allowed))
        # nginx runs `return` in its rewrite phase, before any method restriction
        self.return_first = any(h.name == "redirect" for h in handlers)
        self.hooks: tuple[Hook, ...] = tuple(
            h.on_response for h in handlers if type(h).on_response is not Handler.on_response
        )
        entry: Endpoint = _terminal(answered, self.allow)
        for handler in reversed(handlers):
            entry = _link(handler, entry)
        self.entry = entry
        refuse: Endpoint = _method_not_allowed(self.allow)
        for handler in reversed(handlers):
            if handler.name in ACCESS_CHECKS:
                refuse = _link(handler, refuse)
        self.not_allowed = refuse


def _link(handler: Handler, rest: Endpoint) -> Endpoint:
    handle = handler.handle
    call_next = _settled(rest)

    def call(request: Request) -> Awaitable[Response]:
        return handle(request, call_next)

    return call


def _settled(rest: Endpoint) -> Endpoint:
    """``call_next`` as handlers get it: the rest of the chain, whose every outcome is a
    ``Response`` (an ``HTTPError`` or a failure becomes one where it is raised), so that a
    wrapping handler sees and can decorate errors too. Internal redirects pass through:
    the request they start has an outcome of its own."""

    async def call_next(request: Request) -> Response:
        try:
            return await rest(request)
        except HTTPError as exc:
            return _error_response(exc)
        except (InternalRedirect, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - a failing handler is a 500, logged
            return _failure_response(request, exc)

    return call_next


def _terminal(served: frozenset[str], allow: str) -> Endpoint:
    async def nothing_handled(request: Request) -> Response:
        if served and request.method not in served:
            raise HTTPError(405, headers={"Allow": allow})
        raise HTTPError(404)

    return nothing_handled


def _method_not_allowed(allow: str) -> Endpoint:
    async def not_allowed(request: Request) -> Response:
        raise HTTPError(405, headers={"Allow": allow})

    return not_allowed


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


def _error_response(exc: HTTPError) -> ErrorResponse:
    """The built-in page for ``exc`` (``error_page`` may replace it later), with its
    headers."""
    return builtin_error_response(exc.status, exc.headers, close=exc.close)


def _failure_response(request: Request, exc: Exception) -> ErrorResponse:
    """The answer to an unexpected exception while answering ``request``: a logged 500, or
    a one-line 503 when the process is out of file descriptors (retryable, not a bug)."""
    if isinstance(exc, OSError) and exc.errno in _OUT_OF_FDS:
        error_log.error("%s while answering %s %s", exc.strerror, request.method, request.target)
        return builtin_error_response(503, Headers({"Retry-After": "1"}))
    # called from the except clause that caught ``exc``: the traceback is logged
    error_log.exception("unhandled error answering %s %s", request.method, request.target)
    return builtin_error_response(500)


def _error_page_result(failed: ErrorResponse, page: Response, status: int) -> Response:
    """The ``error_page`` answer: the page's body and content headers with ``status`` and
    every other header of the error it answers for (nginx keeps ``WWW-Authenticate`` on a
    401 page; RFC 9110 requires ``Allow`` on 405). A page that fails itself (an
    ``ErrorResponse``: the page file is missing, is denied, asks for credentials) is sent
    as that failure -- its own status and built-in body, with the headers of its location
    (``add_header ... always``) and of the error it answers for, as nginx does; an error
    body a handler built (a CGI or plugin error page that answers 404 itself) is the page,
    as nginx sends an upstream's; a redirect from it is sent as is."""
    if page.status >= 300 and page.status != 304:
        if page.status < 400:
            return page
        if page.__class__ is ErrorResponse:
            status = page.status
            if failed.close:
                page.close = True  # type: ignore[attr-defined]
    headers = page.headers
    kept = [(n, v) for n, v in failed.headers.items() if n.lower() not in CONTENT_HEADERS]
    for name in {n.lower() for n, _ in kept}:
        headers.pop(name)
    for name, value in kept:
        headers.add(name, value)
    if status != 200:
        # as nginx: validators and Accept-Ranges belong to a 200 of the page, not to an
        # error that borrows its body
        headers.pop("last-modified")
        headers.pop("accept-ranges")
    page.status = status
    page.reason = None
    return page


def _iter_locations(server: ServerConfig) -> Iterator[LocationConfig]:
    yield server.context
    stack = list(server.locations)
    while stack:
        loc = stack.pop()
        yield loc
        stack.extend(loc.children)


class HandlerStartupError(Exception):
    """A handler's ``startup()`` (or its ``__init__``) raised. The message is one line naming
    the handler and where it is enabled (``FILE:LINE:COL: handler "NAME": startup() failed:
    Error: why``), a multi-line reason folded into it; the handler's exception is the
    ``__cause__``."""

    def __init__(
        self, name: str | None, span: Span | None, exc: BaseException, hook: str = "startup()"
    ) -> None:
        where = f"{span}: " if span is not None else ""
        super().__init__(f'{where}handler "{name}": {hook} failed: {one_line_reason(exc)}')
        self.name = name
        self.span = span


def _genuine_cancel(exc: BaseException) -> bool:
    """Whether ``exc`` is the server cancelling the running task (not a plugin raising
    ``CancelledError`` itself), or a generator being closed: those propagate."""
    if isinstance(exc, GeneratorExit):
        return True
    if not isinstance(exc, asyncio.CancelledError):
        return False
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


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
        self._spans: dict[int, Span] = {}  # id(handler) -> its `handler NAME` directive
        self.inflight = 0  # requests being answered and tunnels (upgrades) running
        self.on_idle: asyncio.Future[None] | None = None  # set when inflight drops to 0
        self.tunnels: set[Tunnel] = set()
        try:
            for server in config.servers:
                self._matchers[id(server)] = matcher_for(server)
                for loc in _iter_locations(server):
                    if id(loc) not in self._chains:
                        self._chains[id(loc)] = self._compile(loc)
        except BaseException:
            self.access_logs.close()  # the logs opened for the locations compiled so far
            raise

    def _compile(self, location: LocationConfig) -> _Chain:
        chain = _builtins(FRONT_CHAIN, location)
        for spec in location.handlers:
            cls = registry.get(spec.name)
            if cls is None:
                raise RuntimeError(f'unknown handler "{spec.name}"')
            settings = spec.settings if spec.settings is not None else cls.Settings()
            try:
                handler = cls(settings, location)
            except (Exception, SystemExit) as exc:  # a plugin bug: located, one line
                raise HandlerStartupError(spec.name, spec.span, exc, "__init__()") from exc
            if spec.span is not None:
                self._spans[id(handler)] = spec.span
            chain.append(handler)
        chain += _builtins(BUILTIN_CHAIN, location)
        self._handlers.extend(chain)
        return _Chain(chain, location, self.access_logs.get(location.access_log))

    # -- lifecycle ------------------------------------------------------------------------------
    async def startup(self) -> None:
        """Run every handler's ``startup`` hook. When one raises -- anything, ``SystemExit``,
        ``KeyboardInterrupt`` or its own ``CancelledError`` included (the server's signals
        are handled by the loop, not raised) -- the handlers already started are shut down
        and ``HandlerStartupError`` is raised."""
        for started, handler in enumerate(self._handlers):
            try:
                await handler.startup()
            except BaseException as exc:
                if _genuine_cancel(exc):
                    raise
                for done in reversed(self._handlers[:started]):
                    try:
                        await done.shutdown()
                    except Exception:  # noqa: BLE001
                        error_log.exception("shutdown of handler %s failed", done.name)
                self.access_logs.close()
                span = self._spans.get(id(handler))
                raise HandlerStartupError(handler.name, span, exc) from exc

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
        """Set ``request.server_config``, ``request.location`` and ``request.captures``."""
        server = self.selector.select(request.server, request.host)
        request.server_config = server
        request.location, captures = self._matchers[id(server)].lookup(request.path)
        apply_real_ip(request, server.context)  # nginx: the server's settings first (post-read)
        apply_real_ip(request, request.location)
        named = self.selector.captures(server, request.host)
        if captures is not None:
            request.captures = captures.copy()
            if named:  # a location regex's captures replace the server name's numbered ones
                request.captures.update(
                    (k, v) for k, v in named.items() if not k.isdigit() and k not in captures
                )
        elif named:
            request.captures = named
        elif request.captures:  # an internal redirect left a regex location
            request.captures = {}

    # -- responding ------------------------------------------------------------------------------
    async def respond(self, request: Request) -> Response:
        """The response for ``request``; never raises (except ``CancelledError``)."""
        self.inflight += 1
        try:
            response = await self._respond(request)
            if response.body.__class__ is Upgrade:
                response.body.app = self  # type: ignore[union-attr]
            location = response.headers.get("location")
            if location is not None and location.startswith("/"):
                # nginx's header filter: a local Location becomes absolute (scheme, Host,
                # port) unless `absolute_redirect off` (CGI redirects, upload's 201...)
                response.headers["Location"] = redirect_url(request, location)
            return response
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything is a 500, the server keeps serving
            return _failure_response(request, exc)
        finally:
            self._done()

    def _done(self) -> None:
        self.inflight -= 1
        if not self.inflight and self.on_idle is not None:
            if not self.on_idle.done():
                self.on_idle.set_result(None)
            self.on_idle = None

    def hold_tunnel(self, tunnel: Tunnel) -> None:
        """An upgraded connection this Application answered runs: in flight until
        ``release_tunnel`` (a reload's retirement waits for it)."""
        self.inflight += 1
        self.tunnels.add(tunnel)

    def release_tunnel(self, tunnel: Tunnel) -> None:
        """The tunnel is over."""
        if tunnel in self.tunnels:
            self.tunnels.discard(tunnel)
            self._done()

    async def respond_error(self, request: Request, status: int) -> Response:
        """The answer to an engine-level error on a routed request (e.g. 413 decided from
        Content-Length): the location's ``on_response`` hooks see it, then its
        ``error_page`` if configured, else the built-in page; always with
        ``Connection: close``. Never raises (except ``CancelledError``)."""
        try:
            response = await self._respond(request, HTTPError(status, close=True))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            response = _failure_response(request, exc)
        response.headers["Connection"] = "close"
        return response

    async def _respond(self, request: Request, decided: HTTPError | None = None) -> Response:
        """Run the chain (or take the answer ``decided`` before it), let the location's
        ``on_response`` hooks see the result, then apply ``error_page`` to an error that
        webserv decided, keeping the error's headers."""
        failed: ErrorResponse | None = None  # the error an error_page is being served for
        page_status = 0
        while True:
            try:
                if request.location is None:
                    self.route(request)
                location = request.location
                assert location is not None
                chain = self._chain(location)
                if decided is not None:
                    response: Response = _error_response(decided)
                    decided = None
                elif request.method in location.allow_methods or chain.return_first:
                    try:
                        response = await chain.entry(request)
                    except HTTPError as exc:
                        response = _error_response(exc)
                else:
                    try:
                        response = await chain.not_allowed(request)
                    except HTTPError as exc:
                        response = _error_response(exc)
                if chain.hooks:
                    for hook in chain.hooks:
                        await hook(request, response)
            except InternalRedirect as redirect:
                if not self._follow(request, redirect.uri, redirect.method):
                    return failed or builtin_error_response(500)
                continue
            except HTTPError as exc:  # from routing or an on_response hook
                response = _error_response(exc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                response = _failure_response(request, exc)
            if failed is not None:
                return _error_page_result(failed, response, page_status)
            if response.__class__ is not ErrorResponse:
                return response
            failed = response  # type: ignore[assignment]
            assert failed is not None
            uri, override = self._error_page_for(request, failed.status)
            if uri is None or request.redirects >= MAX_REDIRECTS:
                return failed
            uri = expand_uri(uri, request)
            if uri.startswith(("http://", "https://")):
                return Response(302, b"", {"Location": uri})
            page_status = override or failed.status
            request.state["error_status"] = failed.status
            request.state["error_page_status"] = page_status
            # nginx: an error_page URI without "?" drops the request's query string
            if "?" not in uri:
                request.query = ""
            if not self._follow(request, uri, "GET" if request.method != "HEAD" else "HEAD"):
                return failed

    def _chain(self, location: LocationConfig) -> _Chain:
        chain = self._chains.get(id(location))
        if chain is None:  # a location object built after startup (e.g. a copied model)
            chain = self._chains[id(location)] = self._compile(location)
        return chain

    def _follow(self, request: Request, uri: str, method: str | None) -> bool:
        """Point ``request`` at ``uri`` for another pass; False past ``MAX_REDIRECTS``."""
        request.redirects += 1
        if request.redirects > MAX_REDIRECTS:
            error_log.error("rewrite or internal redirection cycle while processing %s", uri)
            return False
        path, query = normalize_target(uri)
        request.path = path
        if "?" in uri:
            request.query = query
        if method:
            request.method = method
        request.location = None
        return True

    @staticmethod
    def _error_page_for(request: Request, status: int) -> tuple[str | None, int | None]:
        location = request.location
        if location is None:
            return None, None
        page = location.error_pages.get(status)
        if page is None:
            return None, None
        return page.uri, page.status_override

    def error_response(self, request: Request | None, status: int) -> Response:
        """The answer to an engine-level error (400/408/413/414/431/501/505): the built-in
        page, with ``Connection: close``."""
        return builtin_error_response(status, close=True)

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
