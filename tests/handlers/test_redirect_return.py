"""The redirect handler (``return``): Location building, variables, text answers."""

import asyncio

import pytest

from framework.config.models import LocationConfig, Return
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from handlers.redirect import RedirectHandler


def answer(ret: Return, target: str = "/old/x?a=1", host: str = "example.test") -> Response:
    path, _, query = target.partition("?")
    request = Request("GET", target, path, query, Headers())
    request.server = ("127.0.0.1", 8080)
    request.host = host

    async def passed_on(request: Request) -> Response:
        return Response(599)

    handler = RedirectHandler.from_location(LocationConfig(pattern="/old", return_=ret))
    return asyncio.run(handler.handle(request, passed_on))


def test_only_enabled_where_return_is_set():
    assert RedirectHandler.from_location(LocationConfig()) is None


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_codes_send_location(status):
    response = answer(Return(status=status, url="https://example.org/new"))
    assert response.status == status
    assert response.headers["Location"] == "https://example.org/new"


def test_relative_url_is_made_absolute_with_scheme_and_host():
    response = answer(Return(status=301, url="/new/"))
    assert response.headers["Location"] == "http://example.test:8080/new/"


@pytest.mark.parametrize("url", ["//evil.com/x", "/\\evil.com", "///evil.com"])
def test_location_never_becomes_protocol_relative(url):
    location = answer(Return(status=302, url=url)).headers["Location"]
    assert location == "http://example.test:8080/evil.com" + ("/x" if "/x" in url else "")


def test_request_uri_variable_cannot_create_an_open_redirect():
    response = answer(Return(status=301, url="$request_uri"), target="//evil.com/")
    assert response.headers["Location"] == "http://example.test:8080/evil.com/"


def test_variables_are_expanded():
    response = answer(Return(status=301, url="https://$host$request_uri"))
    assert response.headers["Location"] == "https://example.test/old/x?a=1"
    response = answer(Return(status=302, url="${scheme}://$host/n$uri$is_args$args"))
    assert response.headers["Location"] == "http://example.test/n/old/x?a=1"


def test_unknown_variables_are_left_alone():
    assert answer(Return(status=302, url="/a/$nope")).headers["Location"].endswith("/a/$nope")


def test_invalid_host_is_not_reflected():
    response = answer(Return(status=301, url="http://$host/"), host="evil\r\nX-Injected: 1")
    assert "\r" not in response.headers["Location"]
    assert response.headers["Location"] == "http://127.0.0.1/"


def test_other_codes_answer_with_the_text():
    response = answer(Return(status=403, text="go away"))
    assert response.status == 403
    assert response.body == b"go away"
    assert "Location" not in response.headers


def test_text_may_use_variables():
    assert answer(Return(status=200, text="uri=$uri")).body == b"uri=/old/x"
