"""``expires $variable`` computes each response's own duration: the per-second cache of
the ``Expires``/``Cache-Control`` pair is for a fixed configured value only (h5bp's
``map $sent_http_content_type $expires`` gives every type its own duration, several of
them within one second)."""

from __future__ import annotations

import asyncio

import pytest

import handlers.headers
from framework.config.directives_headers import Expires
from framework.config.models import LocationConfig
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from handlers.headers import HeadersHandler

NOW = 1_800_000_000


def test_a_variable_expires_is_not_reused_within_one_second(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(handlers.headers.time, "time", lambda: float(NOW))
    handler = HeadersHandler.from_location(LocationConfig(expires=Expires(template="$arg_e")))
    assert handler is not None
    seen = []
    for arg in ("1h", "30d", "1h", "epoch", "max", "30d"):
        request = Request("GET", f"/x?e={arg}", "/x", f"e={arg}", Headers())
        request.server = ("127.0.0.1", 8080)
        request.host = "example.test"
        response = Response(200)
        asyncio.run(handler.on_response(request, response))
        seen.append(response.headers["Cache-Control"])
    assert seen == [
        "max-age=3600",
        "max-age=2592000",
        "max-age=3600",
        "no-cache",
        "max-age=315360000",
        "max-age=2592000",
    ]


def test_a_fixed_expires_still_answers(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(handlers.headers.time, "time", lambda: float(NOW))
    handler = HeadersHandler.from_location(LocationConfig(expires=Expires(seconds=60)))
    assert handler is not None
    for _ in range(2):
        request = Request("GET", "/x", "/x", "", Headers())
        request.server = ("127.0.0.1", 8080)
        request.host = "example.test"
        response = Response(200)
        asyncio.run(handler.on_response(request, response))
        assert response.headers["Cache-Control"] == "max-age=60"
