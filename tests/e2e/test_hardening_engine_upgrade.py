"""Issue 9 item 5: webserv performs no protocol upgrade, so a request asking for one
(``curl --http2`` sends ``Connection: Upgrade, HTTP2-Settings`` and ``Upgrade: h2c``) is an
ordinary request: its body is read as usual and the connection stays open for the next one.
llhttp stops at the end of such a head and skips the body; the engine parses on."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hardening_engine_fixtures import start
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import ResponseReader

H2C = (
    b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
)
NEXT = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def srv(request, tmp_path_factory):
    server = start(tmp_path_factory.mktemp(f"upgrade-{request.param}"), request.param)
    yield server
    server.stop()


def put(path: str, body: bytes, *, chunked: bool = False) -> bytes:
    head = b"PUT %s HTTP/1.1\r\nHost: a\r\n" % path.encode() + H2C
    if chunked:
        return head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.mark.parametrize("split", [False, True], ids=["one_send", "body_sent_later"])
def test_put_with_upgrade_h2c_stores_the_body_and_the_connection_serves_the_next(srv, split):
    name = f"h2c-{int(split)}-{time.monotonic_ns()}.txt"
    data = put(f"/up/{name}", b"hello world!")
    with srv.connect() as sock:
        if split:
            head, _, body = data.partition(b"\r\n\r\n")
            sock.sendall(head + b"\r\n\r\n")
            time.sleep(0.2)  # the client's pace: the body comes in a later read
            sock.sendall(body + NEXT)
        else:
            sock.sendall(data + NEXT)
        reader = ResponseReader(sock)
        first, second = reader.read(), reader.read()
    assert first.status == 201
    assert (Path(srv.cwd) / "up" / name).read_bytes() == b"hello world!"
    assert (second.status, second.body) == (200, b"home\n")


def test_chunked_put_with_upgrade_h2c_stores_the_body(srv):
    name = f"h2c-chunked-{time.monotonic_ns()}.txt"
    with srv.connect() as sock:
        sock.sendall(put(f"/up/{name}", b"hello world!", chunked=True) + NEXT)
        reader = ResponseReader(sock)
        first, second = reader.read(), reader.read()
    assert first.status == 201
    assert (Path(srv.cwd) / "up" / name).read_bytes() == b"hello world!"
    assert second.status == 200


def test_a_cgi_gets_the_body_of_an_upgrade_request(srv):
    with srv.connect() as sock:
        sock.sendall(put("/cgi-bin/echo.py", b"hello world!") + NEXT)
        reader = ResponseReader(sock)
        first, second = reader.read(), reader.read()
    assert (first.status, first.body) == (200, b"len=12;hello world!")
    assert second.status == 200


def test_a_bodiless_upgrade_request_is_answered_and_the_connection_kept(srv):
    with srv.connect() as sock:
        sock.sendall(
            b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
            b"Upgrade: websocket\r\n\r\n" + NEXT
        )
        reader = ResponseReader(sock)
        first, second = reader.read(), reader.read()
    assert (first.status, first.body) == (200, b"home\n")
    assert (second.status, second.body) == (200, b"home\n")


# -- against nginx ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nginx(tmp_path_factory) -> Iterator[int]:
    base = tmp_path_factory.mktemp("nginx-upgrade")
    (base / "www").mkdir()
    (base / "www" / "index.html").write_text("home\n")
    with nginx_reference(base, f"server {{ listen 127.0.0.1:PORT; root {base / 'www'}; }}") as port:
        yield port


@requires_nginx
@pytest.mark.parametrize("chunked", [False, True], ids=["content_length", "chunked"])
def test_an_upgrade_request_with_a_body_is_answered_then_the_next_as_nginx_does(
    nginx, srv, chunked
):
    """nginx ignores an upgrade it does not perform: a PUT to static files gets its 405, its
    body is framed as usual, and the request after it is answered on the same connection."""
    data = put("/index.html", b"hello world!", chunked=chunked) + NEXT

    def statuses(port: int) -> list[int]:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(data)
            reader = ResponseReader(sock)
            return [reader.read().status, reader.read().status]

    assert statuses(srv.port) == statuses(nginx) == [405, 200]
