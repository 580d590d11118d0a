"""Issue 9 item 11, slow bodies: client_body_timeout bounds the gap between two reads only,
so a body trickled a byte every few seconds lived forever. ``client_body_min_rate`` (default
500 bytes/s, after a first client_body_timeout) ends it with 408 and a close."""

from __future__ import annotations

import socket
import time

import pytest
from hardening_engine_fixtures import start, still_serves

from framework.testing import read_response

PACE = 0.25  # the trickling client's pace: well inside client_body_timeout between bytes
GIVE_UP = 20.0  # an unbounded body would still be trickling then


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def srv(request, tmp_path_factory):
    server = start(
        tmp_path_factory.mktemp(f"slow-body-{request.param}"), request.param, body_timeout="2s"
    )
    yield server
    server.stop()


def trickle(sock: socket.socket, head: bytes, data: bytes) -> bytes:
    """Send ``head`` then ``data`` a byte at a time until the server answers; the answer."""
    sock.sendall(head)
    sock.setblocking(False)
    deadline = time.monotonic() + GIVE_UP
    answer = b""
    for byte in data:
        if time.monotonic() > deadline:
            break
        try:
            sock.send(bytes([byte]))
        except OSError:
            pass  # closed after the answer
        try:
            answer += sock.recv(65536)
        except BlockingIOError:
            pass
        if answer:
            break
        time.sleep(PACE)
    sock.setblocking(True)
    return answer


@pytest.mark.parametrize("chunked", [False, True], ids=["content_length", "chunked"])
def test_a_trickled_body_is_answered_408_and_closed(srv, chunked):
    body = b"x" * 10_000
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % len(body)
    head = b"POST /echo HTTP/1.1\r\nHost: a\r\n" + framing + b"\r\n\r\n"
    data = b"%x\r\n" % len(body) + body if chunked else body
    with srv.connect(GIVE_UP) as sock:
        answer = trickle(sock, head, data)
        assert answer, "the trickled body was still being read"
        sock.settimeout(10)
        rest = b""
        try:
            while chunk := sock.recv(65536):
                rest += chunk
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert b"Connection: close" in answer + rest
    still_serves(srv)


def test_a_body_at_a_decent_pace_is_not_cut(srv):
    body = b"y" * 4000
    with srv.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 1000):  # 4 s of pacing at ~4 kB/s, past the 2 s grace
            sock.sendall(body[i : i + 1000])
            time.sleep(1.0)
        r = read_response(sock)
    assert (r.status, r.body) == (200, body)
