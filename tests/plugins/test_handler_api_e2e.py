"""The handler API end to end: body streaming both ways, response body kinds, the 500 path,
``request.read()`` limits and the startup hook."""

from __future__ import annotations

import hashlib
import socket
import threading
import time

import pytest

from framework.testing import read_response

API_PLUGINS = '''
import asyncio
from pathlib import Path

from framework import HTTPError, Handler, Response


class StreamEcho(Handler):
    """Echoes the body while it arrives: async for in, async iterator out."""
    name = "stream_echo"

    async def handle(self, request, call_next):
        async def chunks():
            async for chunk in request.body:
                yield chunk
        return Response(200, chunks(), headers={"Content-Type": "application/octet-stream"})


class ReadAll(Handler):
    """await request.read(): the whole body, bounded by client_max_body_size."""
    name = "read_all"

    async def handle(self, request, call_next):
        body = await request.read()
        return Response(200, f"{len(body)}")


class Boom(Handler):
    name = "boom"

    class Settings(Handler.Settings):
        when: str = "before"

    async def handle(self, request, call_next):
        if self.settings.when == "before":
            raise RuntimeError("boom-before-response")

        async def chunks():
            yield b"partial"
            raise RuntimeError("boom-mid-stream")
        return Response(200, chunks())


class Teapot(Handler):
    name = "teapot"

    async def handle(self, request, call_next):
        raise HTTPError(418, "short and stout")


class Bodies(Handler):
    """Every documented response body kind, chosen by the last path segment."""
    name = "bodies"

    class Settings(Handler.Settings):
        file: str

    async def handle(self, request, call_next):
        kind = request.path.rsplit("/", 1)[-1]
        path = Path(self.settings.file)
        if kind == "bytes":
            return Response(200, b"raw bytes")
        if kind == "str":
            return Response(200, "unicode \u2713")
        if kind == "path":
            return Response(200, path)
        if kind == "file":
            return Response(200, path.open("rb"))
        if kind == "slice":
            return Response.file(path, 10, 5)
        if kind == "iter":
            async def parts():
                for i in range(3):
                    yield f"part{i};".encode()
            return Response(200, parts())
        if kind == "iter-length":
            async def fixed():
                yield b"abc"
                yield b"de"
            return Response(200, fixed(), headers={"Content-Length": "5"})
        return await call_next(request)


class Hang(Handler):
    """Never answers."""
    name = "hang"

    async def handle(self, request, call_next):
        await asyncio.Event().wait()


class Stall(Handler):
    """Starts a streamed response, then never yields again."""
    name = "stall"

    async def handle(self, request, call_next):
        async def chunks():
            yield b"first"
            await asyncio.Event().wait()
        return Response(200, chunks())


class Raw(Handler):
    """Writes the whole HTTP message itself."""
    name = "raw"

    async def handle(self, request, call_next):
        message = b"HTTP/1.1 203 Mine\\r\\nX-Raw: 1\\r\\nContent-Length: 2\\r\\n\\r\\nok"
        return Response(203, message, raw=True)


class Started(Handler):
    name = "started"

    async def startup(self):
        self.ready = "yes"

    async def handle(self, request, call_next):
        return Response(200, getattr(self, "ready", "no"))
'''

CONFIG = """load_module api_plugins;
shutdown_timeout 2s;
server {
    listen 127.0.0.1:{port};
    client_max_body_size 0;
    location /echo { handler stream_echo; }
    location /read { handler read_all; client_max_body_size 1k; }
    location /boom { handler boom; }
    location /boom-late { handler boom { when after; } }
    location /teapot { handler teapot; }
    location /bodies/ { handler bodies { file data.bin; } }
    location /started { handler started; }
    location /hang { handler hang; send_timeout 1s; client_body_timeout 1s; }
    location /stall { handler stall; send_timeout 1s; }
    location /raw { handler raw; }
    location /patient { handler read_all; send_timeout 1s; client_body_timeout 10s; }
}
"""

DATA = bytes(range(256)) * 16  # data.bin, 4 KiB


@pytest.fixture
def srv(webserv, write_module):
    directory = write_module("api_plugins", API_PLUGINS)
    return webserv(CONFIG, files={"data.bin": DATA}, pythonpath=[directory])


