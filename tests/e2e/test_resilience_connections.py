"""Resilience of the running server against hostile or clumsy clients (SPEC 5 timeouts,
SPEC 8 reliability): slowloris, silent and half-closed clients, resets mid-response,
max_connections, fd leaks, pipelining and connection closing. Each test checks the exact
outcome and that the server still serves a normal client afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import time
from pathlib import Path

import pytest

from framework.testing import ServerProcess, read_response, read_until_close, wait_until

PLUGINS = '''
import asyncio
from framework import Handler, Response


class Late(Handler):
    """Answers after a short pause, with a Content-Length."""
    name = "late"
    async def handle(self, request, call_next):
        await asyncio.sleep(0.3)
        return Response(200, b"late", {"Content-Type": "text/plain"})


class Drip(Handler):
    """Streams three parts, a short pause apart (chunked)."""
    name = "drip"
    async def handle(self, request, call_next):
        async def parts():
            for i in range(3):
                await asyncio.sleep(0.1)
                yield b"part%d;" % i
        return Response(200, parts(), {"Content-Type": "text/plain"})


class Flood(Handler):
    """Streams up to 64 MiB; records how many 256 KiB chunks it produced when it stops."""
    name = "flood"
    async def handle(self, request, call_next):
        tag = request.query or "flood"
        async def parts():
            produced = 0
            try:
                for _ in range(256):
                    produced += 1
                    yield b"f" * (256 * 1024)
            finally:
                with open(tag + ".count", "w") as f:
                    f.write(str(produced))
        return Response(200, parts(), {"Content-Type": "application/octet-stream"})


class Hang(Handler):
    """Marks that it started (a file named by the query), then takes a minute; marks its
    cancellation."""
    name = "hang"
    async def handle(self, request, call_next):
        open(request.query + ".started", "w").close()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            open(request.query + ".cancelled", "w").close()
            raise
        return Response(200, b"too late", {"Content-Type": "text/plain"})


class Echo(Handler):
    name = "echo"
    async def handle(self, request, call_next):
        return Response(200, await request.read(), {"Content-Type": "application/octet-stream"})
'''

CONFIG = """
load_module resilience_conn_plugins;
access_log off;
{extra}
server {{
    listen 127.0.0.1:{{port}};
    root www;
    client_header_timeout 1s;
    keepalive_timeout {keepalive};
    send_timeout 5s;
    location / {{ allow_methods GET HEAD; }}
    location /late {{ handler late; }}
    location /drip {{ handler drip; }}
    location /flood {{ handler flood; }}
    location /hang {{ handler hang; send_timeout 30s; }}
    location /echo {{ handler echo; allow_methods POST; client_max_body_size 64m;
                     client_body_timeout 2s; }}
}}
"""

BIG = 16 * 1024 * 1024
FILES = {
    "www/index.html": "home\n",
    "www/a.txt": "alpha\n",
    "www/b.txt": "bravo!\n",
    "www/c.txt": "charlie\n",
    "resilience_conn_plugins.py": PLUGINS,
}


def start(
    root: Path, *, extra: str = "", keepalive: str = "3s", loop: str = "auto"
) -> ServerProcess:
    (root / "www").mkdir(parents=True, exist_ok=True)
    (root / "www" / "big.bin").write_bytes(bytes(range(256)) * (BIG // 256))
    config = CONFIG.format(extra=extra, keepalive=keepalive)
    env = {"PYTHONPATH": str(root), "WEBSERV_EVENT_LOOP": loop}
    return ServerProcess(config, cwd=root, files=FILES, env=env).start()


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def srv(request, tmp_path_factory):
    server = start(tmp_path_factory.mktemp(f"resilience-conn-{request.param}"), loop=request.param)
    yield server
    server.stop()


def get(path: str, *, version: str = "1.1", close: bool = False, method: str = "GET") -> bytes:
    head = f"{method} {path} HTTP/{version}\r\nHost: a\r\n"
    if close:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode()


def still_serves(srv: ServerProcess) -> None:
    with srv.connect() as sock:
        sock.sendall(get("/index.html", close=True))
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"home\n")


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets an RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def fds_settle_to(srv: ServerProcess, baseline: int) -> bool:
    return wait_until(lambda: srv.open_fds() <= baseline)


def baseline_fds(srv: ServerProcess) -> int:
    """The server's fd count with no client connected (after one warm-up request)."""
    with srv.connect() as sock:
        sock.sendall(get("/index.html", close=True))
        assert read_response(sock).status == 200
        read_until_close(sock, 5)
    seen = [srv.open_fds()]

    def stable() -> bool:  # a lingering close may hold the fd a little longer
        seen.append(srv.open_fds())
        return len(seen) > 5 and len(set(seen[-5:])) == 1

    wait_until(stable, 3)
    return min(seen)


