"""``proxy_pass URL;``: the requests of the location are forwarded to an upstream server.

Per request: the upstream URI (``proxy_uri``) and head (``proxy_headers``) are built, a peer
is picked by the group's balancer, a pooled keep-alive connection is reused (or one is
opened), the request goes out (a body up to ``REPLAYABLE`` bytes is read first so that a
failed attempt can be replayed on the next server; a larger one is streamed as it arrives,
where nginx would buffer it to disk first) and the response streams back with
backpressure both ways.

Failover (``proxy_next_upstream``, default ``error timeout``): a connect error or timeout
always moves to the next server; an error, timeout or invalid answer after the request went
out does so only for an idempotent method (GET, HEAD, PUT, DELETE, OPTIONS, TRACE) whose body
was replayable, and never once a response byte was passed on. A pooled connection that fails
before any response byte is retried once on a fresh connection, for an idempotent request
only (nginx >= 1.9.13: a POST that went out is never sent twice). When every attempt failed:
504 after a timeout, else 502, through ``error_page``. A ``101`` answer to an upgrade
request becomes a tunnel (``proxy_tunnel``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import AsyncIterator

from framework.config.directives_proxy import ProxyPass, Upstream
from framework.config.models import LocationConfig
from framework.handler import CallNext, Handler, HandlerSettings
from framework.http.errors import HTTPError
from framework.http.request import Request
from framework.http.response import Response
from framework.http.variables import expand_uri
from framework.http.wire import reason_phrase
from framework.logs import error_log
from framework.registry import registry
from framework.upstream.balancer import Peer, PeerGroup, group_for_host, group_for_upstream
from framework.upstream.connection import UpstreamConnection
from framework.upstream.exchange import (
    ClientBodyFailed,
    RequestBody,
    UpstreamBody,
    UpstreamError,
    exchange,
)
from framework.upstream.pool import ConnectionPool
from framework.upstream.response import ResponseParser
from handlers.proxy_headers import HeadTemplate, response_headers
from handlers.proxy_tunnel import tunnel_response
from handlers.proxy_uri import upstream_uri

REPLAYABLE = 64 * 1024  # request bodies up to this size are read first (replayable)
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
SMALL_RESPONSE = 64 * 1024  # a body complete with its head, up to this size, goes as bytes

# one balancer and pool per upstream per worker, shared by every location using it
_GROUPS: dict[tuple[object, ...], tuple[PeerGroup, ConnectionPool]] = {}


def _upstream_key(upstream: Upstream) -> tuple[object, ...]:
    servers = tuple(
        (s.host, s.port, s.weight, s.max_fails, s.fail_timeout, s.backup, s.down)
        for s in upstream.servers
    )
    return ("upstream", upstream.name, servers, upstream.least_conn, upstream.keepalive)


def group_of(upstream: Upstream) -> tuple[PeerGroup, ConnectionPool]:
    """The worker's balancer and pool of ``upstream`` (created on first use)."""
    key = _upstream_key(upstream)
    found = _GROUPS.get(key)
    if found is None:
        group = group_for_upstream(upstream)
        found = _GROUPS[key] = (group, ConnectionPool(group))
    return found


def host_group(host: str, port: int) -> tuple[PeerGroup, ConnectionPool]:
    """The worker's implicit group for ``proxy_pass http://host:port``."""
    key = ("host", host.lower(), port)
    found = _GROUPS.get(key)
    if found is None:
        group = group_for_host(host, port)
        found = _GROUPS[key] = (group, ConnectionPool(group))
    return found


def describe_proxy(location: LocationConfig) -> str | None:
    """One line for ``validate-config --explain``: where ``location`` proxies to, e.g.
    ``proxy_pass http://backend (upstream backend: 127.0.0.1:8001, 127.0.0.1:8002 backup)``;
    None when the location does not proxy."""
    proxy = location.proxy_pass
    if proxy is None or not proxy.declared_in(location.span):
        return None
    text = f"proxy_pass {proxy.url}"
    upstream = location.upstreams.get(proxy.host) if proxy.port is None else None
    if upstream is not None:
        servers = ", ".join(
            s.address + (" backup" if s.backup else "") + (" down" if s.down else "")
            for s in upstream.servers
        )
        text += f" (upstream {upstream.name}: {servers})"
    elif proxy.variables:
        text += " (resolved per request)"
    return text


