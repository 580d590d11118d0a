"""A ClientHello whose SNI has a byte that is not ASCII: CPython's ssl module can only drop
the decoding error (``PyErr_WriteUnraisable``), which by default prints a traceback on
stderr for every such connection. A worker logs it as one info line instead, and serves on."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
from tls_certs import make_cert

from framework.testing import ServerProcess, read_until_close

CONFIG = """
workers 2;
error_log stderr info;
server {
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate site.pem;
    ssl_certificate_key site.key;
    root www;
}
"""


def _hello_with_bad_sni() -> bytes:
    """A real ClientHello, its SNI ``aaaa.test`` turned into ``\\xff\\xfe\\xfd\\xfc.test``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="aaaa.test")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = outgoing.read()
    assert hello.count(b"aaaa.test") == 1
    return hello.replace(b"aaaa.test", b"\xff\xfe\xfd\xfc.test")


def _send_hello(srv: ServerProcess, hello: bytes) -> None:
    with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
        sock.sendall(hello)
        read_until_close(sock)  # the server answers with an alert and closes


def test_non_ascii_sni_is_one_info_line_not_a_traceback(
    serve: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    make_cert(tmp_path, ["localhost"], stem="site")
    (tmp_path / "www").mkdir()
    (tmp_path / "www/index.html").write_text("hello\n")
    srv = serve(CONFIG)  # workers 2: the hook is in each worker
    hello = _hello_with_bad_sni()
    for _ in range(3):
        _send_hello(srv, hello)
    assert srv.wait_for_log(r"(?s)(UnicodeDecodeError.*){3}"), srv.stderr

    ctx = ssl.create_default_context(cafile=str(tmp_path / "site.pem"))
    with ctx.wrap_socket(srv.connect(), server_hostname="localhost") as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert read_until_close(sock).startswith(b"HTTP/1.1 200")

    srv.stop()
    err = srv.stderr
    assert "Traceback" not in err
    assert "Exception ignored in" not in err
    lines = [line for line in err.splitlines() if "UnicodeDecodeError" in line]
    assert len(lines) == 3, err
    assert all("[info]" in line for line in lines), lines