# -- slow and silent clients -----------------------------------------------------------------
def test_slowloris_connections_get_408_and_are_closed_while_a_normal_client_is_served(srv):
    drips = []
    for i in range(20):
        sock = srv.connect()
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\nX-Drip-%d: " % i)
        sock.setblocking(False)
        drips.append(sock)
    received = {s: b"" for s in drips}
    closed: set[socket.socket] = set()
    served = 0
    deadline = time.monotonic() + 10
    while len(closed) < len(drips) and time.monotonic() < deadline:
        for sock in drips:
            if sock in closed:
                continue
            with contextlib.suppress(BlockingIOError):
                sock.send(b"a")  # one header byte every round: never completes the head
            try:
                while chunk := sock.recv(65536):
                    received[sock] += chunk
                closed.add(sock)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(sock)
        still_serves(srv)  # a normal client is served meanwhile
        served += 1
        time.sleep(0.1)  # the slowloris client's pace
    for sock in drips:
        sock.close()
    assert len(closed) == len(drips), f"{len(drips) - len(closed)} slowloris clients still open"
    statuses = {data[:12] for data in received.values()}
    assert statuses == {b"HTTP/1.1 408"}, statuses
    assert served >= 1
    still_serves(srv)


def test_many_silent_connections_are_closed_and_never_block_others(srv):
    silent = [srv.connect() for _ in range(50)]
    still_serves(srv)
    for sock in silent:
        assert read_until_close(sock, 10) == b""
    for sock in silent:
        sock.close()
    still_serves(srv)


def test_idle_connection_after_a_response_is_closed_but_not_before_answering_it(srv):
    with srv.connect() as sock:
        sock.sendall(get("/a.txt"))
        r = read_response(sock)
        assert (r.status, r.body) == (200, b"alpha\n")
        assert read_until_close(sock, 10) == b""  # keepalive_timeout, then FIN
    still_serves(srv)


# -- half-closed clients ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "path, body",
    [("/a.txt", b"alpha\n"), ("/big.bin", None)],
    ids=["small_file", "large_file"],
)
def test_half_closed_client_still_gets_the_static_response(srv, path, body):
    with srv.connect() as sock:
        sock.sendall(get(path))
        sock.shutdown(socket.SHUT_WR)
        r = read_response(sock)
        assert r.status == 200
        if body is not None:
            assert r.body == body
        else:
            assert len(r.body) == BIG
        assert read_until_close(sock, 10) == b""  # then the server closes its side
    still_serves(srv)


@pytest.mark.parametrize(
    "path, body",
    [
        ("/drip", b"part0;part1;part2;"),
    ],
    ids=["stream"],
)
def test_half_closed_client_still_gets_a_response_from_a_slow_handler(srv, path, body):
    with srv.connect() as sock:
        sock.sendall(get(path))
        sock.shutdown(socket.SHUT_WR)
        r = read_response(sock)
        assert (r.status, r.body) == (200, body)
    still_serves(srv)


def test_half_closed_client_whose_handler_is_still_working_is_treated_as_gone(srv):
    """Decision: a FIN that arrives while a handler works on the client's request, with no
    other request pending, means the client is gone (as nginx treats a client closing during
    a proxied or FastCGI request): the handler is cancelled and the connection closed without
    a response. A half-closing client that wants its answer must not be slow to get it."""
    root = Path(srv.cwd)
    with srv.connect() as sock:
        sock.sendall(get("/hang?alone"))
        assert wait_until(lambda: (root / "alone.started").exists())
        sock.shutdown(socket.SHUT_WR)
        assert wait_until(lambda: (root / "alone.cancelled").exists())
        sock.settimeout(10)
        assert sock.recv(65536) == b""  # closed, no response (a timeout fails the test)
    still_serves(srv)


