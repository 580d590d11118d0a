"""Issue 9 item 1: one connection pipelines tens of thousands of requests and reads nothing.
The server must stop answering (and so reading) while the responses it owes that client sit
unsent above the write queue's high-water mark: its memory stays bounded, and once the client
reads, every response arrives complete and in order."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from framework.testing import ResponseReader, ServerProcess, wait_until

COUNT = 50_000
SIZE = 2048  # per response body: unbounded, 50,000 of them would hold > 100 MB
RSS_BOUND_KIB = 64 * 1024

CONFIG = """
access_log off;
server {
    listen 127.0.0.1:{port};
    root www;
    send_timeout 60s;
    location / { allow_methods GET; }
}
"""


@pytest.fixture(params=["uvloop", "asyncio"])
def srv(request, tmp_path: Path):
    files = {"www/s0.txt": b"0" * SIZE, "www/s1.txt": b"1" * SIZE}
    server = ServerProcess(
        CONFIG, cwd=tmp_path, files=files, env={"WEBSERV_EVENT_LOOP": request.param}
    ).start()
    yield server
    server.stop()


def flood() -> bytes:
    return b"".join(b"GET /s%d.txt HTTP/1.1\r\nHost: a\r\n\r\n" % (i % 2) for i in range(COUNT))


def test_a_pipelined_flood_that_reads_nothing_keeps_server_memory_bounded(srv):
    with srv.connect() as warm:  # the baseline includes the code paths of a normal request
        warm.sendall(b"GET /s0.txt HTTP/1.1\r\nHost: a\r\n\r\n")
        assert ResponseReader(warm).read().status == 200
    before = srv.rss_kib()
    sock = srv.connect(60)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sender = threading.Thread(target=sock.sendall, args=(flood(),), daemon=True)
    sender.start()
    peak = [0]

    def grew_past_bound() -> bool:
        peak[0] = max(peak[0], srv.rss_kib() - before)
        return peak[0] > RSS_BOUND_KIB

    # unbounded, the server reads the whole flood and queues every response: the sender
    # finishes and RSS climbs; bounded, the sender stays blocked and RSS stays flat
    wait_until(lambda: not sender.is_alive() and grew_past_bound(), 8)
    grew_past_bound()
    assert peak[0] <= RSS_BOUND_KIB, f"server RSS grew {peak[0]} KiB for one unread flood"

    # the client finally reads: every response, complete and in order
    reader = ResponseReader(sock)
    for i in range(COUNT):
        r = reader.read()
        assert (r.status, r.body) == (200, (b"%d" % (i % 2)) * SIZE), f"response {i}"
    sender.join(10)
    assert not sender.is_alive()
    sock.close()
    with srv.connect() as other:
        other.sendall(b"GET /s1.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert ResponseReader(other).read().status == 200


def test_a_flood_client_that_never_reads_is_closed_after_send_timeout(tmp_path: Path):
    config = CONFIG.replace("send_timeout 60s", "send_timeout 1s")
    files = {"www/s0.txt": b"0" * SIZE, "www/s1.txt": b"1" * SIZE}
    with ServerProcess(config, cwd=tmp_path, files=files) as server:
        sock = server.connect(30)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sender = threading.Thread(target=_send_quietly, args=(sock, flood()), daemon=True)
        sender.start()
        # the server gives up on the client: the connection is reset or closed, so the
        # blocked sender fails (well before the 30 s deadline of this wait)
        assert wait_until(lambda: not sender.is_alive(), 30)
        sock.close()


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass
