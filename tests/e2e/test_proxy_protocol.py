"""``listen ... proxy_protocol`` over real sockets: v1 and v2 headers give
``request.proxy_protocol_addr`` for every request of the connection (``request.client``
stays the TCP peer: the real-IP settings decide that), a header split across writes, one
before TLS, a broken header closes without a response ("broken header" in the error log),
and the header is bounded by client_header_timeout. Addresses match nginx's
``$proxy_protocol_addr``/``$proxy_protocol_port``."""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx
from tls_certs import make_cert

from framework.http.proxy_protocol import V2_SIGNATURE
from framework.testing import (
    ResponseReader,
    ServerProcess,
    free_port,
    parse_response,
    read_until_close,
    wait_until,
    write_files,
)

PROBE = """
from framework import Handler, Response


class Probe(Handler):
    name = "pp_probe"

    async def handle(self, request, call_next):
        addr = request.proxy_protocol_addr
        shown = f"{addr[0]}:{addr[1]}" if addr else "-"
        return Response(200, f"{shown} {request.peer[0]} {request.scheme}")
"""

CONFIG = """
error_log error.log info;
load_module pp_probe;
server {{
    listen 127.0.0.1:{{port}} proxy_protocol;
    listen 127.0.0.1:{tls_port} ssl proxy_protocol;
    server_name localhost;
    client_header_timeout 2s;
    ssl_certificate localhost.pem;
    ssl_certificate_key localhost.key;
    location / {{ handler pp_probe; }}
}}
"""

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
V1 = b"PROXY TCP4 192.0.2.7 198.51.100.1 4242 443\r\n"


def v2(command: int, family: int, body: bytes) -> bytes:
    return V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body


V2_INET6 = v2(
    1,
    0x21,
    socket.inet_pton(socket.AF_INET6, "2001:db8::7")
    + socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    + struct.pack("!HH", 5555, 80),
)
V2_INET_TLV = v2(
    1,
    0x11,
    socket.inet_aton("203.0.113.9")
    + socket.inet_aton("198.51.100.1")
    + struct.pack("!HH", 7, 80)
    + b"\x04\x00\x05vpc-1",
)
V2_LOCAL = v2(0, 0x00, b"")
HEADERS = {
    "v1": (V1, "192.0.2.7:4242"),
    "v1-unknown": (b"PROXY UNKNOWN\r\n", "-"),
    "v2-inet6": (V2_INET6, "2001:db8::7:5555"),
    "v2-tlv": (V2_INET_TLV, "203.0.113.9:7"),
    "v2-local": (V2_LOCAL, "-"),
}


@pytest.fixture(scope="module")
def tls_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, tls_port: int) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("pp")
    make_cert(base, ["localhost"])
    write_files(base, {"pp_probe.py": PROBE})
    with ServerProcess(CONFIG.format(tls_port=tls_port), cwd=base) as server:
        yield server


@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_header_address_reaches_every_request_of_the_connection(srv: ServerProcess, kind: str):
    header, shown = HEADERS[kind]
    with srv.connect() as sock:
        sock.sendall(header + REQUEST)
        reader = ResponseReader(sock)
        assert reader.read().body == f"{shown} 127.0.0.1 http".encode()
        sock.sendall(REQUEST)  # keep-alive: the header was for the whole connection
        assert reader.read().body == f"{shown} 127.0.0.1 http".encode()


def test_header_split_across_writes_is_awaited(srv: ServerProcess):
    with srv.connect() as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(V2_INET6), 7):
            sock.sendall(V2_INET6[i : i + 7])
        sock.sendall(REQUEST)
        assert ResponseReader(sock).read().body == b"2001:db8::7:5555 127.0.0.1 http"


def test_header_before_tls(srv: ServerProcess, tls_port: int):
    ctx = ssl.create_default_context(cafile=str(Path(srv.cwd) / "localhost.pem"))  # type: ignore[arg-type]
    raw = socket.create_connection((srv.host, tls_port))
    raw.sendall(V1)
    with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(REQUEST)
        assert ResponseReader(sock).read().body == b"192.0.2.7:4242 127.0.0.1 https"


@pytest.mark.parametrize(
    "data",
    [
        b"PROXY TCP4 192.0.2.7 198.51.100.1 4242\r\n" + REQUEST,
        REQUEST,  # no header at all
        b"PROXY UNKNOWN " + b"x" * 200,  # no CRLF within 107 bytes
        V2_SIGNATURE + b"\x21\x11\xff\xff",  # oversized v2
    ],
)
def test_broken_header_closes_without_a_response(srv: ServerProcess, data: bytes):
    assert srv.raw(data) == b""
    log = Path(srv.cwd) / "error.log"  # type: ignore[arg-type]
    assert wait_until(lambda: "broken header" in log.read_text(), 10)


def test_header_never_completed_is_closed_by_client_header_timeout(srv: ServerProcess):
    with srv.connect(timeout=15) as sock:
        sock.sendall(b"PROXY TCP4 192.0.2.7")
        assert read_until_close(sock, timeout=15) == b""


@requires_nginx
def test_addresses_match_nginx(tmp_path: Path, srv: ServerProcess):
    servers = (
        "server { listen 127.0.0.1:PORT proxy_protocol; location / { "
        'return 200 "$proxy_protocol_addr:$proxy_protocol_port"; } }'
    )
    with nginx_reference(tmp_path, servers) as port:
        for kind in ("v1", "v2-inet6", "v2-tlv"):
            header, shown = HEADERS[kind]
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(
                    header + REQUEST.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
                )
                nginx_body = parse_response(read_until_close(sock))[0].body
            assert nginx_body.decode() == shown