def test_half_closed_client_with_a_deep_pipeline_gets_every_response(srv):
    count = 20_000
    with srv.connect(15) as sock:
        sock.sendall(get("/a.txt") * count)
        sock.shutdown(socket.SHUT_WR)
        data = read_until_close(sock, 15)
    assert data.count(b"alpha\n") == count
    still_serves(srv)


def test_a_pipelined_head_is_not_timed_while_earlier_requests_are_answered(srv):
    """nginx starts client_header_timeout (1 s here) when it reads a request, so a head that
    began in the same read as slow requests ahead of it (9 x 0.3 s) is not timed out while
    they are answered: its client finishes it once their answers arrive."""
    with srv.connect(15) as sock:
        sock.sendall(get("/late") * 9 + b"GET /a.txt HTTP/1.1\r\nHost: a\r\n")
        for _ in range(9):
            assert read_response(sock).status == 200
        sock.sendall(b"\r\n")
        r = read_response(sock)
        assert (r.status, r.body) == (200, b"alpha\n")
    still_serves(srv)


def test_half_closed_http_1_0_client_gets_its_response(srv):
    with srv.connect() as sock:
        sock.sendall(get("/b.txt", version="1.0"))
        sock.shutdown(socket.SHUT_WR)
        data = read_until_close(sock, 10)
    assert data.startswith(b"HTTP/1.1 200 ") or data.startswith(b"HTTP/1.0 200 ")
    assert data.endswith(b"\r\n\r\nbravo!\n")
    still_serves(srv)


# -- resets mid-response ---------------------------------------------------------------------
def test_reset_in_the_middle_of_a_large_file_leaves_no_fd_and_the_server_serves_on(srv):
    fds = baseline_fds(srv)
    for _ in range(10):
        sock = srv.connect()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.sendall(get("/big.bin"))
        got = b""
        while len(got) < 100_000:
            chunk = sock.recv(65536)
            assert chunk, "server closed before sending 100 kB of a 16 MiB file"
            got += chunk
        assert got.startswith(b"HTTP/1.1 200 ")
        reset(sock)
    still_serves(srv)
    assert fds_settle_to(srv, fds), f"fds: {fds} before, {srv.open_fds()} after"


def test_reset_in_the_middle_of_a_chunked_stream_stops_the_producer(srv):
    fds = baseline_fds(srv)
    root = Path(srv.cwd)
    sock = srv.connect()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.sendall(get("/flood?rst"))
    got = b""
    while len(got) < 300_000:
        chunk = sock.recv(65536)
        assert chunk
        got += chunk
    assert got.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding: chunked" in got.split(b"\r\n\r\n")[0].lower()
    reset(sock)
    assert wait_until(lambda: (root / "rst.count").exists()), "stream generator never closed"
    assert wait_until(lambda: (root / "rst.count").read_text() != "")
    assert int((root / "rst.count").read_text()) < 256  # stopped early, did not run to the end
    still_serves(srv)
    assert fds_settle_to(srv, fds), f"fds: {fds} before, {srv.open_fds()} after"


def test_reset_before_the_response_cancels_quietly_and_the_server_serves_on(srv):
    fds = baseline_fds(srv)
    for _ in range(10):
        sock = srv.connect()
        sock.sendall(get("/late"))
        reset(sock)
    still_serves(srv)
    assert fds_settle_to(srv, fds), f"fds: {fds} before, {srv.open_fds()} after"


def test_client_vanishing_mid_upload_does_not_hurt_the_server(srv):
    fds = baseline_fds(srv)
    for close in (reset, socket.socket.close):
        sock = srv.connect()
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n")
        sock.sendall(b"u" * 300_000)
        close(sock)
    with srv.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"hello")
    assert fds_settle_to(srv, fds), f"fds: {fds} before, {srv.open_fds()} after"


# -- connection accounting -------------------------------------------------------------------
def test_a_thousand_sequential_connections_leave_no_fd_behind(srv):
    fds = baseline_fds(srv)
    for i in range(1000):
        with srv.connect() as sock:
            if i % 4 == 3:
                continue  # connect and leave without a request
            sock.sendall(get("/a.txt", close=True))
            r = read_response(sock)
            assert r.status == 200
    still_serves(srv)
    assert fds_settle_to(srv, fds), f"fds: {fds} before, {srv.open_fds()} after"


