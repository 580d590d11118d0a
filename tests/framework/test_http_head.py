"""Unit tests for the sans-I/O request head checks (framework.http.head)."""

from __future__ import annotations

import pytest

from framework.http.head import FRAMING_HEADERS, check_head


def _h(*pairs: tuple[str, str]) -> list[tuple[str, str, str]]:
    return [(name.lower(), name, value) for name, value in pairs]


def test_a_plain_get_yields_target_path_query_and_host_without_a_body() -> None:
    checked = check_head("1.1", _h(("Host", "example.com:8080")), [b"/a/b?x=1"])
    assert checked == ("/a/b?x=1", "/a/b", "x=1", "example.com", 0, False, False)


def test_the_target_may_arrive_in_pieces() -> None:
    checked = check_head("1.1", _h(("Host", "h")), [b"/lo", b"ng"])
    assert not isinstance(checked, int)
    assert checked[0] == "/long"


@pytest.mark.parametrize(("version", "status"), [("2.0", 505), ("0.9", 400), ("0.0", 400)])
def test_unsupported_versions_are_rejected(version: str, status: int) -> None:
    assert check_head(version, _h(("Host", "h")), [b"/"]) == status


def test_http11_without_host_is_400_but_http10_is_accepted() -> None:
    assert check_head("1.1", [], [b"/"]) == 400
    checked = check_head("1.0", [], [b"/"])
    assert not isinstance(checked, int)
    assert checked[3] == ""


def test_two_host_headers_are_400() -> None:
    assert check_head("1.1", _h(("Host", "a"), ("Host", "a")), [b"/"]) == 400


def test_content_length_gives_the_body_length() -> None:
    checked = check_head("1.1", _h(("Host", "h"), ("Content-Length", "42")), [b"/"])
    assert not isinstance(checked, int)
    assert checked[4:6] == (42, False)


@pytest.mark.parametrize("value", ["-1", "4x", "1, 1"])
def test_an_invalid_content_length_is_400(value: str) -> None:
    assert check_head("1.1", _h(("Host", "h"), ("Content-Length", value)), [b"/"]) == 400


def test_two_content_length_headers_are_400() -> None:
    framing = _h(("Host", "h"), ("Content-Length", "1"), ("Content-Length", "1"))
    assert check_head("1.1", framing, [b"/"]) == 400


def test_chunked_has_no_known_length() -> None:
    checked = check_head("1.1", _h(("Host", "h"), ("Transfer-Encoding", "chunked")), [b"/"])
    assert not isinstance(checked, int)
    assert checked[4:6] == (None, True)


def test_transfer_encoding_with_content_length_is_400() -> None:
    framing = _h(("Host", "h"), ("Transfer-Encoding", "chunked"), ("Content-Length", "3"))
    assert check_head("1.1", framing, [b"/"]) == 400


def test_an_unknown_transfer_coding_is_501() -> None:
    assert check_head("1.1", _h(("Host", "h"), ("Transfer-Encoding", "gzip")), [b"/"]) == 501


def test_expect_100_continue_is_reported() -> None:
    checked = check_head("1.1", _h(("Host", "h"), ("Expect", " 100-Continue ")), [b"/"])
    assert not isinstance(checked, int)
    assert checked[6] is True


def test_an_absolute_form_target_replaces_host() -> None:
    checked = check_head("1.1", _h(("Host", "ignored")), [b"http://other.test:81/p?q"])
    assert not isinstance(checked, int)
    assert checked[1:4] == ("/p", "q", "other.test")


def test_a_target_escaping_the_root_is_rejected() -> None:
    status = check_head("1.1", _h(("Host", "h")), [b"/../etc/passwd"])
    assert isinstance(status, int)
    assert status >= 400


def test_the_framing_headers_are_the_ones_the_check_reads() -> None:
    assert FRAMING_HEADERS == {"host", "content-length", "transfer-encoding", "expect"}
