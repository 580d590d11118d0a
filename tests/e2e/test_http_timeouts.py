"""client_header_timeout, client_body_timeout, keepalive_timeout and send_timeout (all
about 1 s in the test config)."""

from __future__ import annotations

import socket
import time

import pytest
from http_fixtures import start_server

from framework.testing import read_response, read_until_close


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def srv(request, tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp(f"timeouts-{request.param}"), request.param)
    yield server
    server.stop()


def test_incomplete_request_head_gets_408_and_close(srv):
    with srv.connect(timeout=10) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n")
        r = read_response(sock)
        assert r.status == 408
        assert r.header("Connection") == "close"
        assert read_until_close(sock, 5) == b""


def test_connection_that_sends_nothing_is_closed_after_the_header_timeout(srv):
    with srv.connect(timeout=10) as sock:
        started = time.monotonic()
        assert read_until_close(sock, 8) == b""
        assert time.monotonic() - started < 8  # closed by the server, not by our timeout


def test_stalled_request_body_gets_408_and_close(srv):
    with srv.connect(timeout=10) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        r = read_response(sock)
        assert r.status == 408
        assert r.header("Connection") == "close"


def test_idle_keep_alive_connection_is_closed_after_keepalive_timeout(srv):
    with srv.connect(timeout=10) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
        assert read_response(sock).status == 200
        started = time.monotonic()
        assert read_until_close(sock, 8) == b""
        assert time.monotonic() - started < 8


def test_keepalive_timeout_0_disables_keep_alive(tmp_path):
    config = """
    access_log off;
    server { listen 127.0.0.1:{port}; root www; keepalive_timeout 0; }
    """
    srv = start_server(tmp_path, config=config)
    try:
        with srv.connect() as sock:
            sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
            r = read_response(sock)
            assert r.status == 200 and r.header("Connection") == "close"
            assert read_until_close(sock, 5) == b""
    finally:
        srv.stop()


def test_reader_that_stops_reading_is_dropped_after_send_timeout(tmp_path):
    config = """
    access_log off;
    server { listen 127.0.0.1:{port}; root www; send_timeout 1s; }
    """
    srv = start_server(tmp_path, config=config)
    (tmp_path / "www" / "huge.bin").write_bytes(b"\0" * (32 * 1024 * 1024))
    try:
        sock = srv.connect(timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /huge.bin HTTP/1.1\r\nHost: a\r\n\r\n")
        deadline = time.monotonic() + 10
        closed = False
        while time.monotonic() < deadline and not closed:
            # do not read: wait until the server gives up and the connection dies
            if not any(f"127.0.0.1:{srv.port}" in line for line in _established(srv)):
                closed = True
            else:
                time.sleep(0.1)
        assert closed
        sock.close()
    finally:
        srv.stop()


def _established(srv) -> list[str]:
    """Established TCP connections owned by the server process (local:port strings)."""
    out = []
    inodes = set()
    import os

    for fd in os.listdir(f"/proc/{srv.pid}/fd"):
        try:
            target = os.readlink(f"/proc/{srv.pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts[3] == "01" and parts[9] in inodes:  # ESTABLISHED
                ip, port = parts[1].split(":")
                out.append(f"127.0.0.1:{int(port, 16)}")
    return out
