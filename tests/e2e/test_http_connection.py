"""Keep-alive, pipelining, HEAD, bodies, 100-continue, 413 and error handling, on both
event loops."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from http_fixtures import exchange, start_server

from framework.testing import read_response, wait_until
from framework.version import PRODUCT_VERSION


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def srv(request, tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp(f"conn-{request.param}"), request.param)
    yield server
    server.stop()


def test_keep_alive_serves_100_requests_on_one_connection(srv):
    with srv.connect() as sock:
        for i in range(100):
            sock.sendall(b"GET /index.html?n=%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
            r = read_response(sock)
            assert r.status == 200 and r.body == b"<h1>home</h1>\n"
            assert r.header("Connection") is None


def test_pipelined_requests_are_answered_in_order(srv):
    reqs = b"".join(
        [
            b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
            b"HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /stream HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        ]
        * 1
    )
    with srv.connect() as sock:
        sock.sendall(reqs * 1)
        got = [read_response(sock) for _ in range(3)]
        got.append(read_response(sock, head_only=True))
        got += [read_response(sock) for _ in range(2)]
    assert [r.status for r in got] == [200, 404, 200, 200, 200, 200]
    assert got[1].body == b"custom not found\n"
    assert got[2].body == b"hello"
    assert got[3].header("Content-Length") == "14" and got[3].body == b""
    assert got[4].header("Transfer-Encoding") == "chunked" and got[4].body == b"x" * 5000


def test_many_pipelined_requests_in_one_send_all_get_answers(srv):
    n = 50
    with srv.connect() as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n" * n)
        for _ in range(n):
            assert read_response(sock).status == 200


def test_a_request_sent_one_byte_at_a_time_is_answered(srv):
    data = b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
    with srv.connect() as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(data)):
            sock.sendall(data[i : i + 1])
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"abc")


def test_head_sends_get_headers_without_a_body(srv):
    with srv.connect() as sock:
        sock.sendall(
            b"HEAD /big.bin HTTP/1.1\r\nHost: a\r\n\r\nGET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        head = read_response(sock, head_only=True)
        nxt = read_response(sock)
    assert head.status == 200 and head.header("Content-Length") == str(1024 * 1024)
    assert nxt.body == b"<h1>home</h1>\n"  # no body bytes leaked between the two


def test_large_file_is_sent_whole_with_content_length(srv):
    r = srv.get("/big.bin")
    assert r.status == 200
    assert r.body == bytes(range(256)) * 4096


def test_http_1_0_keep_alive_is_honoured(srv):
    with srv.connect() as sock:
        for _ in range(3):
            sock.sendall(b"GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = read_response(sock)
            assert r.status == 200 and r.header("Connection") == "keep-alive"


def test_http_1_0_stream_without_length_is_close_delimited(srv):
    first, rest = exchange(srv, b"GET /stream HTTP/1.0\r\n\r\n")
    assert first.status == 200
    assert first.header("Transfer-Encoding") is None and first.header("Content-Length") is None
    assert first.body == b"x" * 5000


def test_expect_100_continue_is_answered_before_the_body_is_read(srv):
    with srv.connect() as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = read_response(sock)
        assert interim.status == 100
        sock.sendall(b"hello")
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"hello")


def test_expect_100_continue_gets_the_final_status_without_100_when_refused(srv):
    with srv.connect() as sock:
        sock.sendall(
            b"POST /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        r = read_response(sock)
        assert r.status == 405
        assert r.header("Allow") == "GET, HEAD"
        assert r.header("Connection") == "close"  # the body may never come: do not wait


def test_expect_100_continue_is_never_sent_to_http_1_0(srv):
    with srv.connect() as sock:
        sock.sendall(
            b"POST /echo HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"
        )
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"hello")


def test_body_over_the_limit_by_content_length_is_refused_before_reading(srv):
    with srv.connect() as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        r = read_response(sock)
        assert r.status == 413
        assert r.header("Connection") == "close"


def test_chunked_body_over_the_limit_gets_413_mid_stream(srv):
    with srv.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"8000\r\n" + b"z" * 0x8000 + b"\r\n"
        try:
            for _ in range(4):
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = read_response(sock)
    assert r.status == 413
    assert r.header("Connection") == "close"


def test_refused_post_body_is_drained_so_the_next_request_is_parsed_correctly(srv):
    body = b"GET /index.html HTTP/1.1\r\nHost: evil\r\n\r\n" * 10  # looks like requests
    with srv.connect() as sock:
        sock.sendall(
            b"POST /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
            + b"GET /static-post HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        first = read_response(sock)
        second = read_response(sock)
    assert first.status == 405
    assert (second.status, second.body) == (200, b"static\n")


def test_refused_chunked_body_is_drained_too(srv):
    with srv.connect() as sock:
        sock.sendall(
            b"POST /index.html HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\nGET /static-post HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        assert read_response(sock).status == 405
        assert read_response(sock).body == b"static\n"


def test_405_allow_lists_the_allowed_methods_that_something_answers(srv):
    # allow_methods GET POST, but only static answers there (GET): POST would get a 405
    # too, so Allow says GET, the same on both answers (issue 9: one truthful value)
    for method in ("DELETE", "POST"):
        r = srv.request(method, "/static-post")
        assert r.status == 405
        assert r.header("Allow") == "GET"


def test_handler_exception_is_a_500_and_the_server_keeps_serving(srv):
    r = srv.get("/boom")
    assert r.status == 500
    assert b"500 Internal Server Error" in r.body
    assert srv.wait_for_log("boom for the test")
    assert srv.get("/index.html").status == 200


def test_streamed_response_is_chunked_on_http_1_1(srv):
    r = srv.get("/slow")
    assert r.status == 200
    assert r.body == b"part0;part1;part2;"


def test_custom_error_page_keeps_the_original_status(srv):
    r = srv.get("/nothing-here")
    assert (r.status, r.body) == (404, b"custom not found\n")


def test_missing_error_page_falls_back_to_the_builtin_page(srv):
    r = srv.get("/plain404/x")
    assert r.status == 404
    assert b"<h1>404 Not Found</h1>" in r.body


def test_every_response_has_date_server_and_framing(srv):
    for path in ("/index.html", "/missing", "/stream"):
        r = srv.get(path)
        assert r.header("Date", "").endswith("GMT")
        assert r.header("Server") == PRODUCT_VERSION
        assert r.header("Content-Length") or r.header("Transfer-Encoding") == "chunked"


def test_client_disconnect_cancels_the_running_handler(srv):
    marker = Path(srv.cwd) / "cancelled.txt"
    started = Path(srv.cwd) / "started.txt"
    before = marker.read_text() if marker.exists() else ""
    started_before = started.read_text() if started.exists() else ""
    sock = srv.connect()
    sock.sendall(b"GET /hang HTTP/1.1\r\nHost: a\r\n\r\n")
    assert wait_until(lambda: started.exists() and started.read_text() != started_before)
    sock.close()
    assert wait_until(lambda: marker.exists() and len(marker.read_text()) > len(before))
    assert len(marker.read_text()) == len(before) + 1


def test_client_disconnect_is_noticed_while_an_unread_body_holds_reading_back(srv):
    marker = Path(srv.cwd) / "cancelled.txt"
    started = Path(srv.cwd) / "started.txt"
    before = marker.read_text() if marker.exists() else ""
    started_before = started.read_text() if started.exists() else ""
    sock = srv.connect()
    sock.sendall(b"POST /hang HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n")
    assert wait_until(lambda: started.exists() and started.read_text() != started_before)
    # more than the body buffer's high-water mark (256 KiB): the handler never reads, so
    # the server stops reading with input still pending, and the EOF sits behind it
    sock.sendall(b"x" * (300 * 1024))
    sock.close()
    assert wait_until(lambda: marker.exists() and len(marker.read_text()) > len(before))


def test_streamed_body_waits_for_a_slow_reader_instead_of_buffering(srv):
    progress = Path(srv.cwd) / "flood.txt"
    progress.unlink(missing_ok=True)
    with srv.connect(timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(b"GET /flood HTTP/1.1\r\nHost: a\r\n\r\n")
        assert wait_until(lambda: progress.exists() and progress.read_text() != "")
        stalled_at = _stable_value(lambda: progress.read_text())
        assert int(stalled_at) < 20  # the generator is paused by backpressure, not run dry
        r = read_response(sock)
    assert r.status == 200 and len(r.body) == 40 * 1024 * 1024


def _stable_value(read, settle: float = 0.5, timeout: float = 10.0):
    """The value once it has stopped changing for ``settle`` seconds."""
    deadline = time.monotonic() + timeout
    value, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        current = read()
        if current != value:
            value, since = current, time.monotonic()
        elif time.monotonic() - since >= settle:
            break
    return value


def test_early_413_uses_the_configured_error_page(tmp_path):
    config = """
    access_log off;
    server {
        listen 127.0.0.1:{port};
        root www;
        client_max_body_size 10;
        error_page 413 /errors/404.html;
        location / { allow_methods GET POST; }
    }
    """
    srv = start_server(tmp_path, config=config)
    try:
        first, _ = exchange(
            srv, b"POST /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n"
        )
        assert first.status == 413
        assert first.body == b"custom not found\n"
        assert first.header("Connection") == "close"
    finally:
        srv.stop()


def test_absolute_form_target_is_served_like_its_path(srv):
    first, _ = exchange(
        srv, b"GET http://a/index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert (first.status, first.body) == (200, b"<h1>home</h1>\n")


def test_connection_close_on_http_1_1_closes_after_the_response(srv):
    first, rest = exchange(
        srv,
        b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    assert first.status == 200 and first.header("Connection") == "close"
    assert rest == b""


def test_failing_stream_aborts_only_its_connection_and_never_splits_headers(srv):
    raw = srv.raw(b"GET /badstream HTTP/1.1\r\nHost: a\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"X-Fine: ok" in head
    assert b"X-Evil" not in head and b"Set-Cookie" not in head
    assert body == b"5\r\nfirst\r\n"  # no terminating chunk: the client sees the failure
    assert srv.wait_for_log("stream broke for the test")
    assert srv.get("/index.html").status == 200


def test_return_444_closes_the_connection_without_a_response(srv):
    assert srv.raw(b"GET /gone HTTP/1.1\r\nHost: t\r\n\r\n") == b""
    assert srv.get("/index.html").status == 200
