"""With ``workers 2`` a session ticket resumes on whichever worker the next connection
reaches: the master makes the ticket keys once per configuration load and every worker of
that generation installs them (nginx builds its SSL_CTX in the master, before forking, to the
same effect). A reload makes new keys, so tickets of the old generation no longer resume."""

from __future__ import annotations

import os
import signal
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from tls_certs import make_cert

from framework.testing import ServerProcess, read_until_close, wait_until

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

ATTEMPTS = 20


def _fetch(
    srv: ServerProcess, ctx: ssl.SSLContext, session: ssl.SSLSession | None = None
) -> tuple[bool, ssl.SSLSession]:
    with ctx.wrap_socket(srv.connect(), server_hostname="localhost", session=session) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert read_until_close(sock).startswith(b"HTTP/1.1 200")
        new = sock.session
        assert new is not None
        return bool(sock.session_reused), new


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("resumption")
    make_cert(base, ["localhost"], stem="site")
    (base / "www").mkdir()
    (base / "www/index.html").write_text("hello\n")
    with ServerProcess(CONFIG, cwd=base) as srv:
        yield srv


def _cafile(srv: ServerProcess) -> str:
    return str(Path(str(srv.cwd)) / "site.pem")


def _client(srv: ServerProcess, version: ssl.TLSVersion) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=_cafile(srv))
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2], ids=["TLSv1.3", "TLSv1.2"]
)
def test_every_ticket_resumes_whichever_worker_answers(
    server: ServerProcess, version: ssl.TLSVersion
) -> None:
    ctx = _client(server, version)
    resumed = 0
    for _ in range(ATTEMPTS):
        _, session = _fetch(server, ctx)
        reused, _ = _fetch(server, ctx, session)
        resumed += reused
    assert resumed == ATTEMPTS


def test_reload_rotates_the_ticket_keys(server: ServerProcess) -> None:
    ctx = _client(server, ssl.TLSVersion.TLSv1_3)
    _, old = _fetch(server, ctx)
    old_workers = set(server.children())
    os.kill(server.pid, signal.SIGHUP)
    assert server.wait_for_log(r"reloaded configuration \(2 workers\)"), server.stderr
    # once the old generation has exited, every new connection meets the new keys
    assert wait_until(lambda: not old_workers & set(server.children()))
    reused, new = _fetch(server, ctx, old)
    assert not reused
    assert _fetch(server, ctx, new)[0]
