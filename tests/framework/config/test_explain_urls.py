"""``--explain`` URLs beyond ``http://name:port/path``: IPv6 literals (each family reaches
its own wildcard, ``[::]`` being IPv6-only as nginx's ipv6only=on), https with and without a
TLS listener, port 0, out-of-range ports, userinfo, a missing host."""

from __future__ import annotations

import pytest

from framework.cli import main
from framework.config.explain import ExplainError, check_url, explain

DUAL = """
server {
    listen 8080;
    listen [::]:8080;
    server_name dual.test;
    location /x { return 204; }
}
server {
    listen [::1]:9090;
    server_name loop6.test;
}
server {
    listen 127.0.0.1:7070;
    server_name v4only.test;
}
"""

TLS = """
server {
    listen 8080;
    listen [::1]:8443 ssl;
    server_name secure.test;
    ssl_certificate cert.pem;
    ssl_certificate_key key.pem;
}
"""


@pytest.fixture
def dual(load):
    result = load(DUAL)
    assert result.config is not None, result.diagnostics
    return result.config


def line(text: str, label: str) -> str:
    return next(x for x in text.splitlines() if x.startswith(label))


@pytest.mark.parametrize(
    ("url", "listener"),
    [
        ("http://[::1]:8080/x", "listener  [::]:8080 (plain HTTP)"),
        ("http://[0:0:0:0:0:0:0:1]:8080/x", "listener  [::]:8080 (plain HTTP)"),
        ("http://[::]:8080/x", "listener  [::]:8080 (plain HTTP)"),
        ("http://127.0.0.1:8080/x", "listener  0.0.0.0:8080 (plain HTTP)"),
        ("http://[::1]:9090/", "listener  [::1]:9090 (plain HTTP)"),
        ("http://[0::1]:9090/", "listener  [::1]:9090 (plain HTTP)"),
    ],
)
def test_an_ipv6_url_reaches_the_listener_of_its_family(dual, url, listener):
    text = explain(dual, url)
    assert line(text, "listener") == listener
    assert "Traceback" not in text


def test_server_lines_show_ipv6_listen_addresses_bracketed(dual):
    text = explain(dual, "http://[::1]:9090/")
    assert "(listen [::1]:9090)" in line(text, "server")
    assert "default server for [::1]:9090" in text and ":::" not in text


def test_an_ip_no_socket_is_bound_to_is_not_served_by_another_address(dual):
    assert "no server listens on [::1]:7070 (127.0.0.1:7070)" in explain(dual, "http://[::1]:7070/")
    text = explain(dual, "http://10.9.8.7:9090/")
    assert "no server listens on 10.9.8.7:9090 ([::1]:9090)" in text
    assert "listener" not in text


def test_an_ipv6_client_is_told_that_0_0_0_0_is_ipv4_only(load):
    result = load("server { listen 8080; }\n")
    text = explain(result.config, "http://[::1]:8080/")
    assert "no server listens on [::1]:8080 (0.0.0.0:8080)" in text
    assert "0.0.0.0 takes IPv4 connections only: add listen [::]:8080" in text


def test_a_name_still_reaches_the_wildcard_listener(dual):
    text = explain(dual, "http://dual.test:8080/x")
    assert line(text, "listener") == "listener  0.0.0.0:8080 (plain HTTP)"
    assert line(text, "location").startswith("location  /x at")


def test_https_to_a_plain_listener_says_the_handshake_fails(dual):
    text = explain(dual, "https://[::1]:8080/x")
    assert line(text, "listener") == "listener  [::]:8080 (plain HTTP)"
    assert "an https:// client fails its TLS handshake here" in text
    assert "location" not in text


def test_https_without_any_tls_listener_says_the_config_serves_no_https(dual):
    text = explain(dual, "https://dual.test/x")
    assert "no server listens on port 443 (http: 7070, 8080, 9090)" in text
    assert "no listen has ssl: this configuration serves no https:// URL" in text


def test_https_to_an_ipv6_tls_listener_uses_the_default_certificate(load):
    result = load(TLS)
    assert result.config is not None, result.diagnostics
    text = explain(result.config, "https://[::1]:8443/")
    assert line(text, "listener") == "listener  [::1]:8443 ssl (TLS)"
    assert line(text, "tls").endswith("cert.pem")
    assert "no SNI (clients send none for an IP address)" in text
    plain = explain(result.config, "http://[::1]:8443/")
    assert "The plain HTTP request was sent to HTTPS port" in plain


def test_port_0_is_not_the_default_port_and_matches_no_listener(load):
    result = load("server { listen 80; }\n")
    for url in ("http://host:0/", "https://host:0/", "http://[::1]:0/"):
        text = explain(result.config, url)
        assert "no server listens on port 0: a client cannot connect to port 0" in text, url
        assert "listener" not in text


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://host:65536/", "Port out of range"),
        ("http://host:99999/", "Port out of range"),
        ("http://host:-1/", "Port could not be cast"),
        ("http://host:http/", "Port could not be cast"),
        ("http:///x", "it has no host"),
        ("http://:8080/x", "it has no host"),
        ("https://user@/x", "it has no host"),
        ("http://[::1/", "Invalid IPv6 URL"),
        ("http://[::1]x/", "is not a :port"),
    ],
)
def test_urls_no_client_could_send_are_rejected_with_the_reason(url, reason):
    with pytest.raises(ExplainError, match="invalid URL") as info:
        check_url(url)
    assert reason in str(info.value)


def test_userinfo_is_explained_as_not_sent_and_ignored_for_matching(dual):
    text = explain(dual, "http://alice:secret@dual.test:8080/x")
    assert "not sent in the request line or Host" in text
    assert 'chosen by exact server_name "dual.test"' in text
    assert line(text, "location").startswith("location  /x at")


def test_the_cli_explains_ipv6_and_port_0_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "site.conf"
    path.write_text(DUAL)
    for url, expected in (
        ("http://[::1]:8080/x", "listener  [::]:8080"),
        ("http://x:0/", "no server listens on port 0"),
    ):
        assert main(["validate-config", "--no-fs", str(path), "--explain", url]) == 0
        captured = capsys.readouterr()
        assert expected in captured.out and "Traceback" not in captured.err
    assert main(["validate-config", str(path), "--explain", "http://x:70000/"]) == 3
    assert "Port out of range" in capsys.readouterr().err
