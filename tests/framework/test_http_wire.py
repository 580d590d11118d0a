"""Pure request/response wire helpers."""

from __future__ import annotations

import pytest

from framework.http import wire
from framework.http.headers import Headers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5),
        (" 12 ", 12),
        ("0", 0),
        ("+5", None),
        ("1_0", None),
        ("-1", None),
        ("5, 5", None),
        ("", None),
        ("0x10", None),
        ("١", None),
        ("9" * 19, None),
    ],
)
def test_content_length_accepts_only_digits(value, expected):
    assert wire.parse_content_length(value) == expected


@pytest.mark.parametrize(
    ("values", "version", "status"),
    [
        (["chunked"], "1.1", 0),
        (["Chunked "], "1.1", 0),
        (["chunked"], "1.0", 400),
        (["gzip, chunked"], "1.1", 501),
        (["gzip"], "1.1", 501),
        (["chunked", "chunked"], "1.1", 400),
        (["chunked, chunked"], "1.1", 400),
        ([""], "1.1", 400),
    ],
)
def test_transfer_encoding_rules(values, version, status):
    assert wire.check_transfer_encoding(values, version) == status


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("example.org", True),
        ("example.org:8080", True),
        ("[::1]:80", True),
        ("", True),
        ("a b", False),
        ("a/b", False),
        ("a@b", False),
        ("x:80:90", False),
    ],
)
def test_host_validation(host, ok):
    assert wire.valid_host(host) is ok


def test_host_without_port_lowercases_and_keeps_ipv6_brackets():
    assert wire.host_without_port("Example.ORG:81") == "example.org"
    assert wire.host_without_port("[::1]:81") == "[::1]"


def test_header_lines_drop_response_splitting_attempts_and_engine_headers():
    headers = Headers(
        [("X-Ok", "1"), ("X-Bad", "a\r\nSet-Cookie: x"), ("Content-Length", "9"), ("Server", "x")]
    )
    assert wire.header_lines(headers) == ["X-Ok: 1\r\n"]


def test_status_line_uses_standard_reasons_and_cleans_custom_ones():
    assert wire.status_line(404) == "HTTP/1.1 404 Not Found\r\n"
    assert wire.status_line(200, "Fine\r\nX: y") == "HTTP/1.1 200 Fine  X: y\r\n"


def test_date_line_is_an_imf_fixdate():
    line = wire.date_line()
    assert line.startswith("Date: ") and line.endswith(" GMT\r\n")


@pytest.mark.parametrize(
    ("target", "authority"),
    [
        ("http://other.test/", "other.test"),
        ("http://Other.Test:81/a?b", "Other.Test:81"),
        ("https://[::1]:8443?x", "[::1]:8443"),
        ("http://other.test", "other.test"),
        ("http://user@other.test/", None),
        ("http:///path", None),
    ],
)
def test_authority_of_an_absolute_form_target(target, authority):
    assert wire.authority_of(target) == authority