def test_an_idle_keep_alive_connection_costs_one_fd_even_after_deep_pipelining(srv):
    fds = baseline_fds(srv)
    socks = [srv.connect() for _ in range(20)]
    for sock in socks:
        sock.sendall(get("/a.txt") * 30)
    for sock in socks:
        assert [read_response(sock).body for _ in range(30)] == [b"alpha\n"] * 30
    # all 20 connections are still open: one fd each (a closing leftover may linger a moment)
    settled = wait_until(lambda: srv.open_fds() <= fds + len(socks))
    held = srv.open_fds()
    for sock in socks:
        sock.close()
    assert settled, f"{held} fds for {len(socks)} idle connections over a baseline of {fds}"


def test_a_thousand_simultaneous_clients_are_all_served(srv):
    # each sends at once: this server's client_header_timeout is 1 s, and opening a
    # thousand connections first can take longer than that on a loaded machine
    socks = []
    for _ in range(1000):
        sock = srv.connect()
        sock.sendall(get("/c.txt", close=True))
        socks.append(sock)
    bodies = []
    for sock in socks:
        r = read_response(sock)
        bodies.append((r.status, r.body))
        sock.close()
    assert bodies == [(200, b"charlie\n")] * 1000
    still_serves(srv)


def test_connections_over_max_connections_wait_and_are_served_when_others_close(tmp_path):
    srv = start(tmp_path, extra="max_connections 4;", keepalive="30s")
    try:
        holders = [srv.connect() for _ in range(4)]
        for sock in holders:
            sock.sendall(get("/a.txt"))
            assert read_response(sock).status == 200
        waiting = [srv.connect() for _ in range(6)]  # accepted by the kernel backlog only
        for sock in waiting:
            sock.sendall(get("/b.txt", close=True))
        for sock in holders:
            sock.close()
        results = [read_response(sock) for sock in waiting]
        assert [(r.status, r.body) for r in results] == [(200, b"bravo!\n")] * 6
        for sock in waiting:
            sock.close()
        still_serves(srv)
    finally:
        assert srv.stop() == 0


def test_connections_over_max_connections_are_served_once_idle_ones_time_out(tmp_path):
    srv = start(tmp_path, extra="max_connections 3;", keepalive="1s")
    try:
        holders = [srv.connect() for _ in range(3)]
        for sock in holders:
            sock.sendall(get("/a.txt"))
            assert read_response(sock).status == 200
        waiting = [srv.connect(timeout=15) for _ in range(5)]
        for sock in waiting:
            sock.sendall(get("/c.txt", close=True))
        # nobody closes the holders: keepalive_timeout frees their slots
        results = [read_response(sock) for sock in waiting]
        assert [(r.status, r.body) for r in results] == [(200, b"charlie\n")] * 5
        for sock in holders:
            assert read_until_close(sock, 10) == b""
            sock.close()
        for sock in waiting:
            sock.close()
        still_serves(srv)
    finally:
        assert srv.stop() == 0


# -- pipelining and closing ------------------------------------------------------------------
def test_two_hundred_pipelined_requests_in_one_send_are_answered_in_order(srv):
    kinds = [
        ("GET", "/a.txt", 200, b"alpha\n"),
        ("GET", "/b.txt", 200, b"bravo!\n"),
        ("HEAD", "/c.txt", 200, b""),
        ("GET", "/missing.txt", 404, None),
    ]
    plan = [kinds[i % len(kinds)] for i in range(200)]
    data = b"".join(get(path, method=m, close=i == 199) for i, (m, path, _, _) in enumerate(plan))
    with srv.connect() as sock:
        sock.sendall(data)
        for i, (method, _, status, body) in enumerate(plan):
            r = read_response(sock, head_only=method == "HEAD")
            assert r.status == status, f"response {i}"
            if body is not None:
                assert r.body == body, f"response {i}"
            if method == "HEAD":
                assert r.header("Content-Length") == "8"
        assert read_until_close(sock, 10) == b""
    still_serves(srv)


def test_connection_close_is_honoured_and_later_pipelined_requests_are_not_answered(srv):
    with srv.connect() as sock:
        sock.sendall(get("/a.txt", close=True) + get("/b.txt"))
        r = read_response(sock)
        assert (r.status, r.body) == (200, b"alpha\n")
        assert r.header("Connection") == "close"
        assert read_until_close(sock, 10) == b""
    still_serves(srv)


