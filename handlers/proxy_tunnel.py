"""Upgrade tunnelling: an upstream's ``101 Switching Protocols`` becomes the client's, and
bytes are then piped both ways with backpressure until either side is done.

As in nginx, the upstream only sees the client's ``Upgrade`` when the location passes it
(``proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header
Connection "upgrade";``). The client's end of input half-closes the upstream side (the
upstream may still answer); the upstream's end of output ends the tunnel. No byte flows for
``proxy_read_timeout``: the tunnel is closed (nginx's idle rule for upgraded connections).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from framework.config.models import LocationConfig
from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from framework.http.tunnel import Tunnel, Upgrade
from framework.logs import error_log
from framework.upstream.connection import UpstreamConnection, UpstreamTimeout
from framework.upstream.response import ResponseParser


def tunnel_response(
    request: Request,
    location: LocationConfig,
    conn: UpstreamConnection,
    parser: ResponseParser,
    headers: Headers,
    done: Callable[[bool], None],
) -> Response:
    """The client's 101 answer, whose run pipes the two connections together."""
    if not request.headers.get("upgrade"):
        done(False)
        error_log.error("upstream switched protocols for a request that did not ask to")
        raise HTTPError(502, "unexpected 101 from upstream")
    first = parser.rest

    async def run(tunnel: Tunnel) -> None:
        try:
            await _pipe(tunnel, conn, first, location.proxy_read_timeout)
        finally:
            done(False)

    return Response(101, body=Upgrade(run), headers=headers, reason=parser.reason or None)


async def _pipe(tunnel: Tunnel, conn: UpstreamConnection, first: bytes, idle: float) -> None:
    conn.start_read_timer(idle)
    if first:
        tunnel.write(first)
    upward = asyncio.get_running_loop().create_task(_client_to_upstream(tunnel, conn))
    try:
        incoming = conn.incoming
        while True:
            try:
                data = await incoming.get()
            except UpstreamTimeout:
                error_log.info("upgraded connection idle for %ss: closed", idle)
                return
            except OSError:
                return
            if data is None:
                return
            tunnel.write(data)
            await tunnel.drain()
    finally:
        upward.cancel()
        tunnel.close()


async def _client_to_upstream(tunnel: Tunnel, conn: UpstreamConnection) -> None:
    queue = conn.queue
    while True:
        data = await tunnel.read()
        if not data:
            break
        queue.write(data)
        if queue.full:
            try:
                await queue.drain()
            except ConnectionError:
                return
    try:  # the client is done sending: say so, the upstream may still answer
        await queue.flush()
        conn.sock.shutdown(socket.SHUT_WR)
    except (ConnectionError, OSError):
        pass
