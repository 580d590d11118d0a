"""The headers filter (``add_header``, ``expires``, ``charset``) on responses, without a
server: which statuses, which values, which Content-Types."""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate

import pytest

from framework.config.directives_headers import AddHeader, Expires
from framework.config.models import ErrorPage, LocationConfig
from framework.http.errorpage import ErrorResponse, builtin_error_response, error_page_bytes
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from handlers.headers import EPOCH, MAX, HeadersHandler, expires_fields, next_time_of_day

NOW = 1_800_000_000


def filtered(location: LocationConfig, response: Response, target: str = "/x") -> Response:
    request = Request("GET", target, target, "", Headers())
    request.server = ("127.0.0.1", 8080)
    request.host = "example.test"
    handler = HeadersHandler.from_location(location)
    assert handler is not None
    asyncio.run(handler.on_response(request, response))
    return response


def test_enabled_only_where_a_directive_is_set():
    assert HeadersHandler.from_location(LocationConfig()) is None
    assert HeadersHandler.from_location(LocationConfig(charset="utf-8")) is not None
    assert HeadersHandler.from_location(LocationConfig(server_tokens=False)) is not None
    assert HeadersHandler.methods == frozenset()


@pytest.mark.parametrize("status", [200, 201, 204, 206, 301, 302, 303, 304, 307, 308])
def test_add_header_and_expires_on_safe_statuses(status):
    loc = LocationConfig(
        add_headers=[AddHeader(name="X-A", value="a")], expires=Expires(seconds=60)
    )
    headers = filtered(loc, Response(status)).headers
    assert headers.get_all("X-A") == ["a"]
    assert headers["Cache-Control"] == "max-age=60"


@pytest.mark.parametrize("status", [400, 403, 404, 500, 503])
def test_only_always_headers_on_errors_and_no_expires(status):
    loc = LocationConfig(
        add_headers=[
            AddHeader(name="X-A", value="a"),
            AddHeader(name="X-Always", value="b", always=True),
        ],
        expires=Expires(mode="max"),
    )
    headers = filtered(loc, builtin_error_response(status)).headers
    assert "X-A" not in headers and "Expires" not in headers
    assert headers["X-Always"] == "b"


def test_values_expand_variables_and_an_empty_value_adds_nothing():
    loc = LocationConfig(
        add_headers=[
            AddHeader(name="X-Uri", value="$uri on $host"),
            AddHeader(name="X-Type", value="[$sent_http_content_type]"),
            AddHeader(name="X-Empty", value="$arg_missing"),
            AddHeader(name="X-Two", value="1"),
            AddHeader(name="X-Two", value="2"),
        ]
    )
    response = Response(200, b"", {"Content-Type": "text/plain"})
    headers = filtered(loc, response, "/p").headers
    assert headers["X-Uri"] == "/p on example.test"
    assert headers["X-Type"] == "[text/plain]"
    assert "X-Empty" not in headers
    assert headers.get_all("X-Two") == ["1", "2"]


def test_etag_and_last_modified_are_replaced_or_removed():
    loc = LocationConfig(
        add_headers=[
            AddHeader(name="ETag", value='"mine"'),
            AddHeader(name="Last-Modified", value=""),
        ]
    )
    response = Response(200, b"", {"ETag": '"x"', "Last-Modified": "Thu, 01 Jan 2026 00:00:00 GMT"})
    headers = filtered(loc, response).headers
    assert headers.get_all("ETag") == ['"mine"']
    assert "Last-Modified" not in headers


def test_expires_replaces_cache_control_and_add_header_appends_after_it():
    loc = LocationConfig(
        expires=Expires(mode="epoch"), add_headers=[AddHeader(name="Cache-Control", value="public")]
    )
    response = Response(200, b"", {"Cache-Control": "private", "Expires": "0"})
    headers = filtered(loc, response).headers
    assert headers.get_all("Cache-Control") == ["no-cache", "public"]
    assert headers.get_all("Expires") == [EPOCH[0]]


