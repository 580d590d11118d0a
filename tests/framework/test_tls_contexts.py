"""framework.tls.server_contexts: real handshakes against the contexts it builds (a stdlib
ssl server socket in a thread, a stdlib ssl client): SNI picks the server as Host routing
does, ALPN, protocols, session resumption and timeout, errors and reloads."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from framework import tls_openssl
from framework.certs import make_self_signed
from framework.config.build import load_config
from framework.config.models import Config
from framework.tls import TlsSetupError, server_contexts

ADDRESS = ("127.0.0.1", 18443)


@dataclass
class Handshake:
    common_name: str
    serial: int
    alpn: str | None
    version: str | None
    reused: bool
    session: ssl.SSLSession | None


def _write_pair(directory: Path, name: str, **kw: object) -> None:
    cert, key = make_self_signed([name], **kw)  # type: ignore[arg-type]
    (directory / f"{name}.pem").write_bytes(cert)
    (directory / f"{name}-key.pem").write_bytes(key)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    for name in ("a.test", "b.test", "re.test", "default.test"):
        _write_pair(directory, name)
    return directory


def _config(directory: Path, text: str, *, check_fs: bool = True) -> Config:
    """The config of ``text``; ``check_fs=False`` skips the file lints, as when files
    change between validation and a reload."""
    path = directory / "webserv.conf"
    path.write_text(text)
    result = load_config(path, env={}, check_fs=check_fs)
    assert result.config is not None, result.diagnostics
    return result.config


def _server_block(name: str, cert: str, extra: str = "", listen: str = "ssl") -> str:
    return (
        f"server {{\n listen 127.0.0.1:18443 {listen};\n server_name {name};\n"
        f" ssl_certificate {cert}.pem;\n ssl_certificate_key {cert}-key.pem;\n{extra}}}\n"
    )


def _client() -> ssl.SSLContext:
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    return client


def _handshake(
    ctx: ssl.SSLContext,
    server_name: str | None,
    *,
    alpn: list[str] | None = None,
    session: ssl.SSLSession | None = None,
    client: ssl.SSLContext | None = None,
) -> Handshake:
    """One connection through a thread serving ``ctx``; raises the client's SSLError."""
    listener = socket.create_server(("127.0.0.1", 0))
    errors: list[BaseException] = []

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"x")
                tls.recv(1)
                # a session leaves OpenSSL's cache unless the connection was shut down
                # (ssl_clear_bad_session): the transport sends close_notify
                tls.unwrap()
        except (OSError, ssl.SSLError) as exc:
            errors.append(exc)
        finally:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    if client is None:
        client = _client()
    if alpn:
        client.set_alpn_protocols(alpn)
    try:
        with socket.create_connection(listener.getsockname()) as raw:
            with client.wrap_socket(raw, server_hostname=server_name, session=session) as tls:
                tls.recv(1)  # TLS 1.3 tickets arrive after the handshake
                der = tls.getpeercert(binary_form=True)
                assert der is not None
                cert = x509.load_der_x509_certificate(der)
                name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
                result = Handshake(
                    str(name),
                    cert.serial_number,
                    tls.selected_alpn_protocol(),
                    tls.version(),
                    tls.session_reused,
                    tls.session,
                )
                tls.sendall(b"y")
                tls.unwrap()
    finally:
        thread.join(timeout=10)
        listener.close()
    return result


@pytest.fixture(scope="module")
def sni_contexts(certs: Path) -> dict[tuple[str, int], ssl.SSLContext]:
    text = (
        _server_block("a.test", "a.test")
        + _server_block("*.b.test b.test", "b.test")
        + _server_block("~^re[0-9]+\\.example$", "re.test")
        + _server_block("default.test", "default.test", listen="ssl default_server")
        + "server {\n listen 127.0.0.1:18443 ssl;\n server_name nocert.test;\n}\n"
    )
    return server_contexts(_config(certs, text))