def test_http_1_0_without_keep_alive_gets_one_response_then_close(srv):
    with srv.connect() as sock:
        sock.sendall(get("/a.txt", version="1.0") + get("/b.txt", version="1.0"))
        r = read_response(sock)
        assert (r.status, r.body) == (200, b"alpha\n")
        assert (r.header("Connection") or "close").lower() == "close"
        assert read_until_close(sock, 10) == b""
    still_serves(srv)


def test_http_1_0_keep_alive_keeps_the_connection_open(srv):
    with srv.connect() as sock:
        for _ in range(3):
            sock.sendall(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = read_response(sock)
            assert (r.status, r.body) == (200, b"alpha\n")
            assert (r.header("Connection") or "").lower() == "keep-alive"
    still_serves(srv)


def test_a_pipelining_client_that_does_not_read_cannot_make_the_server_buffer_without_bound(srv):
    count = 50_000  # ~2 MB of requests, ~12 MB of responses
    one = get("/a.txt")
    rss_before = srv.rss_kib()
    data = memoryview(one * count)
    sent = 0
    got = bytearray()
    with srv.connect() as sock:
        sock.setblocking(False)
        # 1. send without reading until the server stops taking bytes (or all are sent)
        stalled_since = time.monotonic()
        while sent < len(data) and time.monotonic() - stalled_since < 1.0:
            try:
                sent += sock.send(data[sent : sent + 65536])
                stalled_since = time.monotonic()
            except BlockingIOError:
                time.sleep(0.01)
        grew = srv.rss_kib() - rss_before
        # 2. now read everything, sending the rest as the server asks for it; give up only
        # when the server makes no progress for 30 s (a loaded machine is slow, not stuck).
        # The bodies are counted as they arrive: rescanning 12 MB per recv made the client
        # itself the bottleneck.
        bodies = 0
        stalled_since = time.monotonic()
        while bodies < count and time.monotonic() - stalled_since < 30:
            progressed = False
            if sent < len(data):
                with contextlib.suppress(BlockingIOError):
                    sent += sock.send(data[sent : sent + 65536])
                    progressed = True
            try:
                chunk = sock.recv(1 << 20)
                assert chunk, "server closed a pipelined connection"
                overlap = len(b"alpha\n") - 1
                tail = bytes(got[-overlap:]) if got else b""
                got += chunk
                bodies += (tail + chunk).count(b"alpha\n")
                progressed = True
            except BlockingIOError:
                pass
            if progressed:
                stalled_since = time.monotonic()
            else:
                time.sleep(0.001)
    assert got.count(b"HTTP/1.1 200 OK\r\n") == count
    assert got.count(b"alpha\n") == count
    assert grew < 8 * 1024, f"server RSS grew {grew} KiB while the client did not read"
    still_serves(srv)


def test_pipelined_slow_and_fast_responses_keep_their_order(srv):
    with srv.connect() as sock:
        sock.sendall(get("/late") + get("/a.txt") + get("/drip") + get("/b.txt", close=True))
        bodies = [read_response(sock).body for _ in range(4)]
        assert read_until_close(sock, 10) == b""
    assert bodies == [b"late", b"alpha\n", b"part0;part1;part2;", b"bravo!\n"]
    still_serves(srv)


def test_head_of_a_streamed_response_sends_no_body_and_the_connection_stays_in_sync(srv):
    with srv.connect() as sock:
        sock.sendall(get("/drip", method="HEAD") + get("/a.txt", close=True))
        head = read_response(sock, head_only=True)
        after = read_response(sock)
    assert head.status == 200
    assert (after.status, after.body) == (200, b"alpha\n")
    still_serves(srv)


def test_half_closed_client_after_a_full_request_body_gets_the_echo(srv):
    body = bytes(range(256)) * 1024
    with srv.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body))
        sock.sendall(body)
        sock.shutdown(socket.SHUT_WR)
        r = read_response(sock)
    assert (r.status, r.body) == (200, body)
    still_serves(srv)


def test_half_closed_pipelining_client_gets_every_response_queued_before_its_fin(srv):
    """The FIN is read after both requests: the second is still queued then, so the FIN only
    means "nothing after these" and both are answered, the slow one first."""
    with srv.connect() as sock:
        sock.sendall(get("/late") + get("/a.txt"))
        sock.shutdown(socket.SHUT_WR)
        first = read_response(sock)
        second = read_response(sock)
        assert read_until_close(sock, 10) == b""
    assert (first.body, second.body) == (b"late", b"alpha\n")
    still_serves(srv)


