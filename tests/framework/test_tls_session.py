"""``framework.core.tls`` without sockets: a server ``TlsSession`` against a stdlib client
``SSLObject`` over memory BIOs, and the first-bytes helpers (TLS or plain, ClientHello ALPN)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from tls_certs import make_cert

from framework.core.tls import (
    TlsError,
    TlsSession,
    client_hello_alpn,
    first_record_size,
    prepare_context,
    starts_tls,
)


@pytest.fixture(scope="module")
def contexts(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = make_cert(tmp_path_factory.mktemp("certs"), ["localhost"])
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    server.set_alpn_protocols(["http/1.1"])
    prepare_context(server)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


class Client:
    def __init__(self, context: ssl.SSLContext, alpn: list[str] | None = None) -> None:
        if alpn is not None:
            context = _with_alpn(context, alpn)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, server_hostname="localhost")

    def step(self) -> bool:
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True


def _with_alpn(base: ssl.SSLContext, alpn: list[str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.load_verify_locations(cadata=base.get_ca_certs(binary_form=True)[0])
    ctx.set_alpn_protocols(alpn)
    return ctx


def handshake(server: TlsSession, client: Client) -> None:
    for _ in range(10):
        client_done = client.step()
        server.incoming.write(client.outgoing.read())
        server.handshake()
        client.incoming.write(server.outgoing.read())
        if client_done and server.established:
            return
    raise AssertionError("no handshake")


def client_hello(client_ctx: ssl.SSLContext, alpn: list[str] | None) -> bytes:
    client = Client(client_ctx, alpn)
    client.step()
    return client.outgoing.read()


def test_handshake_then_data_both_ways_and_close_notify(contexts):
    server_ctx, client_ctx = contexts
    server, client = TlsSession(server_ctx), Client(client_ctx)
    handshake(server, client)
    assert server.obj.selected_alpn_protocol() is None
    client.obj.write(b"GET / HTTP/1.1\r\n\r\n")
    server.incoming.write(client.outgoing.read())
    buffer = bytearray(65536)
    n = server.read_into(buffer)
    assert bytes(buffer[:n]) == b"GET / HTTP/1.1\r\n\r\n"
    assert server.read_into(buffer) == -1  # nothing more: wants input
    client.incoming.write(server.encrypt(b"x" * 100_000))
    got = b""
    while len(got) < 100_000:
        got += client.obj.read(65536)
    assert got == b"x" * 100_000
    client.incoming.write(server.close_notify())
    assert client.obj.read(10) == b""  # the close_notify: a clean end of data


def test_peer_close_notify_reads_as_end_of_input(contexts):
    server_ctx, client_ctx = contexts
    server, client = TlsSession(server_ctx), Client(client_ctx)
    handshake(server, client)
    with pytest.raises(ssl.SSLWantReadError):
        client.obj.unwrap()
    server.incoming.write(client.outgoing.read())
    assert server.read_into(bytearray(1024)) == 0


def test_garbage_instead_of_a_handshake_fails_with_an_alert(contexts):
    server = TlsSession(contexts[0])
    server.incoming.write(b"\x16\x03\x01\x00\x05hello")
    with pytest.raises(TlsError):
        server.handshake()


def test_a_bad_record_after_the_handshake_is_a_tls_error(contexts):
    server_ctx, client_ctx = contexts
    server, client = TlsSession(server_ctx), Client(client_ctx)
    handshake(server, client)
    server.incoming.write(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)
    with pytest.raises(TlsError):
        server.read_into(bytearray(1024))


@pytest.mark.parametrize(
    ("offered", "selected"), [(["h2", "http/1.1"], "http/1.1"), (["http/1.1"], "http/1.1")]
)
def test_alpn_selects_http_1_1(contexts, offered, selected):
    server_ctx, client_ctx = contexts
    server, client = TlsSession(server_ctx), Client(client_ctx, offered)
    handshake(server, client)
    assert server.obj.selected_alpn_protocol() == selected


def test_alpn_refused_session_fails_with_no_application_protocol(contexts):
    server_ctx, client_ctx = contexts
    server, client = TlsSession(server_ctx, refuse_alpn=True), Client(client_ctx, ["h2"])
    client.step()
    server.incoming.write(client.outgoing.read())
    with pytest.raises(TlsError, match="no application protocol"):
        server.handshake()
    client.incoming.write(server.outgoing.read())
    with pytest.raises(ssl.SSLError, match="NO_APPLICATION_PROTOCOL|no application protocol"):
        client.step()


@pytest.mark.parametrize(
    ("alpn", "expected"),
    [(None, None), (["h2"], [b"h2"]), (["h2", "http/1.1"], [b"h2", b"http/1.1"])],
)
def test_client_hello_alpn_reads_the_offer(contexts, alpn, expected):
    record = client_hello(contexts[1], alpn)
    assert starts_tls(record[0])
    assert first_record_size(record) == len(record)
    assert client_hello_alpn(record) == expected


def test_first_bytes_helpers_on_plain_http_and_truncated_input(contexts):
    assert not starts_tls(ord("G"))
    assert first_record_size(b"\x16\x03\x01") == 0
    record = client_hello(contexts[1], ["h2"])
    assert client_hello_alpn(record[:60]) is None  # cut short: cannot tell
    assert client_hello_alpn(b"GET / HTTP/1.1\r\n") is None


def test_prepare_context_is_idempotent_and_keeps_the_sni_callback(tmp_path: Path):
    seen: list[str | None] = []
    cert, key = make_cert(tmp_path, ["a.test"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.sni_callback = lambda obj, name, c: seen.append(name)  # type: ignore[assignment,func-returns-value]
    prepare_context(prepare_context(ctx))
    assert ctx.options & ssl.OP_NO_RENEGOTIATION
    client_ctx = ssl.create_default_context(cafile=str(cert))
    server, client = TlsSession(ctx), Client(client_ctx)
    client.obj = client_ctx.wrap_bio(client.incoming, client.outgoing, server_hostname="a.test")
    handshake(server, client)
    assert seen == ["a.test"]
