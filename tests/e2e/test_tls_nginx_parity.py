"""TLS edge behaviour side by side with nginx 1.22 and the same certificate: plain HTTP
sent to the TLS port (400 with nginx's page, then close), a ClientHello offering only
``h2`` (the no_application_protocol alert), and ``h2, http/1.1`` (``http/1.1`` chosen)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import nginx_reference, requires_nginx
from tls_certs import make_cert

from framework.testing import ServerProcess, parse_response, read_until_close

pytestmark = requires_nginx

CONFIG = """
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate localhost.pem;
    ssl_certificate_key localhost.key;
    root www;
}
"""


def nginx_servers(base: Path) -> str:
    return (
        f"server {{ listen 127.0.0.1:PORT ssl; ssl_certificate {base}/localhost.pem; "
        f"ssl_certificate_key {base}/localhost.key; root {base}/www; }}"
    )


def plain(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        return read_until_close(sock)


def alpn_outcome(port: int, offered: list[str], cafile: Path) -> str:
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.set_alpn_protocols(offered)
    try:
        with ctx.wrap_socket(
            socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="localhost"
        ) as sock:
            return f"ok {sock.selected_alpn_protocol()}"
    except ssl.SSLError as exc:
        return f"alert {exc.reason}"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, Path]]:
    """webserv and nginx on the same certificate, for the whole module."""
    base = tmp_path_factory.mktemp("tls-parity")
    make_cert(base, ["localhost"])
    (base / "www").mkdir()
    (base / "www/index.html").write_text("hi\n")
    (base / "nginx").mkdir()
    with (
        ServerProcess(CONFIG, cwd=base) as srv,
        nginx_reference(base / "nginx", nginx_servers(base)) as port,
    ):
        yield srv.port, port, base


@pytest.mark.parametrize(
    "data",
    [b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", b"GET / HTTP/1.0\r\n\r\n"],
)
def test_plain_http_to_the_tls_port_matches_nginx(pair, data: bytes):
    ours, theirs, _ = pair
    mine, rest = parse_response(plain(ours, data))
    ref, ref_rest = parse_response(plain(theirs, data))
    assert (mine.status, mine.header("connection"), rest) == (
        ref.status,
        ref.header("connection"),
        ref_rest,
    )
    assert mine.body == ref.body.replace(b"nginx/1.22.1", b"webserv")


@pytest.mark.parametrize(
    "offered",
    [
        ["h2"],
        ["h2", "http/1.1"],
        ["http/1.1"],
        ["http/1.0"],
        ["http/1.0", "http/1.1"],
        ["http/0.9"],
    ],
)
def test_alpn_outcome_matches_nginx(pair, offered: list[str]):
    ours, theirs, base = pair
    cafile = base / "localhost.pem"
    assert alpn_outcome(ours, offered, cafile) == alpn_outcome(theirs, offered, cafile)