def test_expires_fields_as_nginx():
    assert expires_fields(Expires(mode="epoch"), None, NOW) == (
        "Thu, 01 Jan 1970 00:00:01 GMT",
        "no-cache",
    )
    assert expires_fields(Expires(mode="max"), None, NOW) == MAX
    date = formatdate(NOW, usegmt=True)
    assert expires_fields(Expires(seconds=0), None, NOW) == (date, "max-age=0")
    assert expires_fields(Expires(seconds=3600), None, NOW) == (
        formatdate(NOW + 3600, usegmt=True),
        "max-age=3600",
    )
    assert expires_fields(Expires(seconds=-1), None, NOW) == (
        formatdate(NOW - 1, usegmt=True),
        "no-cache",
    )
    modified = formatdate(NOW - 600, usegmt=True)
    assert expires_fields(Expires(mode="modified", seconds=3600), modified, NOW) == (
        formatdate(NOW + 3000, usegmt=True),
        "max-age=3000",
    )
    # expired already: the date is in the past, and no-cache
    assert expires_fields(Expires(mode="modified", seconds=60), modified, NOW)[1] == "no-cache"
    # "modified" without a Last-Modified counts from the request
    assert expires_fields(Expires(mode="modified", seconds=60), None, NOW)[1] == "max-age=60"


def test_daily_expires_is_the_next_such_time_of_day():
    at = next_time_of_day(15 * 3600, NOW)
    assert NOW < at <= NOW + 86400
    local = time.localtime(at)
    assert (local.tm_hour, local.tm_min, local.tm_sec) == (15, 0, 0)
    assert expires_fields(Expires(mode="daily", seconds=15 * 3600), None, NOW) == (
        formatdate(at, usegmt=True),
        f"max-age={at - NOW}",
    )


@pytest.mark.parametrize(
    ("ctype", "types", "status", "expected"),
    [
        ("text/html", None, 200, "text/html; charset=utf-8"),
        ("text/plain", None, 404, "text/plain; charset=utf-8"),
        ("TEXT/PLAIN", None, 200, "TEXT/PLAIN; charset=utf-8"),
        ("text/css", None, 200, "text/css"),
        ("text/css", ["text/css"], 200, "text/css; charset=utf-8"),
        ("text/plain", ["text/css"], 200, "text/plain"),  # the list replaced the default
        ("text/html", ["text/css"], 200, "text/html; charset=utf-8"),  # text/html always
        ("image/png", ["*"], 200, "image/png; charset=utf-8"),
        ("text/plain; charset=koi8-r", None, 200, "text/plain; charset=koi8-r"),
        ("text/html", None, 301, "text/html"),  # nginx: never on 301/302
        ("text/html", None, 302, "text/html"),
        ("text/html", None, 307, "text/html; charset=utf-8"),
    ],
)
def test_charset(ctype, types, status, expected):
    loc = LocationConfig(charset="utf-8")
    if types is not None:
        loc = LocationConfig(charset="utf-8", charset_types=types)
    response = filtered(loc, Response(status, b"", {"Content-Type": ctype}))
    assert response.headers["Content-Type"] == expected


def test_an_error_that_error_page_answers_is_left_to_the_pages_location():
    loc = LocationConfig(
        add_headers=[AddHeader(name="X-Always", value="a", always=True)],
        error_pages={404: ErrorPage(uri="/404.html", status_override=200)},
    )
    request = Request("GET", "/x", "/x", "", Headers())
    handler = HeadersHandler.from_location(loc)
    assert handler is not None
    failed = builtin_error_response(404)
    asyncio.run(handler.on_response(request, failed))
    assert "X-Always" not in failed.headers
    assert request.state["error_page_status"] == 200


def test_the_pages_location_applies_with_the_status_the_client_gets():
    loc = LocationConfig(
        add_headers=[AddHeader(name="X-P", value="p")], expires=Expires(mode="max")
    )
    request = Request("GET", "/404.html", "/404.html", "", Headers())
    request.state["error_status"] = 404
    handler = HeadersHandler.from_location(loc)
    assert handler is not None
    page = Response(200, b"page", {"Content-Type": "text/html"})
    asyncio.run(handler.on_response(request, page))
    assert "X-P" not in page.headers and "Expires" not in page.headers


def test_server_tokens_off_swaps_the_builtin_page_before_later_filters():
    handler = HeadersHandler.from_location(LocationConfig(server_tokens=False))
    assert handler is not None
    request = Request("GET", "/x", "/x", "", Headers())
    response: Response = builtin_error_response(404)
    assert isinstance(response, ErrorResponse) and b"webserv/" in error_page_bytes(404)
    asyncio.run(handler.on_response(request, response))
    assert isinstance(response.body, bytes)
    assert b"<hr><center>webserv</center>" in response.body
    own = Response(200, b"webserv/1 is mine")
    asyncio.run(handler.on_response(request, own))
    assert own.body == b"webserv/1 is mine"
