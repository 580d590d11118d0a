"""Differential checks against a real nginx (skipped when it is not installed) for the
response rules of the hardening work: ``return`` answers before the method check,
a 304 carries no content headers, and HEAD of an error page has the page's length and no
body."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import HTTPResult, ServerProcess, parse_response, read_until_close

pytestmark = requires_nginx

PAGE = b"<p>custom not found</p>\n"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    base = tmp_path_factory.mktemp("hardening-parity")
    (base / "www" / "errors").mkdir(parents=True)
    (base / "www" / "file.txt").write_text("file body\n")
    (base / "www" / "errors" / "404.html").write_bytes(PAGE)
    ours = ServerProcess(
        "server { listen 127.0.0.1:{port}; root www;\n"
        "    error_page 404 /errors/404.html;\n"
        "    location /old { return 301 /new/; }\n"
        "    location /args/ { error_page 404 /show-args; }\n"
        "    location = /show-args { return 200 'args=[$args]'; }\n"
        "}\n",
        cwd=base,
    )
    nginx = (
        "server { listen 127.0.0.1:PORT; root " + str(base / "www") + ";\n"
        "    error_page 404 /errors/404.html;\n"
        "    location /old { return 301 /new/; }\n"
        "    location /args/ { error_page 404 /show-args; }\n"
        "    location = /show-args { return 200 'args=[$args]'; }\n"
        "}\n"
    )
    with nginx_reference(base, nginx) as port, ours:
        yield port, ours.port


def _ask(port: int, method: str, target: str, extra: str = "") -> tuple[HTTPResult, bytes]:
    raw = f"{method} {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw.encode("latin-1"))
        data = read_until_close(sock)
    return parse_response(data, head_only=method == "HEAD")[0], data


@pytest.mark.parametrize("method", ["GET", "DELETE", "POST", "PUT"])
def test_return_answers_every_method_like_nginx(pair, method):
    # webserv's default allow_methods (GET HEAD POST) must not turn DELETE into a 405:
    # nginx runs `return` in its rewrite phase, before anything looks at the method
    ngx, ours = pair
    want, _ = _ask(ngx, method, "/old")
    got, _ = _ask(ours, method, "/old")
    assert got.status == want.status == 301
    assert got.header("Location").endswith("/new/")
    assert want.header("Location").endswith("/new/")


def test_304_has_the_same_content_headers_as_nginx(pair):
    for port in pair:
        first, _ = _ask(port, "GET", "/file.txt")
        result, _ = _ask(port, "GET", "/file.txt", f"If-None-Match: {first.header('ETag')}\r\n")
        assert result.status == 304
        assert result.header("Content-Type") is None
        assert result.header("Content-Length") is None


def test_head_of_an_error_page_matches_nginx(pair):
    ngx, ours = pair
    (want, want_raw), (got, got_raw) = (_ask(p, "HEAD", "/missing") for p in (ngx, ours))
    assert got.status == want.status == 404
    assert got.header("Content-Length") == want.header("Content-Length") == str(len(PAGE))
    assert want_raw.endswith(b"\r\n\r\n") and got_raw.endswith(b"\r\n\r\n")


def test_error_page_headers_match_nginx(pair):
    ngx, ours = pair
    (want, _), (got, _) = (_ask(p, "GET", "/missing") for p in (ngx, ours))
    assert got.status == want.status == 404
    assert got.body == want.body == PAGE
    ignored = {"date", "server", "etag"}  # values differ; ETag is there on both or neither
    names = [{n.lower() for n, _ in r.headers} - ignored for r in (want, got)]
    assert names[1] == names[0]
    assert (got.header("ETag") is None) == (want.header("ETag") is None)


def test_an_error_page_uri_without_a_query_drops_the_requests_like_nginx(pair):
    ngx, ours = pair
    (want, _), (got, _) = (_ask(p, "GET", "/args/missing?secret=1") for p in (ngx, ours))
    assert got.status == want.status == 404
    assert got.body == want.body == b"args=[]"
