"""Raw ASGI apps through the ``asgi`` handler, for the edges of the protocol: the scope
(root_path, raw_path, a non-UTF-8 path, many headers, client/server), ASGI 2 apps, the
factory form, failures before and after the response starts, an app that never answers,
``http.response.pathsend``, HEAD, and a lifespan-less app under ``asgi_lifespan auto``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framework.testing import ServerProcess, read_until_close, wait_until

APPS = Path(__file__).resolve().parent.parent / "apps"
BIG = bytes(range(256)) * 4096  # 1 MiB

CONFIG = f"""
server {{
    listen 127.0.0.1:{{port}};
    asgi_app_dir {APPS};
    location / {{ asgi asgi_raw_apps:hello; }}
    location /scope/ {{ asgi asgi_raw_apps:scope_echo; asgi_root_path /scope; }}
    location /mounted/ {{ asgi asgi_raw_apps:scope_echo; }}
    location /v2/ {{ asgi asgi_raw_apps:legacy; }}
    location /factory {{ asgi asgi_raw_apps:make_app(); }}
    location /before {{ asgi asgi_raw_apps:fail_before_start; }}
    location /after {{ asgi asgi_raw_apps:fail_after_start; }}
    location /nothing {{ asgi asgi_raw_apps:no_response; }}
    location /file {{ asgi asgi_raw_apps:pathsend; }}
    location /length {{ asgi asgi_raw_apps:head_length; }}
    location /headers {{ asgi asgi_raw_apps:many_headers_count; }}
    location /context {{ asgi asgi_raw_apps:context_var; }}
    location /exact {{ asgi asgi_raw_apps:length_then_record; }}
}}
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("asgi-raw")
    (base / "big.bin").write_bytes(BIG)
    with ServerProcess(CONFIG, cwd=base) as server:
        yield server


def scope_of(srv: ServerProcess, target: str, headers: dict[str, str] | None = None) -> Any:
    result = srv.get(target, headers=headers)
    assert result.status == 200, result.text
    return json.loads(result.body)


def test_hello(srv: ServerProcess) -> None:
    with srv.client() as client:
        for _ in range(3):
            result = client.get("/")
            assert (result.status, result.body) == (200, b"hello")
            assert result.header("content-type") == "text/plain"
        assert client.connections == 1


def test_http_scope(srv: ServerProcess) -> None:
    scope = scope_of(srv, "/scope/users/a%20b?x=1&y=%41", {"X-Custom": "Value"})
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert (scope["http_version"], scope["method"], scope["scheme"]) == ("1.1", "GET", "http")
    assert scope["root_path"] == "/scope"
    assert scope["path"] == "/scope/users/a b"  # the full path (spec 2.4), decoded
    assert scope["raw_path"] == "/scope/users/a%20b"
    assert scope["query_string"] == "x=1&y=%41"
    assert ["x-custom", "Value"] in scope["headers"]
    assert all(name == name.lower() for name, _ in scope["headers"])
    assert scope["client"][0] == "127.0.0.1" and scope["server"] == ["127.0.0.1", srv.port]
    assert scope["extensions"] == {"http.response.pathsend": {}}
    assert scope["first_message"] == {"type": "http.request", "body": "", "more_body": False}


def test_root_path_defaults_to_empty(srv: ServerProcess) -> None:
    scope = scope_of(srv, "/mounted/x")
    assert (scope["root_path"], scope["path"]) == ("", "/mounted/x")


def test_non_utf8_path_is_replaced_in_path_and_kept_in_raw_path(srv: ServerProcess) -> None:
    scope = scope_of(srv, "/scope/caf%E9")
    assert scope["path"] == "/scope/caf\ufffd"
    assert scope["raw_path"] == "/scope/caf%E9"
    assert scope_of(srv, "/scope/caf%C3%A9")["path"] == "/scope/café"


def test_encoded_slash_is_refused_by_the_engine(srv: ServerProcess) -> None:
    # webserv (like its static handler) refuses %2F in paths before any handler runs
    assert srv.get("/scope/a%2Fb").status == 400


def test_many_request_headers_arrive_in_order(srv: ServerProcess) -> None:
    headers = {f"X-H{i}": str(i) for i in range(150)}
    with srv.client() as client:  # http.client refuses more than 100 response headers
        result = client.get("/headers", headers=headers)
    assert result.status == 200 and result.text == "150"
    assert [v for name, v in result.headers if name.lower() == "x-n"] == [
        str(i) for i in range(200)
    ]


def test_asgi2_app_is_wrapped(srv: ServerProcess) -> None:
    assert srv.get("/v2/p").text == "asgi2 /v2/p"


def test_factory_form(srv: ServerProcess) -> None:
    assert srv.get("/factory").text == "made by a factory"


def test_exception_before_start_is_a_logged_500(srv: ServerProcess) -> None:
    assert srv.get("/before").status == 500
    assert srv.wait_for_log("boom before start")


def test_exception_after_start_truncates_the_response(srv: ServerProcess) -> None:
    data = srv.raw(b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"chunked" in head.lower()
    assert b"partial" in body and not body.endswith(b"0\r\n\r\n")  # no last chunk
    assert srv.wait_for_log("boom after start")


def test_app_returning_without_a_response_is_a_500(srv: ServerProcess) -> None:
    assert srv.get("/nothing").status == 500
    assert srv.wait_for_log("returned without sending a response")


def test_pathsend_sends_the_file(srv: ServerProcess) -> None:
    result = srv.get("/file")
    assert result.status == 200
    assert result.header("content-length") == str(len(BIG))
    assert result.body == BIG


def test_head_keeps_the_apps_content_length(srv: ServerProcess) -> None:
    with srv.client() as client:
        result = client.request("HEAD", "/length")
        assert result.status == 200 and result.body == b""
        assert result.header("content-length") == "10"
        assert client.get("/length").body == b"0123456789"


def test_http_10_request(srv: ServerProcess) -> None:
    data = srv.raw(b"GET /length HTTP/1.0\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\n0123456789")


def test_lifespan_auto_serves_an_app_without_lifespan(srv: ServerProcess) -> None:
    # hello returns at once on a lifespan scope: auto mode runs without lifespan
    assert not srv.wait_for_log("lifespan startup", timeout=0.1)
    with srv.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert read_until_close(sock).endswith(b"hello")


def test_context_variables_stay_with_their_request(srv: ServerProcess) -> None:
    with srv.client() as client:  # one connection: each request's app has its own context
        assert client.get("/context?first").text == "unset"
        assert client.get("/context?second").text == "unset"
        assert client.connections == 1


def test_last_send_of_a_body_that_completes_its_length_returns(srv: ServerProcess) -> None:
    log = Path(str(srv.cwd)) / "raw-events.log"
    with srv.client() as client:
        for _ in range(2):
            assert client.get("/exact").body == b"abcd"
        assert client.connections == 1
    assert wait_until(lambda: log.exists() and log.read_text().count("\n") >= 2)
    assert log.read_text().splitlines() == ["completed", "completed"]
