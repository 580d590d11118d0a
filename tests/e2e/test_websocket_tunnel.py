"""The engine's upgrade hand-over (``framework.http.tunnel``): a handler answering an upgrade
request with ``Response(101, body=Upgrade(run))`` gets the connection's byte stream, plain or
TLS, with the bytes sent right after the head first; any other answer keeps the connection
HTTP (what followed is the next request); a 101 to a request that did not ask is a 500.
The access log line (101, bytes) is written when the tunnel ends; fds do not leak."""

from __future__ import annotations

import signal
import socket
import ssl
import struct
import time
from pathlib import Path

import pytest
from tls_certs import make_cert

from framework.testing import ResponseReader, ServerProcess, read_until_close, wait_until

HERE = Path(__file__).parent

CONFIG = """
load_module ws_test_app;
error_log stderr info;
access_log access.log;
server {
    listen 127.0.0.1:{port};
    listen 127.0.0.1:%(tls)d ssl;
    ssl_certificate site.pem;
    ssl_certificate_key site.key;
    root www;
    location /tunnel { handler tunnel_echo; allow_methods GET HEAD PUT; }
    location / { }
}
"""

UPGRADE = b"GET /tunnel HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"
NEXT = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"


def start(base: Path, loop: str) -> tuple[ServerProcess, int]:
    from framework.testing import free_port

    make_cert(base, ["localhost"], stem="site")
    (base / "www").mkdir()
    (base / "www" / "index.html").write_text("home\n")
    tls_port = free_port()
    srv = ServerProcess(
        CONFIG % {"tls": tls_port},
        cwd=base,
        pythonpath=[HERE],
        env={"WEBSERV_EVENT_LOOP": loop},
    ).start()
    return srv, tls_port


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def srv(request, tmp_path_factory):
    server, tls_port = start(tmp_path_factory.mktemp(f"tunnel-{request.param}"), request.param)
    server.tls_port = tls_port  # type: ignore[attr-defined]
    yield server
    server.stop()


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The response head up to the blank line, and what came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def recv_exactly(sock: socket.socket, n: int, got: bytes = b"") -> bytes:
    while len(got) < n:
        chunk = sock.recv(65536)
        assert chunk, got
        got += chunk
    return got


def test_upgrade_hands_the_connection_over_with_the_early_bytes_first(srv):
    with srv.connect() as sock:
        sock.sendall(UPGRADE + b"early")
        head, rest = read_head(sock)
        assert head.startswith(b"HTTP/1.1 101 ")
        assert b"\r\nupgrade: echo" in head.lower()
        assert recv_exactly(sock, 5, rest) == b"early"
        for n in (1, 1000, 300_000):
            payload = bytes(range(256)) * (n // 256) + b"x" * (n % 256)
            sock.sendall(payload)
            assert recv_exactly(sock, len(payload)) == payload
        sock.shutdown(socket.SHUT_WR)  # the owner sees b"" and says bye
        assert read_until_close(sock) == b"bye\n"


def test_a_refused_upgrade_keeps_the_connection_http(srv):
    refuse = UPGRADE.replace(b"/tunnel", b"/tunnel?refuse")
    with srv.connect() as sock:
        sock.sendall(refuse + NEXT)
        reader = ResponseReader(sock)
        first, second = reader.read(), reader.read()
    assert first.status == 403
    assert (second.status, second.body) == (200, b"home\n")


def test_a_101_to_a_request_that_did_not_ask_is_a_500(srv):
    with srv.connect() as sock:
        sock.sendall(b"GET /tunnel?wrong101 HTTP/1.1\r\nHost: a\r\n\r\n")
        assert ResponseReader(sock).read().status == 500
    assert srv.wait_for_log("did not ask for an upgrade")


def test_an_upgrade_request_with_a_body_is_never_upgraded(srv):
    """Only a bodiless request is held for an upgrade: with a body (h2c-style), a 101 is
    a 500 (and the connection closes)."""
    put = UPGRADE.replace(b"GET", b"PUT").replace(b"\r\n\r\n", b"\r\nContent-Length: 5\r\n\r\n")
    with srv.connect() as sock:
        sock.sendall(put + b"hello" + NEXT)
        reader = ResponseReader(sock)
        assert reader.read().status == 500
    assert srv.wait_for_log("did not ask for an upgrade")


def test_a_failing_owner_closes_the_connection_and_is_logged(srv):
    with srv.connect() as sock:
        sock.sendall(UPGRADE)
        read_head(sock)
        sock.sendall(b"boom")
        assert read_until_close(sock) == b""
    assert srv.wait_for_log("tunnel of GET /tunnel failed")
    assert srv.get("/index.html").status == 200


def test_the_access_log_line_is_written_when_the_tunnel_ends(srv):
    log = Path(str(srv.cwd)) / "access.log"
    with srv.connect() as sock:
        sock.sendall(UPGRADE.replace(b"/tunnel", b"/tunnel?logged"))
        read_head(sock)
        sock.sendall(b"12345")
        recv_exactly(sock, 5)
        sock.sendall(b"quit")
        read_until_close(sock)
    assert wait_until(lambda: '"GET /tunnel?logged HTTP/1.1" 101 5 ' in log.read_text())


def test_tunnel_over_tls(srv):
    ctx = ssl.create_default_context(cafile=str(Path(str(srv.cwd)) / "site.pem"))
    raw = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=10)
    with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(UPGRADE + b"early")
        head, rest = read_head(sock)
        assert head.startswith(b"HTTP/1.1 101 ")
        assert recv_exactly(sock, 5, rest) == b"early"
        payload = b"z" * 200_000
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
        sock.sendall(b"quit")


