"""Application: chain order, allow_methods, error pages, internal redirects, 500s."""

from __future__ import annotations

import asyncio
import errno
import os

import pytest

from framework import Handler, HTTPError, InternalRedirect, Request, Response
from framework.config.models import (
    AccessLog,
    CgiRule,
    Config,
    ErrorPage,
    HandlerSpec,
    LocationConfig,
    Return,
    ServerConfig,
)
from framework.pipeline import Application
from framework.registry import registry
from framework.routing import paths


class _Marker(Handler):
    """Answers GET with its settings-free name; wraps everything else."""

    name = "pipeline_test_marker"
    calls: list[str] = []

    async def handle(self, request, call_next):
        _Marker.calls.append(request.path)
        if request.path.startswith("/fail"):
            raise RuntimeError("handler bug")
        if request.path.startswith("/teapot"):
            raise HTTPError(418, close=True)
        if request.path.startswith("/loop"):
            raise InternalRedirect("/loop-again")
        if request.path == "/to-page":
            raise InternalRedirect("/page?x=1")
        if request.path == "/page":
            return Response(200, f"page {request.method} {request.query}")
        if request.path == "/errors/404.html":
            return Response(200, "custom 404 page")
        return await call_next(request)


registry.register(_Marker)


def _app(tmp_path) -> Application:
    spec = HandlerSpec(name="pipeline_test_marker", settings=_Marker.Settings())
    off = AccessLog(target="off")
    root = LocationConfig(
        pattern="/",
        root=tmp_path,
        handlers=[spec],
        access_log=off,
        error_pages={404: ErrorPage(uri="/errors/404.html")},
    )
    only_get = LocationConfig(
        pattern="/get-only/", root=tmp_path, allow_methods=frozenset({"GET"}), access_log=off
    )
    override = LocationConfig(
        pattern="/override/",
        root=tmp_path,
        access_log=off,
        error_pages={404: ErrorPage(uri="/page", status_override=200)},
        handlers=[spec],
    )
    server = ServerConfig(
        context=LocationConfig(root=tmp_path, access_log=off),
        locations=[root, only_get, override],
    )
    return Application(Config(servers=[server]))


def _respond(app: Application, method: str, path: str) -> Response:
    target_path, _, query = path.partition("?")
    request = Request(method, path, target_path, query, server=("0.0.0.0", 8080))
    return asyncio.run(app.respond(request))


def test_method_outside_allow_methods_gets_405_with_exactly_the_listed_methods(tmp_path):
    response = _respond(_app(tmp_path), "HEAD", "/get-only/x")
    assert response.status == 405
    assert response.headers["Allow"] == "GET"


def test_unhandled_request_is_404_through_the_error_page(tmp_path):
    response = _respond(_app(tmp_path), "GET", "/nothing")
    assert response.status == 404
    assert response.body == b"custom 404 page"


def test_error_page_with_override_status(tmp_path):
    response = _respond(_app(tmp_path), "GET", "/override/missing")
    assert response.status == 200
    assert response.body == b"page GET "


def test_post_that_nothing_handles_gets_405_listing_what_would_be_served(tmp_path):
    response = _respond(_app(tmp_path), "POST", "/dir/file.txt")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"


def test_handler_exception_becomes_a_500_page(tmp_path):
    response = _respond(_app(tmp_path), "GET", "/fail")
    assert response.status == 500
    assert b"500 Internal Server Error" in response.body
    assert response.headers["Content-Type"] == "text/html"


def test_http_error_becomes_the_builtin_page_with_close(tmp_path):
    response = _respond(_app(tmp_path), "GET", "/teapot")
    assert response.status == 418
    assert response.headers["Connection"] == "close"


def test_internal_redirect_reroutes_with_its_query(tmp_path):
    response = _respond(_app(tmp_path), "GET", "/to-page")
    assert (response.status, response.body) == (200, b"page GET x=1")


def test_internal_redirect_cycle_is_capped_with_a_500(tmp_path):
    _Marker.calls.clear()
    response = _respond(_app(tmp_path), "GET", "/loop")
    assert response.status == 500
    assert len(_Marker.calls) == 11


def test_chain_is_compiled_once_per_location(tmp_path):
    app = _app(tmp_path)
    chains = dict(app._chains)
    _respond(app, "GET", "/page")
    assert app._chains == chains


@pytest.mark.parametrize("status", [400, 408, 413, 414, 431, 501, 505])
def test_engine_error_response_has_the_builtin_page_and_closes(tmp_path, status):
    response = _app(tmp_path).error_response(None, status)
    assert response.status == status
    assert f"<h1>{status} ".encode() in response.body
    assert response.headers["Connection"] == "close"


