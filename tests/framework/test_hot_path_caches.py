"""The per-request caches give exactly what the uncached code gives: header blocks cached
by value, request-targets normalised once, header names decoded once."""

from __future__ import annotations

import pytest

from framework.http import wire
from framework.http.body import RequestBody
from framework.http.connection import _name_entry
from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.routing import paths
from framework.routing.paths import normalize_target


def fresh_block(headers: Headers) -> str:
    return "".join(wire.header_lines(headers))


def test_header_block_cached_by_value_matches_a_fresh_serialisation() -> None:
    for spec in (
        {"Content-Type": "text/plain"},
        {"Content-Type": "text/plain", "X-A": "1"},
        {"Content-Type": "text/html"},
        {},
    ):
        first = wire.header_block(Headers(spec))
        again = wire.header_block(Headers(spec))
        assert first == again == fresh_block(Headers(spec))


def test_header_block_cache_tells_apart_headers_that_differ_only_in_case_or_value() -> None:
    assert wire.header_block(Headers({"X-A": "1"})) == "X-A: 1\r\n"
    assert wire.header_block(Headers({"x-a": "1"})) == "x-a: 1\r\n"
    assert wire.header_block(Headers({"X-A": "2"})) == "X-A: 2\r\n"


def test_cached_header_block_still_drops_fields_that_would_split_the_response() -> None:
    for _ in range(2):
        block = wire.header_block(Headers([("X-Ok", "1"), ("X-Bad", "a\r\nSet-Cookie: x=1")]))
        assert block == "X-Ok: 1\r\n"


def test_header_block_with_a_non_string_value_is_serialised_not_cached() -> None:
    headers = Headers()
    headers._items.append(("x-list", "X-List", ["a"]))  # type: ignore[arg-type]
    assert wire.header_block(headers) == "X-List: ['a']\r\n"


def test_header_block_of_many_fields_is_not_cached_and_still_right() -> None:
    headers = Headers([(f"X-{i}", str(i)) for i in range(20)])
    assert wire.header_block(headers) == fresh_block(headers)


def _remembered_hits() -> int:
    return paths._normalize_remembered.cache_info().hits  # type: ignore[attr-defined, no-any-return]


def test_normalize_target_gives_the_same_answer_from_its_cache() -> None:
    for target in ("/a/b.html", "/a/./b/../c?x=1", "/%41%42", "http://h/p?q", "*"):
        first = normalize_target(target)
        hits = _remembered_hits()
        assert normalize_target(target) == first
        assert normalize_target(target.encode("latin-1")) == first
        assert _remembered_hits() == hits + 2


def test_a_refused_target_is_refused_every_time_and_never_cached() -> None:
    for target in ("/../x", "/a%2fb", "/a?b#c", "/a\\b"):
        hits = _remembered_hits()
        for _ in range(2):
            with pytest.raises(HTTPError) as info:
                normalize_target(target)
            assert info.value.status == 400
        assert _remembered_hits() == hits


def test_long_targets_are_normalised_but_not_cached() -> None:
    target = "/" + "a" * 1000
    size = paths._normalize_remembered.cache_info().currsize  # type: ignore[attr-defined]
    assert normalize_target(target) == (target, "")
    assert normalize_target(target) == (target, "")
    assert paths._normalize_remembered.cache_info().currsize == size  # type: ignore[attr-defined]


def test_header_names_are_decoded_as_sent_and_lower_cased() -> None:
    assert _name_entry(b"Content-Length") == ("content-length", "Content-Length")
    assert _name_entry(b"X-\xe9") == ("x-\xe9", "X-\xe9")


def test_request_parsed_builds_the_same_request_as_the_constructor() -> None:
    headers = Headers({"Host": "example.org"})
    body = RequestBody.empty()
    made = Request(
        "GET",
        "/a?b",
        "/a",
        "b",
        headers,
        client=("1.2.3.4", 5),
        server=("127.0.0.1", 80),
        http_version="1.0",
        host="example.org",
        body=body,
    )
    made.keep_alive = False
    fast = Request.parsed(
        "GET",
        "/a?b",
        "/a",
        "b",
        headers,
        ("1.2.3.4", 5),
        ("127.0.0.1", 80),
        "1.0",
        "example.org",
        body,
        False,
    )
    for name in Request.__slots__:
        assert getattr(fast, name) == getattr(made, name), name
    assert fast.state is not made.state


def test_a_long_header_block_is_right_and_not_kept() -> None:
    headers = Headers({"Set-Cookie": "a=" + "x" * 2000})
    assert wire.header_block(headers) == fresh_block(headers)
    assert tuple(headers._items) not in wire._blocks
