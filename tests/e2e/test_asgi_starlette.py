"""A real Starlette app through the ``asgi`` handler, beside static files and CGI in one
server block: lifespan state and shutdown, a request body streamed back while it is still
being sent, a streamed response, an SSE stream and a long poll that stop when the client
leaves, errors and a sync route (anyio's thread pool). Lifespan shutdown and a failing
startup are in ``test_asgi_lifespan.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.testing import ServerProcess, read_response, wait_until

APPS = Path(__file__).resolve().parent.parent / "apps"

CONFIG = f"""
server {{
    listen 127.0.0.1:{{port}};
    root www;
    asgi_app_dir {APPS};
    location /cgi-bin/ {{ cgi .sh; }}
    location /small/ {{
        asgi asgi_starlette_app:app;
        allow_methods POST;
        client_max_body_size 1k;
    }}
    location /app/ {{
        asgi asgi_starlette_app:app;
        asgi_lifespan on;
        allow_methods GET HEAD POST PUT;
        client_max_body_size 0;
        location /app/static/ {{ }}
    }}
}}
"""

FILES = {
    "www/index.html": "static index\n",
    "www/app/static/logo.txt": "a static file inside the app's prefix\n",
    "www/cgi-bin/hi.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nfrom cgi'\n",
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("asgi-starlette")
    with ServerProcess(CONFIG, cwd=base, files=FILES) as server:
        (base / "www/cgi-bin/hi.sh").chmod(0o755)
        yield server


def test_lifespan_state_reaches_requests(srv: ServerProcess) -> None:
    result = srv.get("/app/state")
    assert result.status == 200
    assert result.text.startswith('{"greeting":"hello from lifespan"')


def test_location_matching_decides_between_app_static_and_cgi(srv: ServerProcess) -> None:
    assert srv.get("/").text == "static index\n"
    assert srv.get("/app/static/logo.txt").text.startswith("a static file")
    assert srv.get("/cgi-bin/hi.sh").text == "from cgi"
    assert srv.get("/app/nowhere").status == 404  # Starlette's 404
    assert srv.get("/app/nowhere").text == "Not Found"


def test_request_body_is_echoed_while_it_is_still_being_sent(srv: ServerProcess) -> None:
    part = b"0123456789abcdef" * 16384  # 256 KiB
    total = len(part) * 8
    with srv.connect() as sock:
        sock.sendall(
            b"POST /app/echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % total + part
        )
        # the app streams: its answer starts before the request body is complete
        first = b""
        while b"\r\n\r\n" not in first or len(first.partition(b"\r\n\r\n")[2]) < 1024:
            data = sock.recv(65536)
            assert data, "the server closed early"
            first += data
        assert first.startswith(b"HTTP/1.1 200")
        for _ in range(7):
            sock.sendall(part)
        data = first
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert _dechunk(body) == part * 8


def test_streamed_request_body_with_chunked_upload(srv: ServerProcess) -> None:
    chunks = [b"x" * 1000, b"y" * 70000, b"z"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    with srv.connect() as sock:
        sock.sendall(
            b"POST /app/count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + body
        )
        result = read_response(sock)
    assert result.status == 200 and result.text == "71001"


def test_body_over_the_limit_is_413_whatever_the_app_answers(srv: ServerProcess) -> None:
    body = b"".join(b"400\r\n" + b"x" * 1024 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
    with srv.connect() as sock:
        sock.sendall(
            b"POST /small/count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + body
        )
        result = read_response(sock)
    assert result.status == 413


def test_streamed_response(srv: ServerProcess) -> None:
    result = srv.get("/app/numbers?n=2000")
    assert result.status == 200
    assert result.header("transfer-encoding") == "chunked"
    assert result.text.splitlines() == [f"line {i}" for i in range(2000)]


def test_head_of_a_streamed_response_has_no_body(srv: ServerProcess) -> None:
    with srv.client() as client:
        result = client.request("HEAD", "/app/numbers?n=5")
        assert result.status == 200 and result.body == b""
        assert client.get("/app/state").status == 200  # the connection is still usable


def _log_has(srv: ServerProcess, line: str) -> bool:
    return line in srv.get("/app/sse-log").text.splitlines()


def test_sse_stream_stops_when_the_client_leaves(srv: ServerProcess) -> None:
    with srv.connect() as sock:
        sock.sendall(b"GET /app/sse?tag=s1 HTTP/1.1\r\nHost: t\r\n\r\n")
        seen = b""
        while b"data: s1 3" not in seen:
            data = sock.recv(4096)
            assert data
            seen += data
        assert b"text/event-stream" in seen
        assert not _log_has(srv, "s1 stopped")
    assert wait_until(lambda: _log_has(srv, "s1 stopped"))


def test_long_poll_hears_http_disconnect(srv: ServerProcess) -> None:
    with srv.connect() as sock:
        sock.sendall(b"GET /app/wait?tag=w1 HTTP/1.1\r\nHost: t\r\n\r\n")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)  # no answer while the client stays
    assert wait_until(lambda: _log_has(srv, "w1 disconnected"))


def test_exception_in_a_route_is_a_logged_500(srv: ServerProcess) -> None:
    result = srv.get("/app/boom")
    assert result.status == 500
    assert srv.wait_for_log("starlette boom")


def test_sync_route_runs_in_anyio_thread_pool(srv: ServerProcess) -> None:
    with srv.client() as client:
        for _ in range(3):
            assert client.get("/app/sync").text == "from a thread"


def test_put_reaches_the_app_where_allowed(srv: ServerProcess) -> None:
    result = srv.request("PUT", "/app/echo", b"put body")
    assert result.status == 200 and result.body == b"put body"


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return bytes(out)
        out += data[:size]
        data = data[size + 2 :]