class ProxyHandler(Handler):
    """Forwards the location's requests to ``proxy_pass``'s upstream."""

    name = "proxy"

    def __init__(self, settings: HandlerSettings, location: LocationConfig) -> None:
        super().__init__(settings, location)
        self.methods = location.allow_methods  # every allowed method is passed on
        proxy = location.proxy_pass
        assert proxy is not None
        self.proxy: ProxyPass = proxy
        self._target: tuple[PeerGroup, ConnectionPool] | None = None
        self._proxy_host = proxy.proxy_host
        self._proxy_port = str(proxy.port or 80)
        self._head = HeadTemplate(location, None if proxy.variables else self._proxy_host)
        conditions = location.proxy_next_upstream
        # the answers (``http_502``...) that move to the next server, as status codes
        self._next_statuses = frozenset(int(c[5:]) for c in conditions if c[:5] == "http_")
        self._any_method = "non_idempotent" in conditions

    @classmethod
    def from_location(cls, location: LocationConfig) -> ProxyHandler | None:
        """Enabled in the location that writes ``proxy_pass`` (not in nested ones)."""
        proxy = location.proxy_pass
        if proxy is None or not proxy.declared_in(location.span):
            return None
        return cls(cls.Settings(), location)

    # -- target ------------------------------------------------------------------------------
    def _static_target(self) -> tuple[PeerGroup, ConnectionPool]:
        if self._target is None:
            proxy = self.proxy
            upstream = self.location.upstreams.get(proxy.host) if proxy.port is None else None
            if upstream is not None:
                self._target = group_of(upstream)
            else:
                self._target = host_group(proxy.host, proxy.port or 80)
        return self._target

    def _dynamic_target(
        self, request: Request
    ) -> tuple[tuple[PeerGroup, ConnectionPool], str | None, str, str]:
        """``proxy_pass`` with variables: (group, URI part or None, $proxy_host, port)."""
        url = expand_uri(self.proxy.url, request)
        if not url.lower().startswith("http://"):
            error_log.error('invalid URL prefix in "%s"', url)
            raise HTTPError(500, "invalid proxy_pass URL")
        rest = url[7:]
        slash = rest.find("/")
        authority, uri = (rest, None) if slash < 0 else (rest[:slash], rest[slash:])
        upstream = self.location.upstreams.get(authority)
        if upstream is not None:
            return group_of(upstream), uri, authority, "80"
        host, port = _split_authority(authority)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            error_log.error('no upstream "%s" and no resolver to look it up', authority)
            raise HTTPError(502, "upstream not found") from None
        return host_group(host, port), uri, authority, str(port)

    # -- the request ---------------------------------------------------------------------------
    async def handle(self, request: Request, call_next: CallNext) -> Response:
        location = self.location
        proxy = self.proxy
        if proxy.variables:
            (group, pool), uri_part, proxy_host, proxy_port = self._dynamic_target(request)
            uri = (
                uri_part
                if uri_part is not None
                else upstream_uri(request, location, proxy.model_copy(update={"uri": None}))
            )
        else:
            try:
                group, pool = self._static_target()
            except OSError as exc:
                error_log.error('host not found in upstream "%s": %s', proxy.host, exc)
                raise HTTPError(502, "upstream host not found") from None
            uri = upstream_uri(request, location, proxy)
            proxy_host, proxy_port = self._proxy_host, self._proxy_port
        request.state["proxy_host"] = proxy_host
        request.state["proxy_port"] = proxy_port
        method = request.method
        if request.body.length == 0 and "content-length" not in request.headers:
            body: RequestBody = b""  # the common GET: no coroutine for the body
            framing = ""
        else:
            body, framing = await self._body(request)
        head = self._head.render(request, method, uri, framing)
        return await self._forward(request, group, pool, head, body)

    async def _body(self, request: Request) -> tuple[RequestBody, str]:
        """The body to send and its framing header line."""
        source = request.body
        length = source.length
        if length == 0:
            has_length = request.headers.get("content-length") is not None
            return b"", ("Content-Length: 0\r\n" if has_length else "")
        if length is not None and length <= REPLAYABLE:
            data = await source.read()
            return data, f"Content-Length: {len(data)}\r\n"
        if length is not None:
            return (source, False), f"Content-Length: {length}\r\n"
        # chunked: a small body is read whole (replayable, sent with a length)
        first = await _read_up_to(source, REPLAYABLE)
        if first.complete:
            return first.data, f"Content-Length: {len(first.data)}\r\n"
        if self.location.proxy_http_version == "1.1":
            return (first.rest(source), True), "Transfer-Encoding: chunked\r\n"
        # HTTP/1.0 has no chunked framing: the body is spooled to know its length
        spooled, size = await _spool(first.rest(source), source.limit)
        return (spooled, False), f"Content-Length: {size}\r\n"

    async def _forward(
        self,
        request: Request,
        group: PeerGroup,
        pool: ConnectionPool,
        head: bytes,
        body: RequestBody,
    ) -> Response:
        location = self.location
        conditions = location.proxy_next_upstream
        replayable = isinstance(body, bytes)
        idempotent = self._any_method or request.method in IDEMPOTENT
        head_request = request.method == "HEAD"
        tried: set[Peer] = set()
        last: UpstreamError | None = None
        while len(tried) < group.tries:
            peer = group.pick(tried)
            if peer is None:
                if not tried:
                    error_log.error(
                        'no live upstreams while connecting to upstream "%s"', group.name
                    )
                break
            tried.add(peer)
            peer.active += 1
            try:
                conn, parser, sender = await self._attempt(
                    peer, pool, head, body, head_request, idempotent
                )
            except UpstreamError as err:
                peer.active -= 1
                last = err
                error_log.error(
                    '%s while talking to upstream %s, request: "%s %s"',
                    err,
                    peer.name,
                    request.method,
                    request.target,
                )
                group.failed(peer)
                # nothing sent (connect failed): any request may go elsewhere; once sent, only
                # an idempotent one whose body can be sent again
                may_retry = err.kind in conditions and (not err.sent or (replayable and idempotent))
                if may_retry:
                    continue
                break
            except ClientBodyFailed as failed:
                peer.active -= 1
                raise failed.error from None
            except BaseException:
                peer.active -= 1
                raise
            status = parser.status
            if (
                status in self._next_statuses
                and replayable
                and idempotent
                and len(tried) < group.tries
            ):
                error_log.error("upstream %s answered %d, trying the next one", peer.name, status)
                peer.active -= 1
                if status in (500, 502, 503, 504, 429):
                    group.failed(peer)
                conn.close()
                if sender is not None:
                    sender.cancel()
                continue
            group.succeeded(peer)
            return await self._response(request, peer, pool, conn, parser, sender)
        if last is not None and last.kind == "timeout":
            raise HTTPError(504, "upstream timed out")
        raise HTTPError(502, "bad gateway")

    async def _attempt(
        self,
        peer: Peer,
        pool: ConnectionPool,
        head: bytes,
        body: RequestBody,
        head_request: bool,
        idempotent: bool,
    ) -> tuple[UpstreamConnection, ResponseParser, asyncio.Task[None] | None]:
        location = self.location
        conn = pool.take(peer)
        reused = conn is not None
        if conn is None:
            conn = await self._connect(peer, pool)
        try:
            parser, sender = await exchange(
                conn,
                head,
                body,
                read_timeout=location.proxy_read_timeout,
                head_request=head_request,
            )
        except UpstreamError as err:
            # a kept-alive connection the upstream had closed: once more on a fresh one, but
            # never a non-idempotent request that went out (it may have been processed)
            stale = reused and err.kind == "error" and not err.answered
            if not (stale and idempotent and isinstance(body, bytes)):
                raise
            conn = await self._connect(peer, pool)
            parser, sender = await exchange(
                conn,
                head,
                body,
                read_timeout=location.proxy_read_timeout,
                head_request=head_request,
            )
        return conn, parser, sender

    async def _connect(self, peer: Peer, pool: ConnectionPool) -> UpstreamConnection:
        location = self.location
        try:
            return await pool.connect(
                peer,
                connect_timeout=location.proxy_connect_timeout,
                send_timeout=location.proxy_send_timeout,
            )
        except TimeoutError as exc:
            raise UpstreamError(
                "timeout",
                str(exc) or "upstream timed out while connecting",
                sent=False,
                answered=False,
            ) from None
        except OSError as exc:
            reason = f"{exc.errno}: {os.strerror(exc.errno)}" if exc.errno else str(exc)
            raise UpstreamError(
                "error", f"connect() failed ({reason})", sent=False, answered=False
            ) from None

    async def _response(
        self,
        request: Request,
        peer: Peer,
        pool: ConnectionPool,
        conn: UpstreamConnection,
        parser: ResponseParser,
        sender: asyncio.Task[None] | None,
    ) -> Response:
        status = parser.status
        headers = response_headers(parser.headers, status)
        if (
            parser.complete
            and sender is None
            and parser.buffered <= SMALL_RESPONSE
            and not parser.chunked  # a chunked answer stays chunked, as nginx passes it
            and not parser.upgraded
        ):
            # the whole (small) answer is here: one write with its length, connection back now
            chunks = parser.chunks
            data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
            chunks.clear()
            parser.buffered = 0
            _give_back(peer, pool, conn, parser.keep_alive)
            return Response(status, data, headers, reason=_reason(parser))
        released = False

        def done(reusable: bool) -> None:
            nonlocal released
            if not released:
                released = True
                _give_back(peer, pool, conn, reusable)

        if parser.upgraded:
            return tunnel_response(request, self.location, conn, parser, headers, done)
        body = UpstreamBody(conn, parser, sender, done, coalesce=self.location.proxy_buffering)
        return Response(status, body, headers, reason=_reason(parser))

    async def startup(self) -> None:
        """Resolve the upstream's names now (nginx resolves at startup), not on the first
        request: a failure is logged and retried per request (502 meanwhile)."""
        if self.proxy.variables:
            return
        try:
            self._static_target()
        except OSError as exc:
            error_log.error('host not found in upstream "%s": %s', self.proxy.host, exc)

    async def shutdown(self) -> None:
        for _, pool in list(_GROUPS.values()):
            pool.close()