@pytest.mark.parametrize(
    ("sni", "expected"),
    [
        ("a.test", "a.test"),
        ("A.TEST", "a.test"),
        ("www.b.test", "b.test"),
        ("b.test", "b.test"),
        ("re42.example", "re.test"),
        ("other.test", "default.test"),
        (None, "default.test"),
        # a server chosen by name but without a certificate keeps the default's, as nginx
        ("nocert.test", "default.test"),
    ],
)
def test_sni_picks_the_certificate_of_the_server_host_routing_would_pick(
    sni_contexts: dict[tuple[str, int], ssl.SSLContext], sni: str | None, expected: str
) -> None:
    assert list(sni_contexts) == [ADDRESS]
    assert _handshake(sni_contexts[ADDRESS], sni).common_name == expected


def test_alpn_offers_http_1_1_also_after_an_sni_switch(
    sni_contexts: dict[tuple[str, int], ssl.SSLContext],
) -> None:
    for name in ("a.test", "www.b.test"):
        result = _handshake(sni_contexts[ADDRESS], name, alpn=["h2", "http/1.1"])
        assert result.alpn == "http/1.1"


def test_without_default_server_the_first_server_of_the_address_is_the_default(
    certs: Path,
) -> None:
    config = _config(certs, _server_block("a.test", "a.test") + _server_block("b.test", "b.test"))
    assert _handshake(server_contexts(config)[ADDRESS], None).common_name == "a.test"


def test_ssl_protocols_sets_the_versions_offered(certs: Path) -> None:
    config = _config(certs, _server_block("a.test", "a.test", " ssl_protocols TLSv1.3;\n"))
    ctx = server_contexts(config)[ADDRESS]
    assert _handshake(ctx, "a.test").version == "TLSv1.3"
    old = _client()
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        _handshake(ctx, "a.test", client=old)


def test_sessions_resume_with_tickets_by_default(
    sni_contexts: dict[tuple[str, int], ssl.SSLContext],
) -> None:
    ctx = sni_contexts[ADDRESS]
    client = _client()
    first = _handshake(ctx, "a.test", client=client)
    assert first.session is not None and first.session.has_ticket
    assert _handshake(ctx, "a.test", session=first.session, client=client).reused


def test_tickets_off_sets_no_ticket_and_the_builtin_cache_still_resumes(certs: Path) -> None:
    extra = " ssl_session_tickets off;\n ssl_session_cache builtin:1000;\n"
    ctx = server_contexts(_config(certs, _server_block("a.test", "a.test", extra)))[ADDRESS]
    assert ctx.options & ssl.OP_NO_TICKET
    client = _client()
    first = _handshake(ctx, "a.test", client=client)
    assert first.session is not None
    assert _handshake(ctx, "a.test", session=first.session, client=client).reused


@pytest.mark.skipif(not tls_openssl.available(), reason="libssl not reachable through ctypes")
def test_session_timeout_and_cache_reach_openssl(certs: Path) -> None:
    extra = " ssl_session_timeout 24h;\n ssl_session_cache shared:SSL:10m;\n"
    ctx = server_contexts(_config(certs, _server_block("a.test", "a.test", extra)))[ADDRESS]
    assert tls_openssl.session_timeout(ctx) == 86400
    assert tls_openssl.session_cache_mode(ctx) == tls_openssl.SESS_CACHE_SERVER
    default = server_contexts(_config(certs, _server_block("a.test", "a.test")))[ADDRESS]
    assert tls_openssl.session_timeout(default) == 300  # nginx's 5m, not OpenSSL's 2h
    assert tls_openssl.session_cache_mode(default) == (
        tls_openssl.SESS_CACHE_SERVER | tls_openssl.SESS_CACHE_NO_INTERNAL_STORE
    )


def test_prefer_server_ciphers_follows_the_directive_not_cpythons_default(certs: Path) -> None:
    off = server_contexts(_config(certs, _server_block("a.test", "a.test")))[ADDRESS]
    assert not off.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    extra = " ssl_prefer_server_ciphers on;\n"
    on = server_contexts(_config(certs, _server_block("a.test", "a.test", extra)))[ADDRESS]
    assert on.options & ssl.OP_CIPHER_SERVER_PREFERENCE