def _static_app(tmp_path) -> Application:
    (tmp_path / "file.txt").write_text("content")
    location = LocationConfig(pattern="/", root=tmp_path, access_log=AccessLog(target="off"))
    server = ServerConfig(context=LocationConfig(root=tmp_path), locations=[location])
    return Application(Config(servers=[server]))


@pytest.mark.parametrize("code", [errno.EMFILE, errno.ENFILE])
def test_running_out_of_fds_is_a_503_not_a_404(tmp_path, monkeypatch, code):
    app = _static_app(tmp_path)
    assert _respond(app, "GET", "/file.txt").status == 200

    def no_fds(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    app = _static_app(tmp_path)  # a fresh static cache
    monkeypatch.setattr(paths.os, "open", no_fds)
    response = _respond(app, "GET", "/file.txt")
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"


def test_other_os_errors_from_a_handler_stay_500(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "I/O error")

    app = _static_app(tmp_path)
    monkeypatch.setattr(paths.os, "open", broken)
    assert _respond(app, "GET", "/file.txt").status == 404  # a file we cannot open: 404
    monkeypatch.setattr(_Marker, "handle", lambda self, request, call_next: broken())
    assert _respond(_app(tmp_path), "GET", "/x").status == 500


class _PutOnly(Handler):
    """Answers PUT on /put-here and says so through the public ``methods`` attribute."""

    name = "pipeline_test_put_only"
    methods = frozenset({"PUT"})

    async def handle(self, request, call_next):
        if request.method == "PUT" and request.path == "/put-here":
            return Response(201, "stored")
        return await call_next(request)


class _Wrapper(Handler):
    """A wrapping handler that answers nothing itself."""

    name = "pipeline_test_wrapper"
    methods = frozenset()


registry.register(_PutOnly)
registry.register(_Wrapper)


def _plugin_app(tmp_path, name: str) -> Application:
    spec = HandlerSpec(name=name, settings=Handler.Settings())
    location = LocationConfig(
        pattern="/",
        root=tmp_path,
        handlers=[spec],
        allow_methods=frozenset({"GET", "HEAD", "POST", "PUT"}),
        access_log=AccessLog(target="off"),
    )
    server = ServerConfig(context=LocationConfig(root=tmp_path), locations=[location])
    return Application(Config(servers=[server]))


def test_methods_a_plugin_declares_are_listed_in_allow_when_nothing_answers(tmp_path):
    app = _plugin_app(tmp_path, "pipeline_test_put_only")
    assert _respond(app, "PUT", "/put-here").status == 201
    assert _respond(app, "PUT", "/elsewhere").status == 404  # a served method: not 405
    response = _respond(app, "POST", "/elsewhere")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD, PUT"


def test_a_wrapping_plugin_that_answers_no_method_adds_none_to_allow(tmp_path):
    response = _respond(_plugin_app(tmp_path, "pipeline_test_wrapper"), "PUT", "/x")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"


def test_built_in_handlers_are_registered_handlers_declaring_their_methods(tmp_path):
    allowed = frozenset({"GET", "POST", "PATCH"})
    location = LocationConfig(
        pattern="/",
        root=tmp_path,
        allow_methods=allowed,
        autoindex=True,
        upload_store=tmp_path,
        cgi=[CgiRule(extension=".sh")],
        return_=Return(status=204),
    )
    expected = {
        "redirect": allowed,
        "cgi": allowed,
        "upload": {"POST", "PUT", "DELETE"},
        "autoindex": {"GET", "HEAD"},
    }
    for name, methods in expected.items():
        cls = registry.get(name)
        assert cls is not None and issubclass(cls, Handler)
        handler = cls.from_location(location)
        assert handler.methods == methods, name
    static = registry.get("static")
    assert static is not None and issubclass(static, Handler)
    assert {"GET", "HEAD"} <= static.from_location(location).methods


def test_405_from_a_static_location_lists_delete_when_the_location_allows_it(tmp_path):
    (tmp_path / "file.txt").write_text("content")
    location = LocationConfig(
        pattern="/",
        root=tmp_path,
        allow_methods=frozenset({"GET", "POST", "DELETE"}),
        access_log=AccessLog(target="off"),
    )
    server = ServerConfig(context=LocationConfig(root=tmp_path), locations=[location])
    app = Application(Config(servers=[server]))
    response = _respond(app, "POST", "/file.txt")
    assert response.status == 405
    assert response.headers["Allow"] == "DELETE, GET"
