"""An expired certificate: ``validate-config`` refuses it, ``run`` serves it (as nginx does:
one expired virtual host must not take the others down) and clients that verify refuse the
handshake with "certificate has expired"."""

from __future__ import annotations

import datetime
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from tls_certs import make_cert

from framework.testing import ServerProcess, read_response

CONFIG = """server {{
    listen 127.0.0.1:{{port}} ssl;
    server_name old.test;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root www;
}}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    base = tmp_path_factory.mktemp("expired")
    (base / "www").mkdir()
    (base / "www" / "index.html").write_text("still served\n")
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    cert, key = make_cert(base, ["old.test"], not_before=start, days=30)
    return base, cert, CONFIG.format(cert=cert, key=key)


def test_validate_config_reports_the_expired_certificate_as_an_error(site) -> None:
    base, _, config = site
    path = base / "check.conf"
    path.write_text(config.replace("{port}", "8443"))
    done = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "error[tls-certificate-expired]" in done.stdout


def test_run_serves_it_with_a_warning_and_verifying_clients_refuse_it(site) -> None:
    base, cert, config = site
    with ServerProcess(config, cwd=base) as srv:
        assert "tls-certificate-expired" in srv.stderr
        verifying = ssl.create_default_context(cafile=str(cert))
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw:
            with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
                verifying.wrap_socket(raw, server_hostname="old.test")
        trusting = ssl.create_default_context(cafile=str(cert))
        trusting.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        trusting.check_hostname = False
        trusting.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw:
            with trusting.wrap_socket(raw, server_hostname="old.test") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: old.test\r\nConnection: close\r\n\r\n")
                response = read_response(tls)
        assert (response.status, response.body) == (200, b"still served\n")
