"""`max_connections` full of idle keep-alive connections (issue 9 item 10): a new client is
admitted at once by closing the oldest idle keep-alive connection, as nginx reuses them; a
connection with a request under way is never closed for it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import ServerProcess, read_response

CONFIG = """
max_connections 4;
access_log off;
server {
    listen 127.0.0.1:{port};
    root www;
    keepalive_timeout 60s;
    client_header_timeout 60s;
}
"""
REQUEST = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"
# far below the 60 s keepalive_timeout: a client admitted only when an idle connection
# times out fails here instead of passing late
CLIENT_TIMEOUT = 20


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT)


def idle_keep_alive(port: int) -> socket.socket:
    """A connection that was answered once and now waits between keep-alive requests."""
    sock = connect(port)
    sock.sendall(REQUEST)
    assert read_response(sock).status == 200
    return sock


def closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def admits_a_fifth_client_by_closing_the_oldest_idle_one(port: int) -> None:
    oldest, second, third = (idle_keep_alive(port) for _ in range(3))
    busy = connect(port)
    busy.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n")  # its head is under way
    sockets = [oldest, second, third, busy]
    try:
        # the limit is full; the newcomer is answered although nobody left
        newcomer = connect(port)
        sockets.append(newcomer)
        newcomer.sendall(REQUEST)
        assert read_response(newcomer).status == 200
        assert closed_by_peer(oldest)
        busy.sendall(b"\r\n")  # the request under way was left alone
        assert read_response(busy).status == 200
        second.sendall(REQUEST)  # the younger idle ones were left alone too
        assert read_response(second).status == 200
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("home\n")
    return tmp_path


def test_a_new_client_is_admitted_by_closing_the_oldest_idle_keep_alive_connection(site):
    with ServerProcess(CONFIG, cwd=site) as srv:
        admits_a_fifth_client_by_closing_the_oldest_idle_one(srv.port)
        assert srv.stop() == 0


def test_connections_with_requests_under_way_are_never_closed_to_admit_a_client(site):
    with ServerProcess(CONFIG, cwd=site) as srv:
        busy = [connect(srv.port) for _ in range(4)]
        for sock in busy:
            sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n")
        waiting = connect(srv.port)  # queued by the kernel: nothing can be reclaimed
        waiting.sendall(REQUEST)
        for sock in busy:
            sock.sendall(b"Connection: close\r\n\r\n")
            r = read_response(sock)  # none of them was closed for the newcomer
            assert r.status == 200 and r.body == b"home\n"
        assert read_response(waiting).status == 200  # admitted once one of them left
        for sock in [*busy, waiting]:
            sock.close()
        assert srv.stop() == 0


def nginx_with_four_connections(base: Path):
    """nginx whose only worker has room for its listener and four clients."""
    servers = (
        "keepalive_timeout 60s; client_header_timeout 60s;\n"
        f"server {{ listen 127.0.0.1:PORT; root {base / 'www'}; }}"
    )
    return nginx_reference(base, servers, worker_connections=5)


@requires_nginx
def test_nginx_admits_a_new_client_the_same_way(site):
    """The differential: the same scenario against nginx with room for four clients."""
    with nginx_with_four_connections(site) as port:
        admits_a_fifth_client_by_closing_the_oldest_idle_one(port)
