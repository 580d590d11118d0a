"""TLS over real sockets, on both event loops: stdlib ``ssl`` and ``curl --cacert`` clients,
SNI with two certificates, ALPN, plain HTTP on the TLS port, keep-alive and pipelining,
a 20 MiB file byte for byte, a slow reader (bounded memory), clients that vanish in the
handshake or mid-body, the handshake bounded by client_header_timeout."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import ssl
import struct
import subprocess
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
from tls_certs import make_cert

from framework.testing import (
    ResponseReader,
    ServerProcess,
    parse_response,
    read_until_close,
    wait_until,
    write_files,
)

BIG = 20 * 1024 * 1024

PROBE = """
from framework import Handler, Response


class Probe(Handler):
    name = "tls_probe"

    async def handle(self, request, call_next):
        return Response(200, f"{request.scheme} {request.proxy_protocol_addr} {request.host}")
"""

CONFIG = """
event_loop {loop};
error_log error.log info;
load_module tls_probe;
server {{
    listen 127.0.0.1:{{port}} ssl;
    server_name a.test;
    client_header_timeout 2s;
    ssl_certificate a.test.pem;
    ssl_certificate_key a.test.key;
    root www-a;
    location /probe {{ handler tls_probe; }}
}}
server {{
    listen 127.0.0.1:{{port}} ssl;
    server_name b.test;
    ssl_certificate b.test.pem;
    ssl_certificate_key b.test.key;
    root www-b;
}}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("tls")
    make_cert(base, ["a.test"])
    make_cert(base, ["b.test"])
    write_files(base, {"tls_probe.py": PROBE, "www-a/name.txt": "a", "www-b/name.txt": "b"})
    (base / "www-a/big.bin").write_bytes(os.urandom(1024 * 1024) * (BIG // (1024 * 1024)))
    return base


@pytest.fixture(scope="module", params=["auto", "asyncio"])
def srv(request: pytest.FixtureRequest, site: Path) -> Iterator[ServerProcess]:
    """One server per loop kind (uvloop when installed, and asyncio's own)."""
    server = ServerProcess(CONFIG.format(loop=request.param), cwd=site)
    with server:
        yield server


def client_context(
    site: Path, name: str = "a.test", alpn: list[str] | None = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(site / f"{name}.pem"))
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)
    return ctx


def tls_connect(
    srv: ServerProcess, name: str = "a.test", alpn: list[str] | None = None
) -> ssl.SSLSocket:
    ctx = client_context(Path(srv.cwd), name, alpn)  # type: ignore[arg-type]
    return ctx.wrap_socket(srv.connect(), server_hostname=name)


def get(sock: ssl.SSLSocket, path: str, host: str = "a.test", close: bool = False) -> bytes:
    extra = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


def test_stdlib_client_gets_https_scheme_and_http11_over_alpn(srv: ServerProcess) -> None:
    with tls_connect(srv, alpn=["h2", "http/1.1"]) as sock:
        assert sock.selected_alpn_protocol() == "http/1.1"
        sock.sendall(get(sock, "/probe", close=True))
        result, _ = parse_response(read_until_close(sock))
    assert result.status == 200
    assert result.body == b"https None a.test"


def test_curl_with_cacert(srv: ServerProcess, site: Path) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    out = subprocess.run(
        [
            curl,
            "-sS",
            "--cacert",
            str(site / "a.test.pem"),
            "--resolve",
            f"a.test:{srv.port}:127.0.0.1",
            f"https://a.test:{srv.port}/name.txt",
        ],
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert out.stdout == b"a"


@pytest.mark.parametrize("name", ["a.test", "b.test"])
def test_sni_selects_each_servers_certificate_and_host_routes(
    srv: ServerProcess, name: str
) -> None:
    # the client trusts only that name's certificate: the handshake proves which was sent
    with tls_connect(srv, name) as sock:
        sock.sendall(get(sock, "/name.txt", host=name, close=True))
        result, _ = parse_response(read_until_close(sock))
    assert result.body == name[:1].encode()


def test_keep_alive_and_pipelined_requests_over_tls(srv: ServerProcess) -> None:
    with tls_connect(srv) as sock:
        sock.sendall(get(sock, "/name.txt") * 3)
        reader = ResponseReader(sock)
        for _ in range(3):
            result = reader.read()
            assert result.status == 200 and result.body == b"a"
        sock.sendall(get(sock, "/probe"))
        assert reader.read().body == b"https None a.test"


def test_20_mib_file_over_tls_byte_for_byte(srv: ServerProcess, site: Path) -> None:
    with tls_connect(srv) as sock:
        sock.sendall(get(sock, "/big.bin", close=True))
        result, _ = parse_response(read_until_close(sock, timeout=30))
    assert result.status == 200
    expected = hashlib.sha256((site / "www-a/big.bin").read_bytes()).digest()
    assert hashlib.sha256(result.body).digest() == expected


def test_plain_http_on_the_tls_port_gets_nginx_400_then_close(srv: ServerProcess) -> None:
    data = srv.raw(b"GET /name.txt HTTP/1.1\r\nHost: a.test\r\n\r\n")
    result, rest = parse_response(data)
    assert result.status == 400
    assert result.header("connection") == "close"
    assert b"The plain HTTP request was sent to HTTPS port" in result.body
    assert rest == b""


def test_alpn_offering_only_h2_is_refused_like_nginx(srv: ServerProcess) -> None:
    with pytest.raises(ssl.SSLError, match="NO_APPLICATION_PROTOCOL|no application protocol"):
        tls_connect(srv, alpn=["h2"])
    log = Path(srv.cwd) / "error.log"  # type: ignore[arg-type]
    assert wait_until(lambda: "no application protocol" in log.read_text(), 10)


def _unread(sock: socket.socket) -> int:
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def test_slow_tls_readers_keep_server_memory_bounded(srv: ServerProcess, site: Path) -> None:
    before = srv.rss_kib()
    socks = []
    for _ in range(3):
        raw = srv.connect()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock = client_context(site).wrap_socket(raw, server_hostname="a.test")
        sock.sendall(get(sock, "/big.bin", close=True))
        socks.append(sock)
    # the server stops once the kernel buffers and its bounded queue are full
    seen: list[int] = []

    def settled() -> bool:
        seen.append(sum(_unread(s) for s in socks))
        return len(seen) > 3 and seen[-1] == seen[-2] == seen[-3] > 0

    assert wait_until(settled, 20)
    grown = srv.rss_kib() - before
    assert grown < 24 * 1024, f"RSS grew {grown} KiB for 3 x 20 MiB held by slow readers"
    expected = hashlib.sha256((site / "www-a/big.bin").read_bytes()).digest()
    for sock in socks:
        result, _ = parse_response(read_until_close(sock, timeout=30))
        assert hashlib.sha256(result.body).digest() == expected
        sock.close()


def test_clients_vanishing_mid_handshake_and_mid_body_leave_nothing_behind(
    srv: ServerProcess,
) -> None:
    with tls_connect(srv) as sock:  # a connection is open: the baseline counts one
        sock.sendall(get(sock, "/name.txt"))
        ResponseReader(sock).read()
        baseline = srv.open_fds()
    hello = socket.create_connection((srv.host, srv.port))
    hello.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello cut short
    hello.close()
    mid = tls_connect(srv)
    mid.sendall(get(mid, "/big.bin"))
    assert mid.recv(65536)
    mid.close()
    stalled = socket.create_connection((srv.host, srv.port))  # never says anything
    assert wait_until(lambda: srv.open_fds() <= baseline + 1, 15)
    assert read_until_close(stalled, timeout=15) == b""  # client_header_timeout closes it
    stalled.close()
    assert wait_until(lambda: srv.open_fds() <= baseline - 1, 15)
    with tls_connect(srv) as sock:
        sock.sendall(get(sock, "/name.txt", close=True))
        assert parse_response(read_until_close(sock))[0].body == b"a"
    assert "Traceback" not in srv.stderr


def test_connection_close_ends_with_close_notify(srv: ServerProcess, site: Path) -> None:
    # without close_notify before the FIN, a strict client raises SSLEOFError
    ctx = client_context(site)
    with ctx.wrap_socket(
        srv.connect(), server_hostname="a.test", suppress_ragged_eofs=False
    ) as sock:
        sock.sendall(get(sock, "/name.txt", close=True))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert parse_response(data)[0].body == b"a"


def test_a_broken_handshake_closes_quietly_with_an_info_line(srv: ServerProcess) -> None:
    reply = srv.raw(b"\x16\x03\x01\x00\x05hello")  # a handshake record holding no ClientHello
    assert reply[:1] in (b"", b"\x15")  # at most a TLS alert, then the close
    log = Path(srv.cwd) / "error.log"  # type: ignore[arg-type]
    assert wait_until(lambda: "TLS handshake with 127.0.0.1 failed" in log.read_text(), 10)
    assert "Traceback" not in log.read_text() + srv.stderr
