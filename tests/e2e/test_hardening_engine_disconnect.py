"""Issue 9 item 8 and the half-close part of item 11: a client's FIN is noticed while a
handler or its streamed body runs, not only when a write fails. A handler still running
about a second after its client left is cancelled and sees ``request.disconnected`` set
(nginx, uvicorn); a CGI, which opts in to half-close semantics, is still answered when its
client half-closes after sending the whole request (lighttpd)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from hardening_engine_fixtures import recv_all, start, still_serves

from framework.testing import ResponseReader, process_gone, read_response, wait_until

# shutdown_timeout is 30 s: every wait here ends well before a held connection would be
# released by a graceful stop
WAIT = 10


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def srv(request, tmp_path_factory):
    server = start(tmp_path_factory.mktemp(f"disconnect-{request.param}"), request.param)
    yield server
    server.stop()


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n".encode()


@pytest.mark.parametrize("leave", ["close", "shutdown"])
def test_a_stream_waiting_for_events_is_cancelled_when_its_client_leaves(srv, leave, request):
    root = Path(srv.cwd)
    tag = f"events-{leave}-{request.node.callspec.id}"
    sock = srv.connect()
    sock.sendall(get(f"/events?{tag}"))
    head = read_response(sock, head_only=True)  # the stream has started
    assert head.status == 200
    assert wait_until(lambda: (root / f"{tag}.started").exists(), WAIT)
    if leave == "close":
        sock.close()
    else:
        sock.shutdown(socket.SHUT_WR)
    assert wait_until(lambda: (root / f"{tag}.cancelled").exists(), WAIT)
    assert (root / f"{tag}.cancelled").read_text() == "True"  # request.disconnected was set
    if leave == "shutdown":
        recv_all(sock)
        sock.close()
    still_serves(srv)


def test_a_stream_whose_client_closed_before_it_started_is_cancelled(srv, request):
    root = Path(srv.cwd)
    tag = f"early-{request.node.callspec.id}"
    with srv.connect() as sock:
        sock.sendall(get(f"/events?{tag}"))
        sock.shutdown(socket.SHUT_WR)  # the FIN may be read before the handler runs
        assert wait_until(lambda: (root / f"{tag}.cancelled").exists(), WAIT)
    assert (root / f"{tag}.cancelled").read_text() == "True"


def test_a_handler_waiting_on_request_disconnected_learns_its_client_left(srv, request):
    root = Path(srv.cwd)
    tag = f"watch-{request.node.callspec.id}"
    sock = srv.connect()
    sock.sendall(get(f"/watch?{tag}"))
    assert wait_until(lambda: (root / f"{tag}.started").exists(), WAIT)
    sock.close()
    assert wait_until(
        lambda: (root / f"{tag}.cancelled").exists() or (root / f"{tag}.seen").exists(), WAIT
    )
    if (root / f"{tag}.cancelled").exists():
        assert (root / f"{tag}.cancelled").read_text() == "True"
    still_serves(srv)


@pytest.mark.parametrize("script", ["echo.py", "slow_echo.py"])
def test_a_cgi_whose_client_half_closes_after_sending_gets_its_answer(srv, script):
    body = b"x" * 100_000
    with srv.connect(WAIT) as sock:
        sock.sendall(
            b"POST /cgi-bin/%s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
            % (script.encode(), len(body))
            + body
        )
        sock.shutdown(socket.SHUT_WR)
        reader = ResponseReader(sock)
        r = reader.read()
        while r.status < 200:  # the engine may check the client is there with a 100
            r = reader.read()
        assert (r.status, r.body) == (200, b"len=%d;" % len(body) + body)
        assert recv_all(sock) == b""  # then the server closes its side
    still_serves(srv)


def test_a_cgi_whose_client_half_closes_in_the_middle_of_its_body_is_not_run_to_the_end(srv):
    with srv.connect(WAIT) as sock:
        sock.sendall(
            b"POST /cgi-bin/slow_echo.py HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n"
            + b"x" * 10
        )
        sock.shutdown(socket.SHUT_WR)
        assert recv_all(sock) == b""  # no answer: the request never arrived whole
    still_serves(srv)


def test_a_cgi_whose_client_closed_is_killed_long_before_its_cgi_timeout(srv):
    """The CGI opted in to half-close semantics, yet a client that closed (not half-closed)
    is told apart: it resets the ``100 Continue`` probe, and the script is killed."""
    root = Path(srv.cwd)
    pid_file = root / "www" / "cgi-bin" / "silent.pid"
    with srv.connect() as sock:
        sock.sendall(get("/cgi-bin/silent.py"))
        assert wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), WAIT)
    pid = int(pid_file.read_text())
    assert wait_until(lambda: process_gone(pid), WAIT)  # its cgi_timeout is 60 s
    still_serves(srv)
