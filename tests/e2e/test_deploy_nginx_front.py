"""Real nginx in front of two webserv instances (examples/deploy/nginx-in-front.nginx's
setup): one instance is SIGKILLed under load and no request fails (nginx's
``proxy_next_upstream error timeout`` retries them on the other); webserv's access log shows
the client's address, not nginx's; a redirect carries nginx's public port and scheme."""

from __future__ import annotations

import http.client
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import ServerProcess, wait_until

pytestmark = requires_nginx

CLIENT_IP = "127.0.0.2"  # the client connects from here; nginx reaches webserv from 127.0.0.1
THREADS = 4
PER_THREAD = 75

WEBSERV = """
server {{
    listen 127.0.0.1:{{port}};
    root {base}/www;
    access_log {base}/access-{name}.log;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    real_ip_recursive on;
}}
"""

NGINX = """
upstream webserv {{
    server 127.0.0.1:{one} max_fails=1 fail_timeout=30s;
    server 127.0.0.1:{two} max_fails=1 fail_timeout=30s;
}}
server {{
    listen 127.0.0.1:PORT;
    location / {{
        proxy_pass http://webserv;
        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_next_upstream error timeout;
        proxy_connect_timeout 2s;
        proxy_read_timeout 5s;
    }}
}}
"""


@pytest.fixture(scope="module")
def front(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[int, list[ServerProcess], Path]]:
    base = tmp_path_factory.mktemp("front")
    (base / "www" / "docs").mkdir(parents=True)
    (base / "www" / "index.html").write_text("front\n")
    (base / "www" / "docs" / "index.html").write_text("docs\n")
    servers = []
    try:
        for name in ("one", "two"):
            srv = ServerProcess(WEBSERV.format(base=base, name=name), cwd=base)
            servers.append(srv.start())
        (base / "nginx").mkdir()
        config = NGINX.format(one=servers[0].port, two=servers[1].port)
        with nginx_reference(base / "nginx", config, worker_connections=256) as port:
            yield port, servers, base
    finally:
        for srv in servers:
            srv.stop()


def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(CLIENT_IP, 0))
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


def test_killing_one_instance_mid_load_fails_no_request(front):
    port, servers, base = front
    results: list[tuple[int, bytes] | BaseException] = []
    lock = threading.Lock()
    done = threading.Semaphore(0)

    def client() -> None:
        for i in range(PER_THREAD):
            try:
                status, _, body = get(port, f"/?n={i}")
                outcome: tuple[int, bytes] | BaseException = (status, body)
            except Exception as exc:  # noqa: BLE001 - every failure is reported
                outcome = exc
            with lock:
                results.append(outcome)
            done.release()

    threads = [threading.Thread(target=client) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for _ in range(THREADS * PER_THREAD // 3):  # a third of the load served by both
        assert done.acquire(timeout=30)
    servers[0].proc.send_signal(signal.SIGKILL)
    for thread in threads:
        thread.join(60)
    assert len(results) == THREADS * PER_THREAD
    failures = [r for r in results if not (isinstance(r, tuple) and r == (200, b"front\n"))]
    assert failures == [], servers[1].stderr[-3000:]
    # both served before the kill (a SIGKILLed instance may lose its last buffered lines)
    logs = [(base / f"access-{name}.log") for name in ("one", "two")]
    assert wait_until(lambda: all(log.exists() and log.read_text() for log in logs))


def test_the_access_log_shows_the_client_address_not_nginx_s(front):
    port, servers, base = front
    assert get(port, "/?who")[0] == 200
    log = base / "access-two.log"
    assert wait_until(lambda: "/?who " in log.read_text())
    clients = {line.split(" ", 1)[0] for line in log.read_text().splitlines()}
    assert clients == {CLIENT_IP}


def test_a_redirect_carries_nginx_s_public_port_and_scheme(front):
    port, _, _ = front
    status, headers, _ = get(port, "/docs")
    assert status == 301
    assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/docs/", headers["location"])
    status, _, body = get(port, "/docs/")
    assert (status, body) == (200, b"docs\n")
