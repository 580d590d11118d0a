"""``call_next`` returns a ``Response`` for every outcome of the rest of the chain, the
location's ``on_response`` hooks see every final response (also those decided before the
chain: 405, 413, ``return``), and ``error_page`` keeps the error's headers (SPEC 7)."""

from __future__ import annotations

import pytest

PLUGINS = '''
from framework import Handler, HTTPError, Response


class Stamp(Handler):
    """SPEC 7's wrapping handler."""
    name = "stamp"

    class Settings(Handler.Settings):
        value: str = "1"

    async def handle(self, request, call_next):
        response = await call_next(request)
        response.headers["X-Stamp"] = self.settings.value
        response.headers["X-Seen-Status"] = str(response.status)
        return response


class Hooked(Handler):
    """An add-a-header handler that uses only the on_response hook."""
    name = "hooked"

    async def on_response(self, request, response):
        response.headers["X-Hooked"] = str(response.status)


class Deny(Handler):
    name = "refuse"

    class Settings(Handler.Settings):
        status: int = 401

    async def handle(self, request, call_next):
        if self.settings.status == 401:
            raise HTTPError(401, headers={"WWW-Authenticate": 'Basic realm="x"'})
        if self.settings.status == 503:
            raise HTTPError(503, headers={"Retry-After": "120"})
        raise RuntimeError("a bug in a handler below the wrapper")


class Own404(Handler):
    """A handler that builds its own 404 body: error_page leaves it alone, as in nginx."""
    name = "own404"

    async def handle(self, request, call_next):
        return Response(404, "my own not found", headers={"X-Own": "yes"})
'''

CONFIG = """load_module callnext_plugins;
server {
    listen 127.0.0.1:{port};
    root www;
    error_page 401 403 404 405 413 500 503 /errors/page.html;
    location / { handler stamp { value outer; } }
    location /errors/ { }
    location /getonly/ { handler stamp; handler hooked; allow_methods GET HEAD; }
    location /small/ { handler stamp; handler hooked; allow_methods GET POST;
                       client_max_body_size 10; }
    location /old { handler hooked; return 301 /new/; }
    location /auth/ { handler stamp; handler refuse; }
    location /busy/ { handler stamp; handler refuse { status 503; } }
    location /bug/ { handler stamp; handler refuse { status 500; } }
    location /own/ { handler stamp; handler own404; }
}
"""

FILES = {
    "www/index.html": "home",
    "www/errors/page.html": "<p>the custom error page</p>",
    "www/getonly/file.txt": "file",
}


@pytest.fixture
def srv(webserv, write_module):
    directory = write_module("callnext_plugins", PLUGINS)
    return webserv(CONFIG, files=FILES, pythonpath=[directory])


def test_a_wrapper_sees_a_static_404_as_a_response_and_its_header_survives_error_page(srv):
    result = srv.get("/missing.txt")
    assert result.status == 404
    assert result.body == b"<p>the custom error page</p>"
    assert result.header("X-Stamp") == "outer"
    assert result.header("X-Seen-Status") == "404"


def test_a_wrapper_sees_an_http_error_raised_below_it(srv):
    result = srv.get("/auth/x")
    assert result.status == 401
    assert result.header("X-Seen-Status") == "401"
    assert result.header("WWW-Authenticate") == 'Basic realm="x"'
    assert result.body == b"<p>the custom error page</p>"


def test_retry_after_is_kept_through_error_page(srv):
    result = srv.get("/busy/x")
    assert result.status == 503
    assert result.header("Retry-After") == "120"
    assert result.header("X-Stamp") == "1"


def test_a_failing_handler_reaches_the_wrapper_as_a_500(srv):
    result = srv.get("/bug/x")
    assert result.status == 500
    assert result.header("X-Seen-Status") == "500"
    assert result.body == b"<p>the custom error page</p>"


def test_405_from_allow_methods_reaches_on_response_and_keeps_allow(srv):
    result = srv.request("DELETE", "/getonly/file.txt")
    assert result.status == 405
    assert result.header("Allow") == "GET, HEAD"
    assert result.header("X-Hooked") == "405"
    assert result.body == b"<p>the custom error page</p>"


def test_on_response_sees_a_chain_response_too(srv):
    result = srv.get("/getonly/file.txt")
    assert result.status == 200
    assert result.header("X-Hooked") == "200"
    assert result.header("X-Stamp") == "1"


def test_413_decided_before_the_chain_reaches_on_response(srv):
    result = srv.request("POST", "/small/x", body=b"x" * 100)
    assert result.status == 413
    assert result.header("X-Hooked") == "413"


def test_return_reaches_on_response_and_answers_before_the_method_check(srv):
    result = srv.request("DELETE", "/old")
    assert result.status == 301
    assert result.header("Location").endswith("/new/")
    assert result.header("X-Hooked") == "301"


def test_a_handlers_own_error_body_is_not_replaced_by_error_page(srv):
    result = srv.get("/own/x")
    assert result.status == 404
    assert result.body == b"my own not found"
    assert result.header("X-Own") == "yes"
    assert result.header("X-Stamp") == "1"


def test_content_headers_of_the_error_are_replaced_by_the_pages(srv):
    result = srv.get("/missing.txt")
    assert result.header("Content-Type") == "text/html"
    assert result.header("Content-Length") == str(len(b"<p>the custom error page</p>"))
