"""WSGI bridge hardening, against a real server and raw WSGI apps over raw sockets:

- a request whose client leaves while it waits for a pool thread is never run, and at
  most a bounded number of requests wait (then 503 with ``Retry-After``);
- environ: a header name with ``_`` cannot pose as a dashed one, repeated cookies join
  with ``; ``;
- the app's Content-Length holds: longer output is cut there, shorter output closes the
  connection, a conflicting or malformed one is a 500; a pipelined request stays in sync;
- a WebSocket handshake reaches the WSGI app as a plain HTTP request;
- HEAD to a streaming app ends the exchange once the head is known (the app's iterable is
  closed, the pipelined next request is answered).

``control`` (its own location, so its own pool) reads the app's counters and, through
``gc``, the app's ``BoundedWSGIMiddleware`` (its ``waiting`` count and ``backlog``).
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator

import pytest
from wsgi_fixtures import send_request

from framework.testing import ResponseReader, ServerProcess, read_until_close, wait_until

APP = r"""
import gc
import json
import threading

lock = threading.Lock()
state = {"count": 0, "holding": 0, "closed": 0, "produced": 0}
released = threading.Event()


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/hold":
        with lock:
            state["holding"] += 1
        try:
            released.wait(60)
        finally:
            with lock:
                state["holding"] -= 1
        start_response("200 OK", [("Content-Length", "4")])
        return [b"held"]
    if path == "/count":
        with lock:
            state["count"] += 1
            body = str(state["count"]).encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    if path == "/environ":
        keys = ("HTTP_X_USER", "HTTP_COOKIE", "HTTP_X_A", "HTTP_UPGRADE")
        body = json.dumps({key: environ.get(key) for key in keys}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/long":
        start_response("200 OK", [("Content-Length", "5")])
        return [b"hello", b"-SMUGGLED-EXTRA-BYTES"]
    if path == "/longone":
        start_response("200 OK", [("Content-Length", "5")])
        return [b"helloHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbad"]
    if path == "/short":
        start_response("200 OK", [("Content-Length", "100")])
        return [b"hello"]
    if path == "/badcl":
        value = environ["QUERY_STRING"].replace("%2C", ",")
        start_response("200 OK", [("Content-Length", value)])
        return [b"0123456789"]
    if path == "/dupcl":
        start_response("200 OK", [("Content-Length", "5"), ("Content-Length", "10")])
        return [b"0123456789"]
    if path == "/endless":
        def chunks():
            try:
                while True:
                    with lock:
                        state["produced"] += 1
                    yield b"x" * 4096
            finally:
                with lock:
                    state["closed"] += 1
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return chunks()
    start_response("404 Not Found", [("Content-Length", "2")])
    return [b"nf"]


def _middleware():
    for holder in gc.get_referrers(app):
        if hasattr(holder, "backlog") and hasattr(holder, "waiting"):
            return holder  # the BoundedWSGIMiddleware serving app
    raise LookupError("no middleware")


def control(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/release":
        released.set()
    elif path == "/arm":
        released.clear()
    elif path == "/backlog":
        _middleware().backlog = int(environ["QUERY_STRING"])
    with lock:
        body = json.dumps(dict(state, waiting=_middleware().waiting)).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
"""

CONFIG = """
error_log stderr info;
server {
    listen 127.0.0.1:{port};
    asgi_app_dir apps;
    location / { wsgi hard_app:app; }
    location /control/ { wsgi hard_app:control; asgi_root_path /control; }
}
"""

THREADS = 10  # handlers.wsgi_bridge.DEFAULT_THREADS


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    cwd = tmp_path_factory.mktemp("wsgi-hard")
    server = ServerProcess(
        CONFIG, cwd=cwd, files={"apps/hard_app.py": APP}, startup_timeout=30
    ).start()
    yield server
    server.stop()


def control(srv: ServerProcess, what: str = "state") -> dict[str, int]:
    result = srv.get(f"/control/{what}")
    assert result.status == 200, result.body
    return json.loads(result.body)  # type: ignore[no-any-return]


def wait_control(srv: ServerProcess, key: str, value: int) -> None:
    last: dict[str, int] = {}

    def holds() -> bool:
        nonlocal last
        last = control(srv)
        return last[key] == value

    assert wait_until(holds, 10.0), last


def reset(sock: socket.socket) -> None:
    """Close with a TCP reset (the client is gone at once)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def exchange(srv: ServerProcess, request: bytes) -> bytes:
    """Send ``request`` (maybe several, pipelined) and read until the server closes."""
    with srv.connect() as sock:
        sock.sendall(request)
        return read_until_close(sock, 10.0)


def test_requests_abandoned_while_waiting_for_a_thread_never_run(srv):
    before = control(srv, "arm")
    holders = [send_request(srv, "/hold") for _ in range(THREADS)]
    try:
        wait_control(srv, "holding", THREADS)
        waiting = [send_request(srv, "/count") for _ in range(20)]
        wait_control(srv, "waiting", 20)  # all parsed, waiting on the loop for a thread
        for sock in waiting:
            reset(sock)
        wait_control(srv, "waiting", 0)  # their waits were cancelled
        control(srv, "release")
        for sock in holders:
            assert ResponseReader(sock).read().body == b"held"
    finally:
        for sock in holders:
            sock.close()
    # the next /count is the first one since: none of the 20 abandoned ones ran
    assert srv.get("/count").body == b"%d" % (before["count"] + 1)


def test_past_the_backlog_requests_get_503_with_retry_after(srv):
    control(srv, "arm")
    control(srv, "backlog?3")
    holders = [send_request(srv, "/hold") for _ in range(THREADS)]
    waiting: list[socket.socket] = []
    try:
        wait_control(srv, "holding", THREADS)
        waiting = [send_request(srv, "/count") for _ in range(3)]
        wait_control(srv, "waiting", 3)
        busy = srv.get("/count")
        assert busy.status == 503
        assert busy.header("Retry-After") == "1"
        control(srv, "release")
        for sock in waiting:  # the waiting ones are served once threads free up
            assert ResponseReader(sock).read().status == 200
    finally:
        control(srv, "release")
        control(srv, f"backlog?{100 * THREADS}")
        for sock in holders + waiting:
            sock.close()


def environ_of(srv: ServerProcess, headers: bytes) -> dict[str, str | None]:
    raw = exchange(
        srv, b"GET /environ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n%b\r\n" % headers
    )
    result = ResponseReader(None, raw).read()
    assert result.status == 200, raw
    return json.loads(result.body)  # type: ignore[no-any-return]


def test_an_underscore_header_cannot_pose_as_a_dashed_one(srv):
    env = environ_of(srv, b"X-User: alice\r\nX_User: admin\r\n")
    assert env["HTTP_X_USER"] == "alice"
    assert environ_of(srv, b"X_User: admin\r\n")["HTTP_X_USER"] is None


def test_repeated_cookies_join_with_semicolons_other_fields_with_commas(srv):
    env = environ_of(srv, b"Cookie: a=1\r\nCookie: b=2\r\nX-A: 1\r\nX-A: 2\r\n")
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["HTTP_X_A"] == "1, 2"


NEXT = b"GET /count HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize("path", ["/long", "/longone"])
def test_output_past_content_length_is_cut_and_the_next_request_stays_in_sync(srv, path):
    raw = exchange(srv, b"GET %b HTTP/1.1\r\nHost: a\r\n\r\n%b" % (path.encode(), NEXT))
    reader = ResponseReader(None, raw)
    first = reader.read()
    assert (first.status, first.header("Content-Length"), first.body) == (200, "5", b"hello")
    second = reader.read()
    assert second.status == 200 and second.body.isdigit(), raw
    assert b"SMUGGLED" not in raw and b"bad" not in raw
    assert not reader.buf


def test_output_short_of_content_length_closes_the_connection(srv):
    raw = exchange(srv, b"GET /short HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Length: 100" in head
    assert body == b"hello"  # then the close: the pipelined request is not answered


@pytest.mark.parametrize("path", ["/dupcl", "/badcl?abc", "/badcl?-1", "/badcl?5%2C6"])
def test_a_malformed_or_conflicting_content_length_is_a_500(srv, path):
    raw = exchange(srv, b"GET %b HTTP/1.1\r\nHost: a\r\n\r\n%b" % (path.encode(), NEXT))
    reader = ResponseReader(None, raw)
    assert reader.read().status == 500
    assert reader.read().status == 200


def test_a_repeated_equal_content_length_is_one(srv):
    raw = exchange(srv, b"GET /badcl?5%2C5 HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT)
    reader = ResponseReader(None, raw)
    first = reader.read()
    assert (first.header("Content-Length"), first.body) == ("5", b"01234")
    assert reader.read().status == 200


WEBSOCKET = (
    b"GET /environ HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
)


@pytest.mark.parametrize(
    "request_bytes",
    [
        WEBSOCKET,
        b"GET /environ HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    ],
    ids=["valid-handshake", "partial-handshake"],
)
def test_a_websocket_handshake_reaches_the_wsgi_app_as_http(srv, request_bytes):
    with srv.connect() as sock:
        sock.sendall(request_bytes)
        result = ResponseReader(sock).read()
    assert result.status == 200
    assert json.loads(result.body)["HTTP_UPGRADE"] == "websocket"


def test_head_to_a_streaming_app_ends_once_the_head_is_known(srv):
    before = control(srv)
    with srv.connect() as sock:
        sock.sendall(b"HEAD /endless HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT)
        reader = ResponseReader(sock)
        head = reader.read(head_only=True)
        assert head.status == 200
        assert head.header("Content-Type") == "application/octet-stream"
        assert head.header("Content-Length") is None  # as for GET: the length is unknown
        second = reader.read()
        assert second.status == 200 and second.body.isdigit()
    wait_control(srv, "closed", before["closed"] + 1)  # the app's iterable was closed
    # it was stopped at once: a few chunks (the bounded queue), not seconds of output
    assert control(srv)["produced"] - before["produced"] < 64
