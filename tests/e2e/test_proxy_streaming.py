"""Streaming through the proxy with backpressure: a slow client pauses the upstream (the
proxy does not buffer the response), and 100 MB each way keeps the worker's RSS flat."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from proxy_fixtures import STARTUP_TIMEOUT, Backend

from framework.testing import ServerProcess

CONFIG = """
server {
    listen 127.0.0.1:{port};
    client_max_body_size 0;
    location / { proxy_pass http://127.0.0.1:ONE; proxy_http_version 1.1; }
    location /unbuffered/ {
        proxy_pass http://127.0.0.1:ONE;
        proxy_http_version 1.1;
        proxy_buffering off;
    }
}
"""
MB = 1024 * 1024


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Backend]]:
    base = tmp_path_factory.mktemp("proxy-stream")
    backend = Backend("one").start()
    server = None
    try:
        server = ServerProcess(
            CONFIG.replace("ONE", str(backend.port)), cwd=base, startup_timeout=STARTUP_TIMEOUT
        ).start()
        yield server, backend
    finally:
        if server is not None:
            server.stop()
        backend.stop()


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, data
        data += more
    return data.partition(b"\r\n\r\n")[2]


def _stable(read: callable, settle: float = 0.3) -> int:  # type: ignore[valid-type]
    """Poll ``read()`` until two readings ``settle`` seconds apart agree; the value."""
    last = read()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(settle)  # sampling interval of a counter, not a wait for an event
        now = read()
        if now == last:
            return now
        last = now
    return last


@pytest.mark.parametrize("prefix", ["/", "/unbuffered/"])
def test_slow_client_pauses_the_upstream(proxy: tuple[ServerProcess, Backend], prefix: str) -> None:
    server, backend = proxy
    start = backend.stats()["stream_written"]
    with server.connect() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(f"GET {prefix}stream?n={1024 * MB} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        got = len(_read_head(sock))
        while got < MB:
            got += len(sock.recv(65536))
        written = _stable(lambda: backend.stats()["stream_written"]) - start
        # what the socket buffers and the proxy's bounded queues hold, not the whole gigabyte
        print(f"\nupstream wrote {written / MB:.1f} MiB while the client read 1 MiB")
        assert written < 64 * MB, written
        while got < written + 8 * MB:  # reading again lets it flow (more than was written)
            chunk = sock.recv(1 << 20)
            assert chunk
            got += len(chunk)


def test_100_mb_each_way_keeps_rss_flat(proxy: tuple[ServerProcess, Backend]) -> None:
    server, _ = proxy
    total = 100 * MB
    before = server.rss_kib()
    with server.connect(timeout=60) as sock:  # download
        sock.sendall(f"GET /length?n={total} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        got = len(_read_head(sock))
        while got < total:
            chunk = sock.recv(1 << 20)
            assert chunk
            got += len(chunk)
    peak = server.rss_kib()
    with server.connect(timeout=60) as sock:  # upload, streamed to the upstream
        sock.sendall(
            f"POST /discard HTTP/1.1\r\nHost: x\r\nContent-Length: {total}\r\n\r\n".encode()
        )
        block = b"u" * MB
        for _ in range(total // MB):
            sock.sendall(block)
        answer = _read_head(sock)
        while not answer.endswith(b"}"):
            answer += sock.recv(65536)
        assert json.loads(answer)["body_len"] == total
    peak = max(peak, server.rss_kib())
    print(f"\nRSS before {before} KiB, peak {peak} KiB")
    assert peak - before < 32 * 1024, (before, peak)
