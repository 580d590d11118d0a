"""Connection against a fake application over a socketpair: pipelining bound, ordering and
backpressure, without a server process."""

from __future__ import annotations

import asyncio
import socket

import pytest

from framework.config.models import LocationConfig, ServerConfig
from framework.core.loop import new_event_loop
from framework.http import connection as connection_mod
from framework.http.connection import PIPELINE_DEPTH, Connection
from framework.http.errorpage import builtin_error_response
from framework.http.response import Response


class FakeApp:
    def __init__(self, loop) -> None:
        self.server = ServerConfig()
        self.location = LocationConfig(client_max_body_size=0)
        self.gate = asyncio.Event()
        self.seen: list[str] = []

    def default_server(self, local):
        return self.server

    def route(self, request) -> None:
        request.server_config = self.server
        request.location = self.location

    async def respond(self, request) -> Response:
        self.seen.append(request.path)
        await self.gate.wait()
        if request.method == "POST":
            body = await request.read()
            return Response(200, b"%d" % len(body))
        return Response(200, request.path.encode())

    def error_response(self, request, status):
        return builtin_error_response(status)

    def log_access(self, request, status, sent) -> None:
        pass


class FakeOwner:
    def __init__(self, app) -> None:
        self.app = app
        self.stopping = False
        self.closed = []

    def connection_closed(self, conn) -> None:
        self.closed.append(conn)


@pytest.fixture(params=["asyncio", "uvloop"])
def loop(request):
    loop = new_event_loop(request.param)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


async def _read_responses(loop, sock, count: int) -> bytes:
    data = b""
    while data.count(b"HTTP/1.1 200") < count:
        chunk = await loop.sock_recv(sock, 65536)
        if not chunk:
            break
        data += chunk
    return data


def _connect(loop):
    server_side, client = socket.socketpair()
    server_side.setblocking(False)
    client.setblocking(False)
    app = FakeApp(loop)
    owner = FakeOwner(app)
    conn = Connection(owner, loop, server_side, ("127.0.0.1", 1), ("127.0.0.1", 80))
    return app, owner, conn, client


def test_reading_stops_when_too_many_requests_are_parsed_ahead(loop):
    async def main():
        app, owner, conn, client = _connect(loop)
        n = PIPELINE_DEPTH * 3
        client.sendall(b"".join(b"GET /%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(n)))
        while len(conn.pending) < PIPELINE_DEPTH - 1:
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert conn._paused & connection_mod._PAUSE_PIPELINE
        assert app.seen == ["/0"]  # one at a time, in order
        app.gate.set()
        data = await _read_responses(loop, client, n)
        bodies = [part.rsplit(b"\r\n\r\n", 1)[-1] for part in data.split(b"HTTP/1.1 ")[1:]]
        assert bodies == [b"/%d" % i for i in range(n)]
        client.close()
        while not owner.closed:
            await asyncio.sleep(0.01)

    loop.run_until_complete(asyncio.wait_for(main(), 10))


def test_request_body_is_streamed_with_backpressure(loop):
    async def main():
        app, owner, conn, client = _connect(loop)
        size = 8 * 1024 * 1024
        client.sendall(b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % size)
        sent = 0
        chunk = b"b" * 65536
        paused_seen = False
        while sent < size:
            try:
                sent += client.send(chunk[: size - sent])
            except BlockingIOError:
                paused_seen = paused_seen or bool(conn._paused & connection_mod._PAUSE_BODY)
                if paused_seen:
                    break
                await asyncio.sleep(0.01)
        assert paused_seen  # the handler has not read yet: the socket is no longer read
        app.gate.set()
        while sent < size:
            try:
                sent += client.send(chunk[: size - sent])
            except BlockingIOError:
                await asyncio.sleep(0.001)
        data = await _read_responses(loop, client, 1)
        assert data.endswith(b"\r\n\r\n%d" % size)
        client.close()

    loop.run_until_complete(asyncio.wait_for(main(), 20))


def test_idle_timeout_closes_the_socket_and_ends_the_connection_task(loop):
    async def main():
        app, owner, conn, client = _connect(loop)
        app.server.client_header_timeout = 0.05  # nothing arrives: the idle deadline fires
        conn._set_deadline("idle", 0.05)
        while not owner.closed:
            await asyncio.sleep(0.01)
        assert await loop.sock_recv(client, 10) == b""
        for _ in range(200):
            if conn.task.done():
                break
            await asyncio.sleep(0.01)
        assert conn.task.done() and not conn.task.cancelled()  # no task left waiting
        client.close()

    loop.run_until_complete(asyncio.wait_for(main(), 10))


def test_abort_right_after_accept_still_closes_the_connection(loop):
    async def main():
        app, owner, conn, client = _connect(loop)
        conn.abort()  # before the serving task ever ran
        for _ in range(100):
            if owner.closed:
                break
            await asyncio.sleep(0.01)
        assert owner.closed == [conn]
        client.close()

    loop.run_until_complete(asyncio.wait_for(main(), 10))
