"""The reference nginx for differential tests: ``nginx_reference(base, servers)`` runs
nginx 1.x in the foreground with the given ``server { }`` blocks (``PORT`` in them becomes
a free port) and yields that port. Tests that use it skip when nginx is not installed
(``requires_nginx``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from framework.testing import free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
requires_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def wait_port(port: int, proc: subprocess.Popen) -> None:
    """Wait until ``proc`` listens on ``port`` (raises if it exits or takes over 10 s)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)  # test-side polling for the reference server's startup
    raise RuntimeError("nginx did not start")


@contextmanager
def nginx_reference(
    base: Path, servers: str, port: int = 0, *, worker_connections: int = 64
) -> Iterator[int]:
    """Run nginx with ``servers`` (http-level text; ``PORT`` is replaced by ``port`` or a
    free port) from ``base``; yields the port, stops nginx afterwards."""
    assert NGINX is not None
    port = port or free_port()
    (base / "nginx-tmp").mkdir(exist_ok=True)
    temp = " ".join(
        f"{kind}_temp_path {base / 'nginx-tmp'};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = base / "nginx.conf"
    conf.write_text(
        f"daemon off; master_process off; worker_processes 1; pid {base / 'nginx.pid'};\n"
        f"error_log {base / 'nginx-error.log'};\n"
        f"events {{ worker_connections {worker_connections}; }}\n"
        f"http {{ access_log off; {temp}\n{servers.replace('PORT', str(port))}\n}}\n"
    )
    proc = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(base), "-e", str(base / "nginx-error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
