"""normalize_target: decode once, remove dot segments, refuse what could escape or confuse."""

import pytest

from framework.http.errors import HTTPError
from framework.routing.paths import normalize_target, remove_dot_segments


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", ("/", "")),
        ("/index.html", ("/index.html", "")),
        ("/a/b?x=1&y=%20", ("/a/b", "x=1&y=%20")),
        ("/a/b/", ("/a/b/", "")),
        ("/a?", ("/a", "")),
        ("/a?b?c", ("/a", "b?c")),
    ],
)
def test_plain_targets_pass_through_unchanged(target, expected):
    assert normalize_target(target) == expected


def test_query_is_kept_raw_and_never_decoded():
    assert normalize_target("/p?a=%2F%00&b=..") == ("/p", "a=%2F%00&b=..")


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("/a/../b", "/b"),
        ("/a/./b", "/a/b"),
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/a//b///c", "/a/b/c"),
        ("//evil", "/evil"),
        ("/a/%2e%2e/b", "/b"),
        ("/a/%2E/b", "/a/b"),
        ("/a/.%2e/", "/"),
        ("/.hidden/x", "/.hidden/x"),
        ("/a/...", "/a/..."),
        ("/files../etc", "/files../etc"),
    ],
)
def test_dot_segments_are_removed_after_decoding(target, path):
    assert normalize_target(target)[0] == path


def test_double_encoded_dot_is_decoded_only_once():
    assert normalize_target("/a/%252e%252e/b") == ("/a/%2e%2e/b", "")


def test_percent_escapes_decode_to_utf8_text():
    assert normalize_target("/caf%C3%A9/%20x") == ("/café/ x", "")


def test_invalid_utf8_is_kept_as_surrogate_escaped_bytes():
    path, _ = normalize_target("/%FF%FE")
    assert path.encode("utf-8", "surrogateescape") == b"/\xff\xfe"


def test_raw_non_ascii_bytes_given_as_latin1_text_are_decoded_as_utf8():
    raw = "/café".encode().decode("latin-1")
    assert normalize_target(raw) == ("/café", "")
    assert normalize_target("/café".encode()) == ("/café", "")


@pytest.mark.parametrize(
    "target",
    [
        "/..",
        "/../etc/passwd",
        "/a/../../etc/passwd",
        "/%2e%2e/etc/passwd",
        "/%2E%2E%2Fetc",
        "/a/%2e%2e/%2e%2e/x",
        "/a%2fb",
        "/a%2F..%2F..%2Fetc",
        "/a%5c..%5cetc",
        "/..\\..\\etc\\passwd",
        "/a\\b",
        "/a%00.html",
        "/a\x00b",
        "/a\x01b",
        "/a\x7fb",
        "/a b",
        "/a%0d%0aSet-Cookie:x",
        "/a#frag",
        "/a?q#frag",
        "/%zz",
        "/%2",
        "/abc%",
        "relative/path",
        "",
        "ftp://host/x",
        "http://",
    ],
)
def test_dangerous_or_malformed_targets_are_refused_with_400(target):
    with pytest.raises(HTTPError) as info:
        normalize_target(target)
    assert info.value.status == 400


def test_asterisk_form_is_returned_as_is():
    assert normalize_target("*") == ("*", "")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("http://example.org/a/b?q=1", ("/a/b", "q=1")),
        ("HTTP://example.org", ("/", "")),
        ("https://example.org:8443/x/../y", ("/y", "")),
        ("http://example.org?x", ("/", "x")),
    ],
)
def test_absolute_form_takes_the_path_from_the_url(target, expected):
    assert normalize_target(target) == expected


def test_remove_dot_segments_keeps_a_trailing_slash():
    assert remove_dot_segments("/a/b/") == "/a/b/"
    assert remove_dot_segments("/a/b/../") == "/a/"
    assert remove_dot_segments("/") == "/"