def test_an_ssl_listen_whose_default_server_has_no_certificate_is_an_error(
    certs: Path,
) -> None:
    # validate-config refuses this too (ssl-without-certificate): build it by hand
    config = _config(certs, _server_block("a.test", "a.test"))
    server = config.servers[0].model_copy(update={"ssl_certificate": None})
    config = config.model_copy(update={"servers": [server]})
    with pytest.raises(TlsSetupError, match='no "ssl_certificate" is defined for the listen'):
        server_contexts(config)


@pytest.mark.parametrize("broken", ["missing", "garbage", "other key"])
def test_a_certificate_or_key_that_cannot_be_loaded_is_a_setup_error(
    certs: Path, tmp_path: Path, broken: str
) -> None:
    _write_pair(tmp_path, "x.test")
    key = tmp_path / "x.test-key.pem"
    if broken == "missing":
        key.unlink()
    elif broken == "garbage":
        key.write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    else:
        key.write_bytes((certs / "a.test-key.pem").read_bytes())
    config = _config(tmp_path, _server_block("x.test", "x.test"), check_fs=False)
    with pytest.raises(TlsSetupError, match="x.test"):
        server_contexts(config)


def test_building_again_loads_the_renewed_certificate(tmp_path: Path) -> None:
    _write_pair(tmp_path, "r.test")
    config = _config(tmp_path, _server_block("r.test", "r.test"))
    old = server_contexts(config)[ADDRESS]
    before = _handshake(old, "r.test").serial
    _write_pair(tmp_path, "r.test")  # renewed on disk, same config: what a reload sees
    renewed = x509.load_pem_x509_certificate((tmp_path / "r.test.pem").read_bytes())
    assert _handshake(server_contexts(config)[ADDRESS], "r.test").serial == renewed.serial_number
    assert _handshake(old, "r.test").serial == before  # open connections keep theirs


def test_plain_addresses_get_no_context(certs: Path) -> None:
    text = (
        "server {\n listen 0.0.0.0:18443 ssl;\n server_name a.test;\n"
        " ssl_certificate a.test.pem;\n ssl_certificate_key a.test-key.pem;\n}\n"
        "server {\n listen 127.0.0.1:18080;\n}\n"
    )
    contexts = server_contexts(_config(certs, text))
    assert list(contexts) == [("0.0.0.0", 18443)]
    # a wildcard socket serving a specific address: tests/framework/test_tls_transports.py
    assert server_contexts(_config(certs, "server {\n listen 18080;\n}\n")) == {}


def test_the_tls_example_serves_each_name_its_certificate_verified_by_a_client() -> None:
    example = Path(__file__).resolve().parents[2] / "examples/tls"
    result = load_config(example / "tls.conf", env={})
    assert result.config is not None and result.diagnostics == []
    ctx = server_contexts(result.config)[("127.0.0.1", 8443)]
    for name, cafile in (("shop.test", "shop.test"), ("www.example.test", "example.test")):
        client = ssl.create_default_context(cafile=str(example / f"certs/{cafile}.pem"))
        assert _handshake(ctx, name, client=client, alpn=["http/1.1"]).alpn == "http/1.1"
    assert _handshake(ctx, None).common_name == "example.test"


def test_ssl_ecdh_curve_limits_the_key_exchange_groups(certs: Path) -> None:
    extra = " ssl_ecdh_curve secp384r1:prime256v1;\n"
    ctx = server_contexts(_config(certs, _server_block("a.test", "a.test", extra)))[ADDRESS]
    x25519_only = _client()
    x25519_only.set_ecdh_curve("X25519")
    with pytest.raises(ssl.SSLError):
        _handshake(ctx, "a.test", client=x25519_only)
    p384 = _client()
    p384.set_ecdh_curve("secp384r1")
    assert _handshake(ctx, "a.test", client=p384).common_name == "a.test"
