"""Adversarial unit tests for the static family: Range, conditional dates, autoindex names
and redirect Locations (expected values checked against nginx 1.22 where it has one)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from framework.config.models import LocationConfig, Return, ServerConfig
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from framework.routing.paths import resolve_stat
from handlers.autoindex import Entry, read_entries, render_html, render_json
from handlers.conditional import evaluate, parse_http_date, range_allowed
from handlers.ranges import parse_range
from handlers.redirect import RedirectHandler
from handlers.static import StaticHandler

# -- Range --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "kind", "offset", "length"),
    [
        ("bytes=-0", 10, "unsatisfiable", 0, 0),  # nginx: 416
        ("bytes=5-2", 10, "full", 0, 0),  # invalid: ignored
        ("bytes=0-", 0, "unsatisfiable", 0, 0),
        ("bytes=3-" + "9" * 40, 10, "partial", 3, 7),
        ("bytes=" + "9" * 40 + "-", 10, "unsatisfiable", 0, 0),
        ("bytes=-" + "9" * 40, 10, "partial", 0, 10),
        ("bytes=0-0", 1, "partial", 0, 1),
        ("bytes=9-9", 10, "partial", 9, 1),
        ("bytes=10-10", 10, "unsatisfiable", 0, 0),
        ("bytes=+1-2", 10, "full", 0, 0),
        ("bytes=1_0-20", 10, "full", 0, 0),
        ("bytes= 1-2", 10, "partial", 1, 2),
        ("bytes=\u0663-4", 10, "full", 0, 0),  # an Arabic-Indic digit is not a DIGIT
        ("bytes=1-2-3", 10, "full", 0, 0),
        ("bytes=,,1-2,,", 10, "partial", 1, 2),
        ("items=0-1", 10, "full", 0, 0),
        ("bytes 0-1", 10, "full", 0, 0),
        ("bytes=", 10, "full", 0, 0),
        ("bytes=-", 10, "full", 0, 0),
    ],
)
def test_range_edge_cases(header, size, kind, offset, length):
    decision = parse_range(header, size)
    assert decision.kind == kind
    if kind == "partial":
        assert (decision.offset, decision.length) == (offset, length)


def test_many_ranges_are_refused_in_linear_time_and_never_multiplied():
    header = "bytes=" + ",".join("0-0" for _ in range(10_000))
    assert parse_range(header, 10).kind == "full"
    assert parse_range("bytes=" + "0-1," * 200_000, 10).kind == "full"


# -- conditional requests -----------------------------------------------------------------------

ETAG = '"abc-1"'
MTIME = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT


@pytest.mark.parametrize(
    "value",
    ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"],
)
def test_all_three_http_date_forms_are_understood(value):
    assert parse_http_date(value) == MTIME


@pytest.mark.parametrize(
    "value",
    ["garbage", "", "0", "-1", "\x00", "Thu, 32 Jan 1970 00:00:00 GMT",
     "Thu, 01 Jan 99999999 00:00:00 GMT", "Thu, 01 Jan 1970 25:61:61 GMT", "x" * 100,
     "Thu, 01 Jan 1970 00:00:00 +99999"],
)  # fmt: skip
def test_invalid_dates_are_ignored_not_errors(value):
    assert parse_http_date(value) is None
    headers = Headers((("If-Modified-Since", value), ("If-Unmodified-Since", value)))
    assert evaluate(headers, ETAG, MTIME, "GET") is None


@pytest.mark.parametrize(
    ("name", "value", "method", "expected"),
    [
        ("If-None-Match", "*", "GET", 304),
        ("If-None-Match", "*", "HEAD", 304),
        ("If-None-Match", f"W/{ETAG}", "GET", 304),  # weak comparison
        ("If-None-Match", f'"other", {ETAG}', "GET", 304),
        ("If-None-Match", '"other"', "GET", None),
        ("If-None-Match", "", "GET", None),
        ("If-None-Match", ",,,", "GET", None),
        ("If-Match", f"W/{ETAG}", "GET", 412),  # strong comparison
        ("If-Match", "*", "GET", None),
        ("If-Match", '"other"', "GET", 412),
        ("If-Modified-Since", "Sun Nov  6 08:49:37 1994", "GET", 304),
        ("If-Modified-Since", "Sun Nov  6 08:49:36 1994", "GET", None),
        ("If-Unmodified-Since", "Sun Nov  6 08:49:36 1994", "GET", 412),
    ],
)
def test_conditional_corner_cases(name, value, method, expected):
    assert evaluate(Headers(((name, value),)), ETAG, MTIME, method) == expected


def test_if_none_match_overrides_if_modified_since():
    headers = Headers(
        (("If-None-Match", '"other"'), ("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"))
    )
    assert evaluate(headers, ETAG, MTIME, "GET") is None


@pytest.mark.parametrize(
    ("value", "allowed"),
    [(ETAG, True), (f"W/{ETAG}", False), ("*", False), ('"x"', False),
     ("Sun, 06 Nov 1994 08:49:37 GMT", True), ("garbage", False)],
)  # fmt: skip
def test_if_range_needs_a_strong_match_or_the_exact_date(value, allowed):
    headers = Headers((("If-Range", value),))
    assert range_allowed(headers, ETAG, "Sun, 06 Nov 1994 08:49:37 GMT") is allowed


# -- autoindex ----------------------------------------------------------------------------------

T = 1700000000.0


@pytest.mark.parametrize(
    ("name", "href"),
    [
        ("javascript:alert(1)", "javascript%3Aalert%281%29"),
        ("a'b", "a%27b"),
        ('a"b', "a%22b"),
        ("a b", "a%20b"),
        ("100%", "100%25"),
        ("q?x#y", "q%3Fx%23y"),
        ("new\nline", "new%0Aline"),
        ("-._~", "-._~"),
    ],
)
def test_hrefs_escape_like_nginx_so_no_name_becomes_a_script_url(name, href):
    page = render_html("/", [Entry(name, False, T, 1)]).decode()
    assert f'<a href="{href}">' in page


def test_names_with_markup_cannot_inject_tags_even_when_cut():
    for name in ("<script>alert(1)</script>", "<" * 60, '"' * 60 + "<b>"):
        page = render_html("/", [Entry(name, False, T, 1)]).decode()
        assert "<script" not in page and "<b>" not in page and "<<" not in page


def test_json_listing_of_hostile_names_is_valid_json_with_every_name():
    names = [
        'a"b',
        "new\nline",
        "</script><script>x",
        "\\",
        b"\xff.txt".decode("utf-8", "surrogateescape"),
    ]
    body = render_json([Entry(name, False, T, 1) for name in names])
    items = json.loads(body)
    assert [item["name"] for item in items] == names[:4] + ["\ufffd.txt"]
    body.decode("utf-8")  # strict UTF-8


def test_symlinks_leaving_the_root_are_not_listed(tmp_path: Path):
    www = tmp_path / "www"
    www.mkdir()
    (tmp_path / "secret").write_text("secret")
    (www / "real.txt").write_text("r")
    os.symlink("../secret", www / "out")
    os.symlink("real.txt", www / "in")
    location = LocationConfig(pattern="/", root=www)
    stat_link = lambda name: resolve_stat(location, "/" + name)[1]  # noqa: E731
    names = [e.name for e in read_entries(str(www), stat_link)]
    assert names == ["in", "real.txt"]


# -- redirect Location --------------------------------------------------------------------------


def _redirect(url: str, path: str = "/old", query: str = "") -> Response:
    target = path + ("?" + query if query else "")
    request = Request("GET", target, path, query, Headers())
    request.server = ("127.0.0.1", 8080)
    request.host = "example.test"

    async def passed_on(request: Request) -> Response:
        return Response(599)

    handler = RedirectHandler.from_location(
        LocationConfig(pattern="/old", return_=Return(status=302, url=url))
    )
    assert handler is not None
    return asyncio.run(handler.handle(request, passed_on))


@pytest.mark.parametrize(
    ("url", "path", "location"),
    [
        ("//evil.example/", "/old", "http://example.test:8080/evil.example/"),
        ("/\\evil.example/", "/old", "http://example.test:8080/evil.example/"),
        ("\\\\evil.example/", "/old", "http://example.test:8080/evil.example/"),
        ("$uri", "//evil.example", "http://example.test:8080/evil.example"),
        ("/\u20ac/$uri", "/old", "http://example.test:8080/%E2%82%AC//old"),
        ("/a b\r\nX: y", "/old", "http://example.test:8080/a%20b%0D%0AX:%20y"),
    ],
)
def test_redirect_locations_are_never_protocol_relative_nor_raw(url, path, location):
    response = _redirect(url, path)
    assert response.headers["Location"] == location


def test_request_uri_in_a_redirect_keeps_escapes_encoded():
    request = Request("GET", "/old?%0d%0aSet-Cookie:x", "/old", "%0d%0aSet-Cookie:x", Headers())
    request.server = ("127.0.0.1", 8080)
    request.host = "example.test"
    location = LocationConfig(pattern="/old", return_=Return(status=301, url="$request_uri"))
    handler = RedirectHandler.from_location(location)
    assert handler is not None

    async def passed_on(request: Request) -> Response:
        return Response(599)

    response = asyncio.run(handler.handle(request, passed_on))
    assert response.headers["Location"] == "http://example.test:8080/old?%0d%0aSet-Cookie:x"


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("http://evil.example/x?y", "http://example.test:8080/x?y"),
        ("https://evil.example", "http://example.test:8080/"),
        ("http://evil.example//x", "http://example.test:8080/x"),
    ],
)
def test_request_uri_of_an_absolute_form_target_never_names_a_foreign_host(target, location):
    request = Request("GET", target, "/x", "", Headers())
    request.server = ("127.0.0.1", 8080)
    request.host = "example.test"
    loc = LocationConfig(pattern="/", return_=Return(status=302, url="$request_uri"))
    handler = RedirectHandler.from_location(loc)
    assert handler is not None

    async def passed_on(request: Request) -> Response:
        return Response(599)

    response = asyncio.run(handler.handle(request, passed_on))
    assert response.headers["Location"] == location


# -- index ----------------------------------------------------------------------------------------


def _index_redirect(root: Path, index: list[str], path: str = "/dir/") -> str | None:
    handler = StaticHandler.from_location(LocationConfig(root=root, index=index))
    assert handler is not None
    request = Request("GET", path, path, "", Headers())

    async def passed_on(request: Request) -> Response:
        return Response(599)

    try:
        asyncio.run(handler.handle(request, passed_on))
    except InternalRedirect as redirect:
        return redirect.uri
    except HTTPError as exc:
        return str(exc.status)
    return None


def test_an_absolute_index_is_tried_like_the_others_unless_it_is_last(tmp_path: Path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "index.html").write_text("i")
    (tmp_path / "fallback.html").write_text("f")
    assert _index_redirect(tmp_path, ["/missing.html", "index.html"]) == "/dir/index.html"
    assert _index_redirect(tmp_path, ["/fallback.html", "index.html"]) == "/fallback.html"
    assert _index_redirect(tmp_path, ["nothing.html", "/anything.html"]) == "/anything.html"


def test_index_names_that_climb_or_are_links_out_are_not_used(tmp_path: Path):
    root = tmp_path / "www"
    (root / "dir").mkdir(parents=True)
    (tmp_path / "secret.html").write_text("s")
    os.symlink("../../secret.html", root / "dir" / "link.html")
    assert _index_redirect(root, ["../../secret.html", "link.html"]) == "403"
    assert _index_redirect(root, ["/../secret.html", "link.html"]) == "403"


def test_a_server_level_return_wins_over_a_location_return_like_nginx():
    server = ServerConfig(context=LocationConfig(return_=Return(status=200, text="srv")))
    location = LocationConfig(pattern="/a/", return_=Return(status=200, text="a"))
    handler = RedirectHandler.from_location(location)
    assert handler is not None
    request = Request("GET", "/a/", "/a/", "", Headers())
    request.server_config = server

    async def passed_on(request: Request) -> Response:
        return Response(599)

    assert asyncio.run(handler.handle(request, passed_on)).body == b"srv"
