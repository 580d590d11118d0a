"""Shared pieces of the HTTP engine end-to-end tests: a plugin module with test handlers
and a site, served once per module (and per event loop where a test asks for both)."""

from __future__ import annotations

import socket
from pathlib import Path

from framework.testing import ServerProcess, read_response, read_until_close

PLUGINS = '''
import asyncio
from framework import Handler, HTTPError, Response


class Echo(Handler):
    """Reads the whole body and sends it back."""
    name = "echo"
    async def handle(self, request, call_next):
        body = await request.read()
        return Response(200, body, {"Content-Type": "application/octet-stream",
                                    "X-Method": request.method})


class Boom(Handler):
    name = "boom"
    async def handle(self, request, call_next):
        raise RuntimeError("boom for the test")


class Slow(Handler):
    """Streams 3 parts, 0.3 s apart (chunked)."""
    name = "slow"
    async def handle(self, request, call_next):
        async def parts():
            for i in range(3):
                await asyncio.sleep(0.3)
                yield b"part%d;" % i
        return Response(200, parts())


class Stream(Handler):
    """An async-iterator body without Content-Length."""
    name = "stream"
    async def handle(self, request, call_next):
        async def parts():
            for i in range(5):
                yield b"x" * 1000
        return Response(200, parts(), {"Content-Type": "text/plain"})


class Flood(Handler):
    """Streams 40 MiB in 1 MiB chunks, recording how many chunks were produced."""
    name = "flood"
    async def handle(self, request, call_next):
        async def parts():
            chunk = b"f" * (1024 * 1024)
            for i in range(40):
                with open("flood.txt", "w") as f:
                    f.write(str(i + 1))
                yield chunk
        return Response(200, parts())


class BadStream(Handler):
    """A streamed body that fails after its first chunk; also tries header injection."""
    name = "badstream"
    async def handle(self, request, call_next):
        async def parts():
            yield b"first"
            raise RuntimeError("stream broke for the test")
        return Response(200, parts(), {"X-Evil": "a\\r\\nSet-Cookie: pwned=1", "X-Fine": "ok"})


class Hang(Handler):
    """Never answers (until cancelled); counts cancellations in a file."""
    name = "hang"
    async def handle(self, request, call_next):
        open("started.txt", "a").write("x")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            open("cancelled.txt", "a").write("x")
            raise
'''

CONFIG = """
load_module webserv_http_test_plugins;
access_log off;
server {
    listen 127.0.0.1:{port};
    root www;
    client_header_timeout 1s;
    keepalive_timeout 2s;
    client_header_max_size 4k;
    error_page 404 /errors/404.html;
    location / { allow_methods GET HEAD; }
    location /echo { handler echo; allow_methods GET HEAD POST PUT; client_max_body_size 64k;
                     client_body_timeout 1s; }
    location /boom { handler boom; }
    location /slow { handler slow; }
    location /stream { handler stream; }
    location /hang { handler hang; }
    location /flood { handler flood; }
    location /badstream { handler badstream; }
    location /static-post { allow_methods GET POST; }
    location /plain404 { error_page 404 /nonexistent.html; }
    location /gone { return 444; }
}
"""


def make_site(root: Path) -> None:
    www = root / "www"
    (www / "errors").mkdir(parents=True, exist_ok=True)
    (www / "index.html").write_text("<h1>home</h1>\n")
    (www / "errors" / "404.html").write_text("custom not found\n")
    (www / "static-post").write_text("static\n")
    (www / "big.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    (root / "webserv_http_test_plugins.py").write_text(PLUGINS)


def start_server(root: Path, loop: str | None = None, config: str = CONFIG) -> ServerProcess:
    make_site(root)
    env = {"PYTHONPATH": str(root)}
    if loop:
        env["WEBSERV_EVENT_LOOP"] = loop
    return ServerProcess(config, cwd=root, env=env).start()


def exchange(srv: ServerProcess, data: bytes, timeout: float = 5.0):
    """Send ``data`` on a fresh connection; return (first response, rest until close)."""
    with srv.connect(timeout) as sock:
        sock.sendall(data)
        first = read_response(sock)
        rest = _rest(sock, timeout)
    return first, rest


def _rest(sock: socket.socket, timeout: float) -> bytes:
    return read_until_close(sock, timeout)
