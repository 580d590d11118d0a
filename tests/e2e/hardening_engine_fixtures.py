"""Shared pieces of the connection-engine hardening tests (issue 9): test handlers, a CGI
script, a site, and a server per event loop."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from framework.testing import ServerProcess, read_response, read_until_close

PLUGINS = '''
import asyncio
import os
from pathlib import Path
from framework import Handler, Response


def note(path, text):
    # whole or not at all: the test polls for the file and reads it at once
    Path(path + ".tmp").write_text(text)
    os.replace(path + ".tmp", path)


class Echo(Handler):
    """Reads the whole body and sends it back."""
    name = "echo"
    async def handle(self, request, call_next):
        body = await request.read()
        return Response(200, body, {"Content-Type": "application/octet-stream"})


class Events(Handler):
    """A stream that waits for events that never come; marks (files named by the query)
    that it started, that it was cancelled and whether request.disconnected was set."""
    name = "events"
    async def handle(self, request, call_next):
        tag = request.query
        async def events():
            Path(tag + ".started").touch()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                note(tag + ".cancelled", str(request.disconnected.is_set()))
                raise
            yield b"never"
        return Response(200, events(), {"Content-Type": "text/event-stream"})


class Watch(Handler):
    """A handler that waits for its client to leave (request.disconnected) before it
    answers; marks what it saw."""
    name = "watch"
    async def handle(self, request, call_next):
        tag = request.query
        Path(tag + ".started").touch()
        try:
            await request.disconnected.wait()
            Path(tag + ".seen").touch()
        except asyncio.CancelledError:
            note(tag + ".cancelled", str(request.disconnected.is_set()))
            raise
        return Response(200, b"bye")
'''

CGI_ECHO = f"""#!{sys.executable}
import os, sys
data = sys.stdin.buffer.read()
sys.stdout.buffer.write(b"Content-Type: text/plain\\r\\n\\r\\n")
sys.stdout.buffer.write(b"len=%d;" % len(data) + data)
"""

CGI_SLOW_ECHO = f"""#!{sys.executable}
import sys, time
data = sys.stdin.buffer.read()
time.sleep(2.5)  # outlives the engine's half-close grace: only the opt-in gets it answered
sys.stdout.buffer.write(b"Content-Type: text/plain\\r\\n\\r\\n")
sys.stdout.buffer.write(b"len=%d;" % len(data) + data)
"""

CGI_SILENT = f"""#!{sys.executable}
import os, time
with open("silent.pid.tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename("silent.pid.tmp", "silent.pid")
time.sleep(300)
"""

CONFIG = """
load_module hardening_engine_plugins;
access_log off;
server {{
    listen 127.0.0.1:{{port}};
    root www;
    client_body_timeout {body_timeout};
    location / {{ allow_methods GET HEAD; }}
    location /echo {{ handler echo; allow_methods POST PUT; client_max_body_size 256m; }}
    location /events {{ handler events; }}
    location /watch {{ handler watch; }}
    location /up/ {{ upload_store up; allow_methods GET PUT POST; }}
    location /cgi-bin/ {{ cgi .py; allow_methods GET POST PUT; }}
{extra}
}}
"""


def start(
    root: Path, loop: str = "auto", *, body_timeout: str = "60s", extra: str = ""
) -> ServerProcess:
    """A server for the engine tests, rooted at ``root``."""
    (root / "up").mkdir(parents=True, exist_ok=True)
    files: dict[str, str | bytes] = {
        "www/index.html": "home\n",
        "www/cgi-bin/echo.py": CGI_ECHO,
        "www/cgi-bin/slow_echo.py": CGI_SLOW_ECHO,
        "www/cgi-bin/silent.py": CGI_SILENT,
        "hardening_engine_plugins.py": PLUGINS,
    }
    server = ServerProcess(
        CONFIG.format(body_timeout=body_timeout, extra=extra),
        cwd=root,
        files=files,
        env={"PYTHONPATH": str(root), "WEBSERV_EVENT_LOOP": loop},
    )
    (root / "www" / "cgi-bin").mkdir(parents=True, exist_ok=True)
    for script in ("echo.py", "slow_echo.py", "silent.py"):
        (root / "www" / "cgi-bin" / script).chmod(0o755)
    return server.start()


def still_serves(srv: ServerProcess) -> None:
    """A normal client is served."""
    with srv.connect() as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"home\n")


def recv_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything until the server closes (or ``timeout`` without data)."""
    return read_until_close(sock, timeout)
