"""``framework.tls_openssl.set_ticket_keys``: two server contexts given the same keys resume
each other's tickets (as the workers of one generation must); without them they do not."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from tls_certs import make_cert

from framework import tls_openssl

pytestmark = pytest.mark.skipif(not tls_openssl.available(), reason="libssl not reachable")


def _server(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def _pump(src: ssl.MemoryBIO, dst: ssl.MemoryBIO) -> bool:
    data = src.read()
    if data:
        dst.write(data)
    return bool(data)


def _handshake(
    server: ssl.SSLContext, client: ssl.SSLContext, session: ssl.SSLSession | None = None
) -> tuple[bool, ssl.SSLSession]:
    """A handshake over memory BIOs, then one byte each way (TLS 1.3 tickets arrive after
    the handshake); the client's reuse flag and its session."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    cli = client.wrap_bio(c_in, c_out, server_hostname="localhost", session=session)
    srv = server.wrap_bio(s_in, s_out, server_side=True)
    done = [False, False]
    for _ in range(20):
        for i, obj in enumerate((cli, srv)):
            if not done[i]:
                try:
                    obj.do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
        _pump(c_out, s_in)
        _pump(s_out, c_in)
        if all(done):
            break
    assert all(done)
    srv.write(b"x")
    _pump(s_out, c_in)
    assert cli.read(1) == b"x"
    assert cli.session is not None
    return cli.session_reused, cli.session


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2], ids=["TLSv1.3", "TLSv1.2"]
)
def test_contexts_with_the_same_keys_resume_each_others_tickets(
    tmp_path: Path, version: ssl.TLSVersion
) -> None:
    cert, key = make_cert(tmp_path, ["localhost"])
    client = ssl.create_default_context(cafile=str(cert))
    client.minimum_version = client.maximum_version = version
    keys = bytes(range(tls_openssl.TICKET_KEYS_SIZE))
    first, second, stranger = _server(cert, key), _server(cert, key), _server(cert, key)
    tls_openssl.set_ticket_keys(first, keys)
    tls_openssl.set_ticket_keys(second, keys)
    assert tls_openssl.ticket_keys(second) == keys

    _, session = _handshake(first, client)
    assert _handshake(second, client, session)[0]
    _, session = _handshake(second, client)
    assert _handshake(first, client, session)[0]
    assert not _handshake(stranger, client, session)[0]


def test_keys_of_the_wrong_size_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        tls_openssl.set_ticket_keys(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), b"short")


def test_workers_share_each_addresss_keys_and_addresses_differ(tmp_path: Path) -> None:
    """Two builds of one configuration with the same generation keys (two workers) give
    each address the same keys; two addresses get different ones (nginx: one SSL_CTX, so
    one key set, per address), and ``ssl_session_tickets off`` installs none."""
    from framework import tls
    from framework.config.build import load_config

    cert, key = make_cert(tmp_path, ["localhost"])
    text = f"""
    server {{
        listen 127.0.0.1:18001 ssl;
        listen 127.0.0.1:18002 ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
    }}
    server {{
        listen 127.0.0.1:18003 ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_session_tickets off;
    }}
    """
    (tmp_path / "t.conf").write_text(text)
    config = load_config(tmp_path / "t.conf").config
    assert config is not None
    keys = tls.new_ticket_keys()
    tls.use_ticket_keys(keys)
    try:
        first = tls.server_contexts(config)
        second = tls.server_contexts(config)
    finally:
        tls.use_ticket_keys(None)
    one, two, off = (("127.0.0.1", port) for port in (18001, 18002, 18003))
    assert tls_openssl.ticket_keys(first[one]) == tls_openssl.ticket_keys(second[one])
    assert tls_openssl.ticket_keys(first[two]) == tls_openssl.ticket_keys(second[two])
    assert tls_openssl.ticket_keys(first[one]) != tls_openssl.ticket_keys(first[two])
    assert tls_openssl.ticket_keys(first[off]) != tls_openssl.ticket_keys(second[off])
    assert first[off].options & ssl.OP_NO_TICKET
