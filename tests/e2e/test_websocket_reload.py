"""A reload (SIGHUP) and open WebSocket sessions: a session counts as in flight in the
configuration that accepted it, from its 101 until it ends, so the old configuration's
apps are not shut down under it (an ASGI app's lifespan shutdown waits); sessions still
open at shutdown_timeout are closed with 1001 (going away), in one process as with
``workers 2`` (where the retired worker ends them)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from websocket_fixtures import HERE
from websocket_frames import TEXT, frame, open_websocket

from framework.testing import ServerProcess

CONFIG = """
load_module ws_test_app;
error_log stderr info;
%(workers)s
shutdown_timeout 3s;
server {
    listen 127.0.0.1:{port};
    location /ws { handler ws_echo; websocket_idle_timeout 0; websocket_ping_interval 0; }
    location /a {
        asgi asgiapp:app;
        asgi_app_dir apps;
        asgi_lifespan on;
        websocket_idle_timeout 0;
        websocket_ping_interval 0;
    }
}
"""

ASGI_APP = """
state = {"lifespan": "none"}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                state["lifespan"] = "started"
                await send({"type": "lifespan.startup.complete"})
            else:
                state["lifespan"] = "shut down"
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": "lifespan " + state["lifespan"]})
"""


def start(base: Path, workers: str) -> ServerProcess:
    (base / "apps").mkdir()
    (base / "apps" / "asgiapp.py").write_text(ASGI_APP)
    return ServerProcess(CONFIG % {"workers": workers}, cwd=base, pythonpath=[HERE]).start()


def echo(sock, reader, text: bytes, expected: bytes | None = None) -> None:
    sock.sendall(frame(TEXT, text))
    got = reader.read()
    assert got is not None and (got.opcode, got.payload) == (TEXT, expected or text)


@pytest.mark.parametrize("workers", ["", "workers 2;"])
def test_sessions_outlive_a_reload_until_shutdown_timeout_then_get_1001(tmp_path, workers):
    srv = start(tmp_path, workers)
    try:
        with srv.connect() as asgi_sock, srv.connect() as native_sock:
            asgi = open_websocket(asgi_sock, "/a")
            native = open_websocket(native_sock, "/ws")
            echo(asgi_sock, asgi, b"?", b"lifespan started")
            echo(native_sock, native, b"before")
            srv.proc.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
            assert srv.wait_for_log("reloaded configuration")
            echo(asgi_sock, asgi, b"?", b"lifespan started")  # its app is not shut down
            echo(native_sock, native, b"after")
            for sock, reader in ((asgi_sock, asgi), (native_sock, native)):
                sock.settimeout(15)
                _, close = reader.until_close()  # at shutdown_timeout (3s)
                assert close is not None and close.close_code == 1001
        with srv.connect() as sock:  # the new configuration serves new sessions
            reader = open_websocket(sock, "/a")
            echo(sock, reader, b"?", b"lifespan started")
        if not workers:  # the old configuration cut them at its deadline
            assert srv.wait_for_log("closing 2 upgraded connection")
        assert srv.stop() == 0
    finally:
        srv.stop()
