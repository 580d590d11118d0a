"""How webserv builds a redirect's ``Location`` (nginx's header filter): scheme, validated
host, the local port unless it is the scheme's default, ``port_in_redirect off`` (no port),
``absolute_redirect off`` (relative), and behind a trusted proxy the port from ``Host``."""

from __future__ import annotations

import pytest

from framework.config.models import LocationConfig
from framework.http.headers import Headers
from framework.http.realip import TRUSTED_PROXY
from framework.http.request import Request
from framework.routing.urls import absolute_url, redirect_url
from handlers.redirect import location_url


def _request(
    host: str = "example.test",
    port: int = 8080,
    scheme: str = "http",
    *,
    proxied: bool = False,
    **location: bool,
) -> Request:
    request = Request(
        "GET", "/", "/", headers=Headers({"Host": host}), server=("192.0.2.1", port),
        scheme=scheme, host=host.rsplit(":", 1)[0] if "]" not in host else host,
    )  # fmt: skip
    request.location = LocationConfig(**location)
    if proxied:
        request.state[TRUSTED_PROXY] = True
    return request


@pytest.mark.parametrize(
    ("scheme", "port", "expected"),
    [("http", 80, "http://example.test/a/"), ("https", 443, "https://example.test/a/"),
     ("http", 443, "http://example.test:443/a/"), ("https", 80, "https://example.test:80/a/"),
     ("http", 8080, "http://example.test:8080/a/")],
)  # fmt: skip
def test_the_local_port_is_left_out_only_when_it_is_the_schemes_default(scheme, port, expected):
    assert redirect_url(_request(port=port, scheme=scheme), "/a/") == expected


def test_port_in_redirect_off_never_names_a_port():
    request = _request(port=8443, scheme="https", port_in_redirect=False)
    assert redirect_url(request, "/a/") == "https://example.test/a/"


def test_absolute_redirect_off_keeps_the_path_relative():
    request = _request(absolute_redirect=False)
    assert absolute_url(request, "/dir /", "q=1") == "/dir%20/?q=1"
    # collapsing // still happens first: a relative Location can never be protocol-relative
    assert location_url(request, "//evil.test/x") == "/evil.test/x"
    assert location_url(request, "/\\evil.test") == "/evil.test"
    assert location_url(request, "https://other.test/") == "https://other.test/"


def test_an_invalid_host_falls_back_to_the_local_address():
    request = _request(host="bad host", port=80)
    request.host = "bad host"
    assert redirect_url(request, "/a") == "http://192.0.2.1/a"


@pytest.mark.parametrize(
    ("host", "expected"),
    [("pub.test", "https://pub.test/a"), ("pub.test:8443", "https://pub.test:8443/a"),
     ("pub.test:443", "https://pub.test/a"), ("pub.test:99999", "https://pub.test/a"),
     ("pub.test:x", "https://pub.test/a"), ("[2001:db8::1]:8443", "https://[2001:db8::1]:8443/a"),
     ("[2001:db8::1]", "https://[2001:db8::1]/a")],
)  # fmt: skip
def test_behind_a_trusted_proxy_the_port_comes_from_host(host, expected):
    request = _request(host=host, port=8080, scheme="https", proxied=True)
    request.host = host.rpartition(":")[0] if host.rfind(":") > host.rfind("]") else host
    assert redirect_url(request, "/a") == expected
