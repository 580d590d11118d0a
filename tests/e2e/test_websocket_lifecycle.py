"""WebSocket sessions and the server's timers and signals: the engine's header, keep-alive
and handler-progress timeouts do not end a live session (its own idle timeout does); a
reload lets open sessions go on until shutdown_timeout, then ends them with 1001 (in one
process as with ``workers 2``, as nginx's old workers end at worker_shutdown_timeout)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

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
    client_header_timeout 1s;
    keepalive_timeout 1s;
    send_timeout 1s;
    location /ws { handler ws_echo; websocket_idle_timeout 0; websocket_ping_interval 0; }
}
"""


def start(base: Path, workers: str = "") -> ServerProcess:
    return ServerProcess(CONFIG % {"workers": workers}, cwd=base, pythonpath=[HERE]).start()


def echo(sock, reader, text: bytes) -> None:
    sock.sendall(frame(TEXT, text))
    got = reader.read()
    assert got is not None and (got.opcode, got.payload) == (TEXT, text)


def test_engine_timeouts_do_not_end_a_quiet_session(tmp_path):
    srv = start(tmp_path)
    try:
        with srv.connect() as sock:
            reader = open_websocket(sock)
            echo(sock, reader, b"first")
            time.sleep(2.5)  # the condition under test: quiet for longer than every 1s timeout
            echo(sock, reader, b"still open")
    finally:
        srv.stop()


def test_a_reload_keeps_open_sessions_in_one_process(tmp_path):
    srv = start(tmp_path)
    try:
        with srv.connect() as sock:
            reader = open_websocket(sock)
            echo(sock, reader, b"before")
            srv.proc.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
            assert srv.wait_for_log("reloaded configuration")
            echo(sock, reader, b"after")
    finally:
        srv.stop()


def test_a_reload_with_workers_lets_sessions_finish_until_shutdown_timeout(tmp_path):
    srv = start(tmp_path, "workers 2;")
    try:
        with srv.connect() as sock:
            reader = open_websocket(sock)
            echo(sock, reader, b"before")
            srv.proc.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
            assert srv.wait_for_log(r"reloaded configuration \(2 workers\)")
            echo(sock, reader, b"after")  # the retired worker still serves it
            sock.settimeout(15)
            _, close = reader.until_close()  # at its shutdown_timeout (3s)
            assert close is not None and close.close_code == 1001
        with srv.connect() as sock:  # the new workers serve new sessions
            reader = open_websocket(sock)
            echo(sock, reader, b"new")
        assert srv.stop() == 0
    finally:
        srv.stop()
