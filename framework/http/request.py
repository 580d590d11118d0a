"""The request object handed to handlers."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from framework.http.body import RequestBody
from framework.http.headers import Headers

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from framework.config.models import LocationConfig, ServerConfig
    from framework.http.response import Response
    from framework.websocket import WebSocket


class Request:
    """One HTTP request.

    ``target`` is the raw request-target; ``path`` is decoded once and normalised (dot
    segments removed, ``//`` merged); ``query`` is the raw query string without ``?``.
    ``client`` and ``server`` are (host, port) of the client and of the local socket;
    ``client`` is the TCP ``peer`` unless ``set_real_ip_from`` trusts the peer to name the
    real client (``X-Forwarded-For``, ``X-Real-IP`` or the PROXY protocol header, whose
    source address is ``proxy_protocol_addr``). ``scheme`` is "https" on a TLS connection
    (or from a trusted ``X-Forwarded-Proto``). ``remote_user`` is the user that
    ``auth_basic`` accepted; ``captures`` holds the location regex's groups ("1", "name").
    ``location`` and ``server_config`` are set by routing (and change on an internal
    redirect); ``original_method`` and ``original_uri`` keep what the client sent (an
    ``error_page`` turns a POST into a GET). ``state`` is a free dict for handlers to pass
    data down the chain.

    ``disconnected`` tells a handler that the client went away (EOF or reset): test it
    (``request.disconnected.is_set()``) or wait for it (``await
    request.disconnected.wait()``). A handler still running when its client leaves is
    cancelled within about a second anyway; the event lets a streaming handler stop
    early or clean up. A client that half-closes (sends its FIN) while the handler runs
    counts as gone, as in nginx, unless the handler called ``answer_after_half_close()``.
    """

    __slots__ = (
        "method",
        "target",
        "path",
        "query",
        "headers",
        "client",
        "server",
        "http_version",
        "body",
        "scheme",
        "host",
        "location",
        "server_config",
        "keep_alive",
        "redirects",
        "original_uri",
        "original_method",
        "state",
        "peer",
        "proxy_protocol_addr",
        "remote_user",
        "captures",
        "_gone",
        "_disconnected",
        "_half_close_ok",
    )

    def __init__(
        self,
        method: str,
        target: str,
        path: str,
        query: str = "",
        headers: Headers | None = None,
        *,
        client: tuple[str, int] = ("", 0),
        server: tuple[str, int] = ("", 0),
        http_version: str = "1.1",
        body: RequestBody | None = None,
        scheme: str = "http",
        host: str = "",
    ) -> None:
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.headers = headers if headers is not None else Headers()
        self.client = client
        self.server = server
        self.http_version = http_version
        self.body = body if body is not None else RequestBody.empty()
        self.scheme = scheme
        self.host = host  # Host header without port, lower-cased ('' when absent)
        self.location: LocationConfig | None = None
        self.server_config: ServerConfig | None = None
        self.keep_alive = http_version == "1.1"
        self.redirects = 0  # internal redirects so far (capped by the pipeline)
        self.original_uri = target  # the first target, kept across internal redirects
        self.original_method = method  # error pages turn a POST into a GET: logs keep this
        self.state: dict[str, Any] = {}
        self.peer = client  # the TCP peer; ``client`` may become the real client behind it
        self.proxy_protocol_addr: tuple[str, int] | None = None
        self.remote_user = ""  # set by auth_basic once the user is authenticated
        self.captures: dict[str, str] = {}  # the location regex's groups: "1", "2", "name"
        self._gone = False
        self._disconnected: asyncio.Event | None = None
        self._half_close_ok = False

    @classmethod
    def parsed(
        cls,
        method: str,
        target: str,
        path: str,
        query: str,
        headers: Headers,
        client: tuple[str, int],
        server: tuple[str, int],
        http_version: str,
        host: str,
        body: RequestBody,
        keep_alive: bool,
    ) -> Request:
        """The engine's constructor for a parsed head: the same object as ``Request(...)``
        (plus ``keep_alive``), built without keyword-argument handling (hot path)."""
        self = object.__new__(cls)
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.headers = headers
        self.client = client
        self.server = server
        self.http_version = http_version
        self.body = body
        self.scheme = "http"
        self.host = host
        self.location = None
        self.server_config = None
        self.keep_alive = keep_alive
        self.redirects = 0
        self.original_uri = target
        self.original_method = method
        self.state = {}
        self.peer = client
        self.proxy_protocol_addr = None
        self.remote_user = ""
        self.captures = {}
        self._gone = False
        self._disconnected = None
        self._half_close_ok = False
        return self

    @property
    def disconnected(self) -> asyncio.Event:
        """Set once the client has gone away (EOF or reset); an ``asyncio.Event``, created
        on first use (requests that never ask cost nothing)."""
        event = self._disconnected
        if event is None:
            event = self._disconnected = asyncio.Event()
            if self._gone:
                event.set()
        return event

    def answer_after_half_close(self) -> None:
        """Opt in to half-close semantics: once the whole request body has arrived, a FIN
        from the client means "no more input", not "gone", and the response is still
        written (lighttpd answers a CGI this way). If the client has really left, the
        write fails and the handler is cancelled then. Without this call a FIN while the
        handler runs cancels it, as nginx does."""
        self._half_close_ok = True

    def _client_gone(self) -> None:
        """Engine side: the client went away."""
        self._gone = True
        event = self._disconnected
        if event is not None:
            event.set()

    async def read(self) -> bytes:
        """The whole body, up to ``client_max_body_size`` (413 beyond it)."""
        return await self.body.read()

    def accept_websocket(
        self,
        session: Callable[[WebSocket], Awaitable[None]],
        *,
        subprotocol: str | None = None,
        headers: Headers | dict[str, str] | list[tuple[str, str]] | None = None,
        compression: bool = True,
    ) -> Response:
        """Accept this WebSocket handshake: the ``101`` response to return, whose
        connection then runs ``await session(ws)`` (see ``framework.websocket``);
        ``subprotocol`` must be one the client offered, ``headers`` are added to the 101,
        ``compression`` allows permessage-deflate. An invalid handshake raises
        ``HTTPError`` (400, or 426)."""
        from framework.websocket import accept_websocket

        return accept_websocket(
            self, session, subprotocol=subprotocol, headers=headers, compression=compression
        )

    @property
    def authority(self) -> str:
        """``host[:port]`` suitable for absolute URLs built from this request."""
        host = self.host or self.server[0]
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        port = self.server[1]
        default = 443 if self.scheme == "https" else 80
        return host if port in (default, 0) else f"{host}:{port}"

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.target!r}>"