def test_reset_and_fin_tunnels_leave_no_fd_behind(srv):
    srv.get("/index.html")
    before = srv.open_fds()
    for i in range(20):
        sock = srv.connect()
        sock.sendall(UPGRADE + b"x")
        read_head(sock)
        if i % 2:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST or FIN without a word
    assert wait_until(lambda: srv.open_fds() <= before)
    assert srv.get("/index.html").status == 200


def test_input_is_bounded_while_the_owner_does_not_read(srv):
    """The owner holds (does not read): the server stops reading, so the client's sends
    block once the tunnel's buffer and the socket buffers are full (not megabytes later);
    once released, the owner gets everything."""
    with srv.connect() as sock:
        sock.sendall(UPGRADE)
        read_head(sock)
        sock.sendall(b"hold\n")
        sock.setblocking(False)
        sent = 0
        block = b"x" * 65536
        stalled_since = None
        while sent < 256 * 1024 * 1024:
            try:
                sent += sock.send(block)
                stalled_since = None
            except BlockingIOError:
                now = time.monotonic()
                stalled_since = stalled_since or now
                if now - stalled_since > 1.0:
                    break
                time.sleep(0.01)
        assert sent < 64 * 1024 * 1024
        with srv.connect() as other:
            other.sendall(UPGRADE + b"release\n")
            _, rest = read_head(other)
            assert recv_exactly(other, 9, rest) == b"released\n"
        sock.setblocking(True)
        sock.settimeout(10)
        got = 0
        while got < sent:  # the held bytes are echoed now
            chunk = sock.recv(1 << 20)
            assert chunk
            got += len(chunk)
        assert got == sent


def test_input_then_fin_reach_an_owner_that_reads_late(srv):
    """The owner reads only after a while: the client's 8 MiB and its FIN wait (reading
    paused), then all of it arrives, in order, before the end of input."""
    with srv.connect() as sock:
        sock.sendall(UPGRADE)
        read_head(sock)
        sock.sendall(b"count-slow\n" + b"d" * (8 * 1024 * 1024))
        sock.shutdown(socket.SHUT_WR)
        assert read_until_close(sock, timeout=10) == b"%d\n" % (8 * 1024 * 1024)


@pytest.mark.parametrize("loop", ["asyncio"])
def test_graceful_stop_tells_the_tunnel_then_ends_it_at_the_deadline(tmp_path, loop):
    (tmp_path / "www").mkdir()
    config = """
load_module ws_test_app;
error_log stderr info;
shutdown_timeout 2s;
server { listen 127.0.0.1:{port}; location /tunnel { handler tunnel_echo; } }
"""
    srv = ServerProcess(config, cwd=tmp_path, pythonpath=[HERE]).start()
    try:
        with srv.connect() as sock:
            sock.sendall(UPGRADE + b"stop?")
            read_head(sock)
            srv.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            assert recv_exactly(sock, 9) == b"stopping\n"
            # the owner goes on; at shutdown_timeout it is told (on_abort) and cut off
            assert read_until_close(sock, timeout=10) == b"aborted\n"
        assert srv.proc.wait(10) == 0  # type: ignore[union-attr]
    finally:
        srv.stop()
