"""The ASGI lifespan per worker: shutdown runs in the old generation's workers on reload
and in every worker on a graceful stop; a failing startup stops the server with the
app's message."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from framework.testing import ServerProcess, wait_until

APPS = Path(__file__).resolve().parent.parent / "apps"

CONFIG = f"""
server {{
    listen 127.0.0.1:{{port}};
    asgi_app_dir {APPS};
    location /app/ {{ asgi asgi_starlette_app:app; asgi_lifespan on; }}
}}
"""
FILES = {"www/index.html": "static index\n"}


def shutdowns(marker: Path) -> list[str]:
    return marker.read_text().splitlines() if marker.exists() else []


def test_shutdown_runs_on_reload_for_old_workers_and_on_stop(tmp_path: Path) -> None:
    with ServerProcess("workers 2;\n" + CONFIG, cwd=tmp_path, files=FILES) as server:
        marker = tmp_path / "lifespan-shutdown.txt"
        assert server.get("/app/state").status == 200
        assert shutdowns(marker) == []
        os.kill(server.pid, signal.SIGHUP)
        assert wait_until(lambda: len(set(shutdowns(marker))) >= 2, timeout=20)
        old = set(shutdowns(marker))
        assert wait_until(lambda: server.get("/app/state").status == 200)  # the new workers
        assert server.stop() == 0
    assert len(set(shutdowns(marker)) - old) == 2  # the new generation's, on the stop


def test_failing_lifespan_startup_stops_the_server(tmp_path: Path) -> None:
    config = CONFIG.replace("asgi_starlette_app:app", "asgi_starlette_app:failing")
    server = ServerProcess(config, cwd=tmp_path, files=FILES)
    with pytest.raises(RuntimeError, match="did not start"):
        server.start()
    assert server.proc is not None and server.proc.returncode not in (0, None)
    assert "database unreachable" in server.stderr


def test_graceful_stop_ends_an_open_event_stream_and_runs_shutdown(tmp_path: Path) -> None:
    config = "shutdown_timeout 1s;\n" + CONFIG
    with ServerProcess(config, cwd=tmp_path, files=FILES) as server:
        marker = tmp_path / "lifespan-shutdown.txt"
        sock = server.connect()
        sock.sendall(b"GET /app/sse?tag=stop HTTP/1.1\r\nHost: t\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert server.stop(timeout=20) == 0
        sock.close()
    assert "stop stopped" in (tmp_path / "sse-events.log").read_text().splitlines()
    assert len(shutdowns(marker)) == 1
