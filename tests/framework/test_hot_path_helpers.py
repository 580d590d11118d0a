"""The hot path's precomputed pieces stay exact: a header block carried by ``Headers`` is
dropped by every change, the cached host names and response head starts match what the
uncached helpers produce."""

from __future__ import annotations

from framework.http import wire
from framework.http.headers import Headers
from framework.version import PRODUCT_VERSION

ITEMS = [("content-type", "Content-Type", "text/html"), ("etag", "ETag", '"1-2"')]


def fresh_block(headers: Headers) -> str:
    return "".join(wire.header_lines(headers))


def test_carried_header_block_is_used_until_the_headers_change() -> None:
    block = fresh_block(Headers.from_items(ITEMS))
    headers = Headers.from_items(ITEMS, block)
    assert wire.header_block(headers) == block
    changes = [
        lambda h: h.add("X-A", "1"),
        lambda h: h.__setitem__("ETag", '"3-4"'),
        lambda h: h.__delitem__("etag"),
        lambda h: h.pop("content-type"),
        lambda h: h.setdefault("X-B", "2"),
        lambda h: h.update({"Content-Type": "text/plain"}),
    ]
    for change in changes:
        headers = Headers.from_items(ITEMS, block)
        change(headers)
        assert wire.header_block(headers) == fresh_block(headers) != block


def test_from_items_copies_so_stamped_headers_do_not_share_changes() -> None:
    first = Headers.from_items(ITEMS)
    first.add("X-Only-Here", "1")
    assert "x-only-here" not in Headers.from_items(ITEMS)
    assert len(ITEMS) == 2


def test_engine_headers_are_left_out_of_a_block_as_before() -> None:
    headers = Headers({"Content-Length": "9", "X-Kept": "yes", "Connection": "close"})
    assert wire.header_block(headers) == "X-Kept: yes\r\n"


def test_cached_host_names_match_the_uncached_checks() -> None:
    for value in ("Example.COM:8080", " a.b ", "[::1]:80", "", "bad host", "x\x00y", "h:1"):
        stripped = value.strip(" \t")
        expected = wire.host_without_port(stripped) if wire.valid_host(stripped) else None
        assert wire.host_name(value) == expected
        assert wire.host_name(value) == expected  # second time from the cache


def test_head_start_is_status_date_and_server_lines() -> None:
    for status, reason in ((200, None), (404, None), (200, "Fine\r\nX: y")):
        before = wire.date_line()
        start = wire.head_start(status, reason)
        lines = start.split("\r\n")
        assert lines[0] == wire.status_line(status, reason).rstrip("\r\n")
        assert lines[1].startswith("Date: ") and lines[1] + "\r\n" in (before, wire.date_line())
        assert lines[2] == f"Server: {PRODUCT_VERSION}"  # server_tokens on (default)
        assert start.endswith("\r\n") and len(lines) == 4
    assert "X: y" not in wire.head_start(200, "Fine\r\nX: y").split("\r\n")[1:]
