"""Stopping a server while a WSGI request is blocked in the app: the graceful stop ends at
``shutdown_timeout`` and the process exits cleanly; no pool thread keeps it alive (they
are daemon threads, and the request's waits are cancelled)."""

from __future__ import annotations

import signal

import pytest
from wsgi_fixtures import send_request, site_files, wait_state

from framework.testing import ServerProcess

CONFIG = """
shutdown_timeout 1s;
WORKERS
server {
    listen 127.0.0.1:{port};
    asgi_app_dir apps;
    location / { wsgi flask_site:app; }
    location /control/ { wsgi flask_site:control; asgi_root_path /control; }
}
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_a_request_blocked_in_the_app_does_not_keep_the_server_from_stopping(tmp_path, workers):
    config = CONFIG.replace("WORKERS", f"workers {workers};")
    srv = ServerProcess(config, cwd=tmp_path, files=site_files(), startup_timeout=30).start()
    try:
        with send_request(srv, "/wait?timeout=120"):
            # each poll is a new connection: with 2 workers, one reaches the busy worker
            wait_state(srv, lambda s: s["running"] == 1)
            code = srv.stop(signal.SIGTERM, timeout=30)
    finally:
        srv.kill()
    assert code == 0, srv.stderr  # exited by itself, not killed after the 30 s
