"""Differential: the same server blocks, the same certificates, real nginx 1.22 versus the
contexts of framework.tls.server_contexts: which certificate each SNI name gets, which
protocol versions are refused, whether tickets are issued (skipped without nginx)."""

from __future__ import annotations

import socket
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from framework.certs import make_self_signed
from framework.config.build import load_config
from framework.tls import server_contexts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from nginx_reference import nginx_reference, requires_nginx  # noqa: E402

pytestmark = requires_nginx

# nginx 1.22's default is TLSv1 TLSv1.1 TLSv1.2; webserv's is the issue's (and nginx
# 1.23.4's) TLSv1.2 TLSv1.3: written out so both run the same protocols
SERVERS = """
ssl_protocols TLSv1.2 TLSv1.3;
server {
    listen 127.0.0.1:PORT ssl;
    server_name a.test;
    ssl_certificate a.pem;
    ssl_certificate_key a-key.pem;
}
server {
    listen 127.0.0.1:PORT ssl default_server;
    server_name *.b.test;
    ssl_certificate b.pem;
    ssl_certificate_key b-key.pem;
}
server {
    listen 127.0.0.1:PORT ssl;
    server_name ~^re[0-9]+\\.test$;
    ssl_certificate re.pem;
    ssl_certificate_key re-key.pem;
}
server {
    listen 127.0.0.1:PORT2 ssl;
    server_name strict.test;
    ssl_protocols TLSv1.3;
    ssl_session_tickets off;
    ssl_certificate a.pem;
    ssl_certificate_key a-key.pem;
}
"""


def _client(max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    if max_version is not None:
        client.maximum_version = max_version
    return client


def _outcome(port: int, name: str | None, client: ssl.SSLContext) -> tuple[str, ...]:
    """(common name, version, ticket issued) of a handshake, or ("refused",)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with client.wrap_socket(raw, server_hostname=name) as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                tls.recv(1)  # TLS 1.3 tickets arrive after the handshake
                der = tls.getpeercert(binary_form=True)
                assert der is not None and tls.session is not None
                cert = x509.load_der_x509_certificate(der)
                common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
                return (str(common), str(tls.version()), str(tls.session.has_ticket))
    except ssl.SSLError:
        return ("refused",)


class _ContextServer:
    """``ctx`` served by a thread on a free port, answering each connection with a
    minimal response (what nginx sends does not matter here, only the handshake)."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        import threading

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.ctx = ctx
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1024)
                    tls.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        self.listener.close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def ports(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, int], dict[str, int]]]:
    """{"main": port, "strict": port} for nginx and for webserv's contexts."""
    from framework.testing import free_port

    base = tmp_path_factory.mktemp("tls_nginx")
    for stem, name in (("a", "a.test"), ("b", "b.test"), ("re", "re.test")):
        cert, key = make_self_signed([name])
        (base / f"{stem}.pem").write_bytes(cert)
        (base / f"{stem}-key.pem").write_bytes(key)
    main_port, strict_port = free_port(), free_port()
    text = SERVERS.replace("PORT2", str(strict_port))
    (base / "webserv.conf").write_text(text.replace("PORT", str(main_port)))
    result = load_config(base / "webserv.conf", env={})
    assert result.config is not None, result.diagnostics
    contexts = server_contexts(result.config)
    ours = {
        "main": _ContextServer(contexts[("127.0.0.1", main_port)]),
        "strict": _ContextServer(contexts[("127.0.0.1", strict_port)]),
    }
    try:
        with nginx_reference(base, text, main_port) as port:
            yield {"main": port, "strict": strict_port}, {k: v.port for k, v in ours.items()}
    finally:
        for server in ours.values():
            server.close()


@pytest.mark.parametrize("name", ["a.test", "A.Test", "x.b.test", "re7.test", "other.test", None])
def test_each_sni_name_gets_the_same_certificate_as_from_nginx(ports, name) -> None:
    nginx, ours = ports
    client = _client()
    assert _outcome(ours["main"], name, client) == _outcome(nginx["main"], name, client)


@pytest.mark.parametrize("max_version", [ssl.TLSVersion.TLSv1_2, None])
def test_protocols_and_tickets_match_nginx(ports, max_version) -> None:
    nginx, ours = ports
    for which in ("main", "strict"):
        expected = _outcome(nginx[which], "a.test", _client(max_version))
        assert _outcome(ours[which], "a.test", _client(max_version)) == expected, which
