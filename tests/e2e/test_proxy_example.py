"""examples/proxy runs as its README says: two app.py instances behind the upstream, the
static page beside them, failover when one is killed, the down page when both are."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from proxy_fixtures import STARTUP_TIMEOUT, fetch

from framework.testing import ServerProcess, free_port, wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "proxy"


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def example(tmp_path: Path) -> Iterator[tuple[ServerProcess, list[subprocess.Popen[bytes]]]]:
    shutil.copytree(EXAMPLE, tmp_path / "proxy")
    base = tmp_path / "proxy"
    ports = [free_port(), free_port()]
    apps = [
        subprocess.Popen([sys.executable, str(base / "app.py"), str(port), name],
                         stdout=subprocess.DEVNULL)
        for port, name in zip(ports, ("one", "two"), strict=True)
    ]  # fmt: skip
    server = None
    try:
        for port in ports:
            assert wait_until(lambda port=port: _listening(port))
        text = (base / "proxy.conf").read_text()
        text = text.replace("127.0.0.1:8001", f"127.0.0.1:{ports[0]}")
        text = text.replace("127.0.0.1:8002", f"127.0.0.1:{ports[1]}")
        text = text.replace("127.0.0.1:8080", "127.0.0.1:{port}")
        server = ServerProcess(text, cwd=base, startup_timeout=STARTUP_TIMEOUT).start()
        yield server, apps
    finally:
        if server is not None:
            server.stop()
        for app in apps:
            app.kill()
            app.wait()


def test_the_proxy_example(example: tuple[ServerProcess, list[subprocess.Popen[bytes]]]) -> None:
    server, apps = example
    status, _, body = fetch(server.port, "GET", "/")
    assert status == 200 and b"Static page" in body
    answers = [json.loads(fetch(server.port, "GET", f"/api/x{i}")[2]) for i in range(4)]
    assert {a["app"] for a in answers} == {"one", "two"}
    assert answers[0]["path"] == "/x0"  # /api/ replaced by /
    assert answers[0]["client"] == "127.0.0.1"
    apps[0].kill()
    apps[0].wait()
    for i in range(10):
        status, _, body = fetch(server.port, "GET", f"/api/after{i}")
        assert status == 200 and json.loads(body)["app"] == "two"
    apps[1].kill()
    apps[1].wait()
    status, _, body = fetch(server.port, "GET", "/api/gone")
    assert status == 502 and b"The app is down" in body
