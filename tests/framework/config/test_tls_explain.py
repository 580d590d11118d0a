"""``--explain https://...``: the TLS listener (443 by default), the certificate SNI
selects, and what happens when the scheme does not fit the address."""

from __future__ import annotations

import pytest

from framework.config.explain import check_url, explain

CONFIG = """
server {
    listen 127.0.0.1:80;
    listen 127.0.0.1:443 ssl default_server;
    server_name a.test;
    ssl_certificate a.pem;
    ssl_certificate_key a-key.pem;
}
server {
    listen 127.0.0.1:443 ssl;
    server_name *.b.test;
    ssl_certificate b.pem;
    ssl_certificate_key b-key.pem;
    location /app/ { }
}
server {
    listen 127.0.0.1:443 ssl;
    server_name nocert.test;
}
"""


@pytest.fixture
def config(load):
    result = load(CONFIG)
    assert result.config is not None, result.diagnostics
    return result.config


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_https_without_port_picks_the_tls_listener_on_443(config, tmp_path) -> None:
    text = lines(explain(config, "https://www.b.test/app/x"))
    assert text[:4] == [
        "URL       https://www.b.test/app/x",
        "listener  127.0.0.1:443 ssl (TLS)",
        f"tls       certificate {tmp_path / 'b.pem'}",
        '          SNI "www.b.test"',
    ]
    assert text[4].startswith('server    server_name "*.b.test" (listen 127.0.0.1:443 ssl)')
    assert text[7].startswith("location  /app/")
    assert any(line.split() == ["ssl_certificate", str(tmp_path / "b.pem")] for line in text)


def test_an_ip_address_sends_no_sni_and_gets_the_default_certificate(config, tmp_path) -> None:
    text = explain(config, "https://127.0.0.1/")
    assert f"tls       certificate {tmp_path / 'a.pem'}" in text
    assert "no SNI" in text


def test_a_server_without_certificate_is_answered_with_the_defaults(config, tmp_path) -> None:
    text = explain(config, "https://nocert.test/")
    assert f"tls       certificate {tmp_path / 'a.pem'}" in text
    assert "the default's" in text


def test_plain_http_to_the_tls_port_is_a_400(config) -> None:
    text = explain(config, "http://a.test:443/")
    assert "The plain HTTP request was sent to HTTPS port" in text
    assert "server    " not in text


def test_https_to_a_plain_port_fails_the_handshake(config) -> None:
    text = explain(config, "https://a.test:80/")
    assert "listener  127.0.0.1:80 (plain HTTP)" in text
    assert "fails its TLS handshake" in text


def test_plain_http_urls_keep_their_answer(config) -> None:
    text = lines(explain(config, "http://a.test/"))
    assert text[1] == "listener  127.0.0.1:80 (plain HTTP)"
    assert text[2].startswith('server    server_name "a.test"')
    assert "ssl_certificate" not in "\n".join(text)


def test_no_listener_on_the_port_lists_http_and_https_ports(load) -> None:
    result = load("server {\n listen 8080;\n}\n")
    assert "no server listens on port 443 (http: 8080)" in explain(result.config, "https://x.test/")


def test_a_bare_path_uses_https_when_the_first_listener_is_tls(load, tmp_path) -> None:
    result = load(
        "server {\n listen 127.0.0.1:8443 ssl;\n ssl_certificate a.pem;\n"
        " ssl_certificate_key a-key.pem;\n}\n"
    )
    assert explain(result.config, "/x").startswith("URL       https://127.0.0.1:8443/x\n")


def test_check_url_accepts_https() -> None:
    check_url("https://example.test/")