def test_half_closed_pipelining_client_loses_only_the_last_request_still_being_handled(srv):
    """Same decision as for a single request: answered requests stay answered; the FIN that
    arrives while the handler of the last one works cancels it."""
    root = Path(srv.cwd)
    with srv.connect() as sock:
        sock.sendall(get("/a.txt") + get("/hang?piped"))
        first = read_response(sock)
        assert wait_until(lambda: (root / "piped.started").exists())
        sock.shutdown(socket.SHUT_WR)
        assert wait_until(lambda: (root / "piped.cancelled").exists())
        sock.settimeout(10)
        assert sock.recv(65536) == b""
    assert (first.status, first.body) == (200, b"alpha\n")
    still_serves(srv)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_stalled_readers_and_idle_keep_alive_clients_cost_no_cpu(srv):
    stalled, idle = [], []
    for _ in range(5):  # asked for 16 MiB, read nothing: the server waits for writability
        sock = srv.connect()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(get("/big.bin"))
        stalled.append(sock)
    for _ in range(5):
        sock = srv.connect()
        sock.sendall(get("/a.txt"))
        assert read_response(sock).status == 200
        idle.append(sock)
    last = [cpu_seconds(srv.pid)]

    def filled() -> bool:  # the socket buffers are full once the server stops working
        time.sleep(0.2)
        now = cpu_seconds(srv.pid)
        settled, last[0] = now == last[0], now
        return settled

    wait_until(filled, 10)
    # a measurement window, not a race: nothing can progress, so the server must sit still
    before = cpu_seconds(srv.pid)
    time.sleep(1.0)
    used = cpu_seconds(srv.pid) - before
    for sock in stalled + idle:
        sock.close()
    assert used < 0.2, f"server used {used:.2f}s of CPU in 1s while nothing could progress"
    still_serves(srv)


def test_graceful_stop_is_bounded_by_shutdown_timeout_despite_stalled_and_slow_clients(tmp_path):
    srv = start(tmp_path, extra="shutdown_timeout 1s;", keepalive="30s")
    stalled = srv.connect()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(get("/big.bin"))  # never read: the response can never finish
    assert stalled.recv(12) == b"HTTP/1.1 200"
    drip = srv.connect()
    drip.sendall(b"GET /a.txt HTTP/1.1\r\nHost: a\r\n")  # a head that never completes
    idle = srv.connect()
    idle.sendall(get("/a.txt"))
    assert read_response(idle).status == 200
    srv.proc.send_signal(signal.SIGTERM)
    try:
        code = srv.proc.wait(15)
    finally:
        srv.kill()
    assert code == 0
    assert read_until_close(idle, 5) == b""
    for sock in (stalled, drip, idle):
        sock.close()


def test_connections_open_across_a_reload_still_time_out_and_new_ones_are_served(tmp_path):
    srv = start(tmp_path)
    try:
        drip = srv.connect()
        drip.sendall(b"GET /a.txt HTTP/1.1\r\nHost: a\r\n")
        srv.proc.send_signal(signal.SIGHUP)
        still_serves(srv)
        r = read_response(drip)
        assert r.status == 408
        assert read_until_close(drip, 5) == b""
        drip.close()
        still_serves(srv)
    finally:
        assert srv.stop() == 0


def test_file_truncated_while_being_sent_ends_the_connection_and_the_server_serves_on(srv):
    path = Path(srv.cwd) / "www" / "shrink.bin"
    path.write_bytes(b"s" * BIG)
    with srv.connect() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.sendall(get("/shrink.bin") + get("/a.txt"))
        got = sock.recv(65536)
        assert got.startswith(b"HTTP/1.1 200 ")
        os.truncate(path, 1024 * 1024)
        data = got + read_until_close(sock, 10)  # the promised length can no longer be met
    body = data.split(b"\r\n\r\n", 1)[1]
    assert 0 < len(body) < BIG
    assert b"HTTP/1.1" not in body  # the pipelined request is not answered on a broken framing
    before = cpu_seconds(srv.pid)
    still_serves(srv)
    time.sleep(0.5)  # a measurement window: no leftover loop may keep spinning on the file
    assert cpu_seconds(srv.pid) - before < 0.2