def _give_back(peer: Peer, pool: ConnectionPool, conn: UpstreamConnection, reusable: bool) -> None:
    """The exchange on ``conn`` is over: the peer has one request less in flight, and the
    connection goes back to the pool (which closes it when it cannot carry another request)
    or is closed."""
    peer.active -= 1
    if reusable:
        pool.release(peer, conn)
    else:
        conn.close()


def _reason(parser: ResponseParser) -> str | None:
    """The upstream's reason phrase; None when it is the standard one (the engine's
    cached status line is then used)."""
    reason = parser.reason
    return None if not reason or reason == reason_phrase(parser.status) else reason


def _split_authority(authority: str) -> tuple[str, int]:
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port = rest[1:]
    else:
        host, _, port = authority.partition(":")
    return host, int(port) if port.isdigit() else 80


class _Prefix:
    """The first bytes of a chunked body, and whether they are all of it."""

    def __init__(self, data: bytes, complete: bool, parts: list[bytes]) -> None:
        self.data = data
        self.complete = complete
        self._parts = parts

    async def rest(self, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        for part in self._parts:
            yield part
        async for chunk in source:
            yield chunk


async def _read_up_to(source: AsyncIterator[bytes], limit: int) -> _Prefix:
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        try:
            chunk = await source.__anext__()
        except StopAsyncIteration:
            return _Prefix(b"".join(parts), True, [])
        parts.append(chunk)
        size += len(chunk)
    return _Prefix(b"", False, parts)


async def _spool(chunks: AsyncIterator[bytes], limit: int) -> tuple[AsyncIterator[bytes], int]:
    """The whole body in a temporary file (HTTP/1.0 upstreams need its length first)."""
    import tempfile

    spool = tempfile.TemporaryFile()
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if limit and size > limit:
            spool.close()
            raise HTTPError(413, close=True)
        spool.write(chunk)
    spool.seek(0)

    async def replay() -> AsyncIterator[bytes]:
        try:
            while True:
                block = spool.read(256 * 1024)
                if not block:
                    return
                yield block
        finally:
            spool.close()

    return replay(), size


registry.register(ProxyHandler)
