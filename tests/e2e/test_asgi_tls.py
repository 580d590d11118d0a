"""The ASGI scope over TLS and behind a trusted proxy: ``scheme`` https/wss, ``client`` the
real client (``set_real_ip_from``), and a WebSocket echo over TLS."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tls_certs import make_cert
from websockets.sync.client import connect

from framework.testing import ServerProcess, free_port

APPS = Path(__file__).resolve().parent.parent / "apps"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, int, Path]]:
    base = tmp_path_factory.mktemp("asgi-tls")
    cert, key = make_cert(base, ["localhost", "127.0.0.1"], "site")
    tls_port = free_port()
    config = f"""
server {{
    listen 127.0.0.1:{{port}};
    listen 127.0.0.1:{tls_port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    asgi_app_dir {APPS};
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    location /scope/ {{ asgi asgi_raw_apps:scope_echo; }}
    location /ws {{ asgi asgi_ws_apps:echo; }}
}}
"""
    with ServerProcess(config, cwd=base) as server:
        yield server, tls_port, cert


def tls_context(cert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    return context


def https_scope(port: int, cert: Path, path: str) -> Any:
    import http.client

    conn = http.client.HTTPSConnection("127.0.0.1", port, context=tls_context(cert), timeout=10)
    try:
        conn.request("GET", path)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def test_scheme_is_https_over_tls(site: tuple[ServerProcess, int, Path]) -> None:
    _, port, cert = site
    scope = https_scope(port, cert, "/scope/x")
    assert scope["scheme"] == "https" and scope["server"] == ["127.0.0.1", port]


def test_trusted_proxy_headers_give_the_real_client_and_scheme(
    site: tuple[ServerProcess, int, Path],
) -> None:
    server, _, _ = site
    result = server.get(
        "/scope/x", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    )
    scope = json.loads(result.body)
    assert scope["client"][0] == "203.0.113.7"
    assert scope["scheme"] == "https"


def test_websocket_over_tls(site: tuple[ServerProcess, int, Path]) -> None:
    _, port, cert = site
    url = f"wss://127.0.0.1:{port}/ws"
    with connect(url, ssl=tls_context(cert), open_timeout=10) as ws:
        ws.send("scope")
        scope = json.loads(ws.recv(timeout=10))
        assert scope["scheme"] == "wss"
        ws.send(b"x" * 100_000)
        assert ws.recv(timeout=10) == b"x" * 100_000
