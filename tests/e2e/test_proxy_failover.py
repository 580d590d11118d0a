"""Balancing and passive health against real upstream processes: weighted round-robin,
a down server skipped, an upstream SIGKILLed while clients loop (no request fails that
could be retried), and no retry of a non-idempotent request once it was sent."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from proxy_fixtures import STARTUP_TIMEOUT, Backend, echo, fetch, start_all

from framework.testing import ServerProcess, free_port, wait_until

CONFIG = """
upstream weighted {
    server 127.0.0.1:A weight=3;
    server 127.0.0.1:B;
}
upstream withdead {
    server 127.0.0.1:DEAD max_fails=1 fail_timeout=30s;
    server 127.0.0.1:A;
}
upstream killed {
    server 127.0.0.1:K1 max_fails=1 fail_timeout=30s;
    server 127.0.0.1:K2 max_fails=1 fail_timeout=30s;
    keepalive 8;
}
upstream closing {
    server 127.0.0.1:A max_fails=0;
    server 127.0.0.1:B max_fails=0;
}
server {
    listen 127.0.0.1:{port};
    allow_methods GET POST;
    location /weighted/ { proxy_pass http://weighted; }
    location /withdead/ { proxy_pass http://withdead; }
    location /killed/ {
        proxy_pass http://killed;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /closing/ { proxy_pass http://closing; }
}
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, dict]]:
    base = tmp_path_factory.mktemp("proxy-failover")
    backends = {name: Backend(name) for name in ("a", "b", "k1", "k2")}
    server = None
    try:
        start_all(list(backends.values()))
        config = CONFIG.replace("DEAD", str(free_port()))
        for name, backend in backends.items():
            config = config.replace(f":{name.upper()}", f":{backend.port}")
        server = ServerProcess(config, cwd=base, startup_timeout=STARTUP_TIMEOUT).start()
        yield server, backends
    finally:
        if server is not None:
            server.stop()
        for backend in backends.values():
            backend.stop()


def test_weighted_round_robin(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    names = [echo(server.port, f"/weighted/{i}")["name"] for i in range(8)]
    assert Counter(names) == {"a": 6, "b": 2}
    assert "a" not in {names[i] for i in range(8) if names[i : i + 4] == ["a"] * 4}  # smooth


def test_down_server_is_skipped(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    for i in range(6):  # the first one fails over, the others skip the marked server
        assert echo(server.port, f"/withdead/{i}")["name"] == "a"
    assert server.stderr.count("while talking to upstream") >= 1


def test_post_fails_over_on_connect_error(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    seen = echo(server.port, "/withdead/post", method="POST", body=b"data")
    assert seen["name"] == "a"
    assert seen["body_len"] == 4


def test_non_idempotent_request_is_not_retried_once_sent(
    proxy: tuple[ServerProcess, dict],
) -> None:
    server, _ = proxy
    before = server.stderr.count("prematurely closed")
    status, _, _ = fetch(server.port, "POST", "/closing/close", body=b"x")
    assert status == 502
    assert wait_until(lambda: server.stderr.count("prematurely closed") > before)
    after_post = server.stderr.count("prematurely closed")
    assert after_post == before + 1  # one attempt only
    status, _, _ = fetch(server.port, "GET", "/closing/close")
    assert status == 502
    assert wait_until(lambda: server.stderr.count("prematurely closed") == after_post + 2)


def test_upstream_killed_under_load(proxy: tuple[ServerProcess, dict]) -> None:
    server, backends = proxy
    failures: list[object] = []
    served: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                status, _, body = fetch(server.port, "GET", "/killed/x")
            except OSError as exc:
                failures.append(exc)
                continue
            if status != 200:
                failures.append((status, body[:200]))
                continue
            with lock:
                served[body.split(b'"name": "', 1)[1].split(b'"', 1)[0].decode()] += 1

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        assert wait_until(lambda: served["k1"] > 20 and served["k2"] > 20)
        backends["k1"].kill()
        mark = served["k2"]
        assert wait_until(lambda: served["k2"] > mark + 100)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert failures == []
