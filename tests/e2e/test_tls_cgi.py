"""CGI over TLS through the real server: HTTPS=on, REQUEST_SCHEME and SERVER_PORT as in
nginx's fastcgi_params; and a certificate written by ``webserv cert`` that curl and the
stdlib client trust with --cacert / cafile (both SNI names of the example layout)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.cli import main
from framework.testing import ServerProcess, free_port, read_response

ENV_SCRIPT = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv\n"


class Site:
    def __init__(self, server: ServerProcess, tls_port: int, base: Path) -> None:
        self.server = server
        self.tls_port = tls_port
        self.base = base

    def https_env(self, name: str = "a.test", cafile: str = "a.test.pem") -> dict[str, str]:
        """The CGI environment of a request over TLS with SNI ``name``, verifying the
        server's certificate against ``cafile`` only."""
        context = ssl.create_default_context(cafile=str(self.base / cafile))
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=name) as tls:
                tls.sendall(
                    f"GET /cgi-bin/env.sh HTTP/1.1\r\nHost: {name}\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                result = read_response(tls)  # type: ignore[arg-type]
        assert result.status == 200
        return _env(result.body)


def _env(body: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in body.decode().splitlines() if "=" in line)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("tls_cgi")
    for name in ("a.test", "b.test"):
        argv = ["cert", name, "127.0.0.1", "--cert-file", str(base / f"{name}.pem")]
        assert main([*argv, "--key-file", str(base / f"{name}-key.pem")]) == 0
    script = base / "www/cgi-bin/env.sh"
    script.parent.mkdir(parents=True)
    script.write_text(ENV_SCRIPT)
    script.chmod(0o755)
    tls_port = free_port()
    config = ""
    for name in ("a.test", "b.test"):
        config += f"""
server {{
    listen 127.0.0.1:{{port}};
    listen 127.0.0.1:{tls_port} ssl;
    server_name {name};
    ssl_certificate {name}.pem;
    ssl_certificate_key {name}-key.pem;
    root www;
    location /cgi-bin/ {{ cgi .sh; }}
}}
"""
    server = ServerProcess(config, cwd=base).start()
    try:
        yield Site(server, tls_port, base)
    finally:
        server.stop()


def test_cgi_over_tls_gets_https_on_the_scheme_and_the_tls_port(site: Site) -> None:
    env = site.https_env()
    assert env["HTTPS"] == "on"
    assert env["REQUEST_SCHEME"] == "https"
    assert env["SERVER_PORT"] == str(site.tls_port)
    assert env["SERVER_NAME"] == "a.test"


def test_plain_cgi_gets_the_http_scheme_and_no_https(site: Site) -> None:
    result = site.server.get("/cgi-bin/env.sh", headers={"Host": "a.test"})
    env = _env(result.body)
    assert "HTTPS" not in env
    assert env["REQUEST_SCHEME"] == "http"
    assert env["SERVER_PORT"] == str(site.server.port)


def test_the_second_sni_name_gets_its_own_certificate(site: Site) -> None:
    # verified against b.test's certificate only: a.test's would fail the handshake
    assert site.https_env("b.test", "b.test.pem")["SERVER_NAME"] == "b.test"
    with pytest.raises(ssl.SSLCertVerificationError):
        site.https_env("b.test", "a.test.pem")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_trusts_a_webserv_cert_certificate_with_cacert(site: Site) -> None:
    for name, host in (("a.test", "a.test"), ("a.test", "127.0.0.1")):
        url = f"https://{host}:{site.tls_port}/cgi-bin/env.sh"
        done = subprocess.run(
            [
                "curl",
                "-sS",
                "--cacert",
                str(site.base / f"{name}.pem"),
                "--resolve",
                f"a.test:{site.tls_port}:127.0.0.1",
                url,
            ],
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "HTTPS=on" in done.stdout.decode()