def test_a_body_streams_both_ways_through_a_handler_with_a_slow_client(srv):
    size = 12 * 1024 * 1024
    block = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB of varied bytes
    body = (block * (size // len(block) + 1))[:size]
    sock = srv.connect(timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    head = (
        f"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    sent_error: list[BaseException] = []

    def send_slowly() -> None:
        try:
            sock.sendall(head)
            view = memoryview(body)
            for start in range(0, size, 256 * 1024):
                sock.sendall(view[start : start + 256 * 1024])
                time.sleep(0.005)  # a slow sender: the handler waits for data
        except OSError as exc:
            sent_error.append(exc)

    sender = threading.Thread(target=send_slowly)
    sender.start()
    rss_before = srv.rss_kib()
    rss_peak = rss_before
    received = bytearray()
    reads = 0
    while True:  # a slow reader: small reads, pausing now and then
        chunk = sock.recv(16 * 1024)
        if not chunk:
            break
        received += chunk
        reads += 1
        if reads % 64 == 0:
            time.sleep(0.01)
            rss_peak = max(rss_peak, srv.rss_kib())
    sender.join(30)
    sock.close()
    assert not sent_error
    response_head, _, payload = bytes(received).partition(b"\r\n\r\n")
    assert response_head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in response_head.lower()
    decoded = bytearray()
    rest = payload
    while True:
        line, _, rest = rest.partition(b"\r\n")
        n = int(line, 16)
        if n == 0:
            break
        decoded += rest[:n]
        rest = rest[n + 2 :]
    assert len(decoded) == size and hashlib.sha256(decoded).digest() == (
        hashlib.sha256(body).digest()
    )
    # both directions are paced by the slow ends, so the server never holds the whole body
    assert (rss_peak - rss_before) * 1024 < size // 2


def test_an_exception_in_a_handler_is_a_500_and_the_connection_keeps_serving(srv):
    with srv.client() as client:
        r = client.get("/boom")
        assert r.status == 500
        assert b"boom-before-response" not in r.body  # no traceback for the client
        assert client.get("/started").status == 200
        assert client.connections == 1
    assert srv.wait_for_log(r"Traceback[\s\S]*RuntimeError: boom-before-response")
    assert srv.get("/bodies/bytes").body == b"raw bytes"


def test_an_exception_after_the_response_started_aborts_only_that_response(srv):
    sock = srv.connect()
    sock.sendall(b"GET /boom-late HTTP/1.1\r\nHost: t\r\n\r\n")
    data = b""
    sock.settimeout(10)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    assert data.startswith(b"HTTP/1.1 200")
    assert b"partial" in data and not data.endswith(b"0\r\n\r\n")  # never looks complete
    assert srv.wait_for_log("boom-mid-stream")
    assert srv.get("/started").status == 200


def test_http_error_from_a_handler_becomes_that_status(srv):
    assert srv.get("/teapot").status == 418


def test_request_read_is_bounded_by_client_max_body_size(srv):
    assert srv.request("POST", "/read", body=b"x" * 1000).body == b"1000"
    assert srv.request("POST", "/read", body=b"x" * 5000).status == 413
    sock = srv.connect()
    sock.sendall(
        b"POST /read HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"400\r\n"
        + b"y" * 1024
        + b"\r\n"
        + b"400\r\n"
        + b"y" * 1024
        + b"\r\n0\r\n\r\n"
    )
    assert read_response(sock).status == 413
    sock.close()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("bytes", b"raw bytes"),
        ("str", "unicode \u2713".encode()),
        ("path", DATA),
        ("file", DATA),
        ("slice", DATA[10:15]),
        ("iter", b"part0;part1;part2;"),
        ("iter-length", b"abcde"),
    ],
)
def test_every_response_body_kind_is_sent_byte_exact(srv, kind, expected):
    with srv.client() as client:
        r = client.get(f"/bodies/{kind}")
        assert (r.status, r.body) == (200, expected)
        if kind in ("path", "file", "slice", "iter-length"):
            assert r.header("Content-Length") == str(len(expected))
        head = client.request("HEAD", f"/bodies/{kind}")
        assert (head.status, head.body) == (200, b"")
        assert client.get("/bodies/bytes").body == b"raw bytes"  # connection still in sync


def test_the_startup_hook_runs_before_the_worker_serves(srv):
    assert srv.get("/started").body == b"yes"


def test_a_handler_that_never_answers_is_cut_off_by_the_location_timeouts(srv):
    sock = srv.connect(timeout=8)
    sock.sendall(b"GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
    try:
        data = sock.recv(65536)  # an error response or the connection closing, not silence
    except TimeoutError:
        pytest.fail("no answer and no close 8s after a 1s send_timeout")
    finally:
        sock.close()
    assert data == b"" or data.startswith((b"HTTP/1.1 5", b"HTTP/1.1 408"))
    assert srv.get("/started").status == 200


def test_a_handler_that_never_answers_gets_a_504_and_a_log_line(srv):
    data = srv.raw(b"GET /hang HTTP/1.1\r\nHost: t\r\n\r\n", timeout=8)
    assert data.startswith(b"HTTP/1.1 504 ")
    assert b"Connection: close" in data
    assert srv.wait_for_log("handler for GET /hang did not answer")


def test_a_streamed_body_that_stops_yielding_is_cut_off(srv):
    data = srv.raw(b"GET /stall HTTP/1.1\r\nHost: t\r\n\r\n", timeout=8)
    assert data.startswith(b"HTTP/1.1 200 ")
    assert b"first" in data and not data.endswith(b"0\r\n\r\n")  # truncated, then closed
    assert srv.wait_for_log("response body of GET /stall stalled")
    assert srv.get("/started").status == 200


def test_a_handler_waiting_for_a_slow_body_is_bounded_by_client_body_timeout_only(srv):
    with srv.connect(timeout=10) as sock:
        sock.sendall(b"POST /patient HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab")
        time.sleep(1.5)  # a slow client: longer than send_timeout, within client_body_timeout
        sock.sendall(b"cd")
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"4")


def test_a_raw_response_is_written_as_is_and_closes_the_connection(srv):
    data = srv.raw(b"GET /raw HTTP/1.1\r\nHost: t\r\n\r\nGET /raw HTTP/1.1\r\nHost: t\r\n\r\n")
    assert data == b"HTTP/1.1 203 Mine\r\nX-Raw: 1\r\nContent-Length: 2\r\n\r\nok"
