"""SIGHUP reloads certificates, in one process and through the master's new generation of
workers: new connections get the new certificate, a TLS transfer under way finishes on its
old session, and a certificate that cannot be loaded keeps the current configuration (and
certificates) serving."""

from __future__ import annotations

import hashlib
import os
import signal
import ssl
from pathlib import Path

import pytest
from tls_certs import make_cert

from framework.testing import ServerProcess, parse_response, read_until_close, wait_until

CONFIG = """
workers {workers};
error_log stderr info;
server {
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate site.pem;
    ssl_certificate_key site.key;
    root www;
}
"""


def peer_certificate(srv: ServerProcess) -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with ctx.wrap_socket(srv.connect(), server_hostname="localhost") as sock:
        der = sock.getpeercert(binary_form=True)
    assert der is not None
    return der


def der_of(path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text())


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_reloads_certificates_and_keeps_transfers_under_way(
    serve, tmp_path: Path, workers: int
):
    make_cert(tmp_path, ["localhost"], stem="site")
    first = der_of(tmp_path / "site.pem")
    (tmp_path / "www").mkdir()
    body = os.urandom(8 * 1024 * 1024)
    (tmp_path / "www/big.bin").write_bytes(body)
    srv = serve(CONFIG.replace("{workers}", str(workers)))
    assert peer_certificate(srv) == first

    ctx = ssl.create_default_context(cafile=str(tmp_path / "site.pem"))
    old = ctx.wrap_socket(srv.connect(timeout=30), server_hostname="localhost")
    old.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    head = old.recv(65536)
    assert head.startswith(b"HTTP/1.1 200")

    make_cert(tmp_path, ["localhost"], stem="site")  # a new key and certificate in place
    second = der_of(tmp_path / "site.pem")
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_for_log("reloaded configuration")
    assert wait_until(lambda: peer_certificate(srv) == second, 10)

    result, _ = parse_response(head + read_until_close(old, timeout=30))
    old.close()
    assert hashlib.sha256(result.body).digest() == hashlib.sha256(body).digest()

    (tmp_path / "site.key").write_text("not a key\n")
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_for_log("keeping the current"), srv.stderr
    assert peer_certificate(srv) == second
