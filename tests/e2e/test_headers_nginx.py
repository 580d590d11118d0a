"""Differential checks against a real nginx (skipped when it is not installed): the same
``add_header``/``expires``/``charset``/``server_tokens`` config served by both must give
the same header fields, per status, through ``error_page`` and ``return``."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email.utils import mktime_tz, parsedate_tz

import pytest
from nginx_reference import nginx_reference, requires_nginx

from framework.testing import HTTPResult, ServerProcess, parse_response, read_until_close

pytestmark = requires_nginx

CONFIG = """server { listen 127.0.0.1:PORT; root ROOT; charset utf-8;
    types { text/plain txt; text/html html; text/css css; }
    add_header X-S s;
    add_header X-A a always;
    add_header X-V "$uri|$request_method";
    expires 1h;
    location /ct/ { charset_types text/css; alias ROOT/; }
    location /star/ { charset_types *; alias ROOT/; }
    location /nocs/ { charset off; alias ROOT/; }
    location /dt/ { alias ROOT/; types { } default_type "text/plain; charset=koi8-r"; }
    location /ep/ { error_page 404 /pages/404.html; add_header X-EP ep; }
    location /pages/ { alias ROOT/errors/; add_header X-P p; expires epoch; }
    location /epa/ { error_page 404 /pagesa/404.html; }
    location /pagesa/ { alias ROOT/errors/; add_header X-P p always; }
    location /ep2/ { error_page 404 =200 /pages/404.html; }
    location /mod/ { alias ROOT/; expires modified 1h; }
    location /neg/ { alias ROOT/; expires -1; }
    location /zero/ { alias ROOT/; expires 0; add_header Cache-Control public;
        add_header ETag ""; add_header Last-Modified ""; add_header X-E ""; }
    location /max/ { alias ROOT/; expires max; }
    location /cc/ { alias ROOT/; add_header Cache-Control private; expires 10; }
    location /r301 { return 301 /x; }
    location /r302 { return 302 /x; }
    location /r307 { return 307 /x; }
    location /off/ { server_tokens off; alias ROOT/; }
}
"""

TARGETS = [
    "/a.txt",
    "/a.html",
    "/a.css",
    "/missing",
    "/ct/a.txt",
    "/ct/a.css",
    "/ct/a.html",
    "/star/a.css",
    "/nocs/a.html",
    "/dt/a.txt",
    "/ep/x",
    "/epa/x",
    "/ep2/x",
    "/mod/a.txt",
    "/neg/a.txt",
    "/zero/a.txt",
    "/max/a.txt",
    "/cc/a.txt",
    "/r301",
    "/r302",
    "/r307",
    "/off/missing",
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    base = tmp_path_factory.mktemp("headers-parity")
    www = base / "www"
    (www / "errors").mkdir(parents=True)
    (www / "a.txt").write_text("hi\n")
    (www / "a.html").write_text("<p>x</p>\n")
    (www / "a.css").write_text("body{}\n")
    (www / "errors" / "404.html").write_text("page\n")
    text = CONFIG.replace("ROOT", str(www))
    ours = ServerProcess(text.replace("PORT", "{port}"), cwd=base)
    with nginx_reference(base, text) as port, ours:
        yield port, ours.port


def ask(port: int, method: str, target: str, extra: str = "") -> tuple[HTTPResult, bytes]:
    """The response and its body."""
    raw = f"{method} {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw.encode("latin-1"))
        data = read_until_close(sock)
    result, _ = parse_response(data, head_only=method == "HEAD")
    return result, result.body


def values(result: HTTPResult, name: str) -> list[str]:
    return [v for n, v in result.headers if n.lower() == name.lower()]


def comparable(result: HTTPResult) -> dict[str, object]:
    """What must be equal: status, Content-Type, every X- field, Cache-Control (max-age
    within a second), whether ETag and Last-Modified are there."""
    cache_control = [
        "max-age=~"
        if v.startswith("max-age=") and v not in ("max-age=0", "max-age=315360000")
        else v
        for v in values(result, "Cache-Control")
    ]
    return {
        "status": result.status,
        "content-type": values(result, "Content-Type"),
        "x": sorted((n.lower(), v) for n, v in result.headers if n.lower().startswith("x-")),
        "cache-control": cache_control,
        "etag": bool(values(result, "ETag")),
        "last-modified": bool(values(result, "Last-Modified")),
        "expires": bool(values(result, "Expires")),
    }


def timestamp(value: str) -> int:
    parsed = parsedate_tz(value)
    assert parsed is not None, value
    return mktime_tz(parsed)


@pytest.mark.parametrize("target", TARGETS)
def test_same_header_fields_as_nginx(pair, target):
    ngx, ours = pair
    (want, _), (got, _) = ask(ngx, "GET", target), ask(ours, "GET", target)
    assert comparable(got) == comparable(want)
    if values(want, "Expires"):
        # fixed dates equal; computed ones within the second or two between the requests
        assert (
            abs(timestamp(values(got, "Expires")[0]) - timestamp(values(want, "Expires")[0])) <= 2
        )
    for ages in zip(values(got, "Cache-Control"), values(want, "Cache-Control"), strict=True):
        if ages[0].startswith("max-age="):
            assert abs(int(ages[0][8:]) - int(ages[1][8:])) <= 2


def test_not_modified_and_method_not_allowed_like_nginx(pair):
    ngx, ours = pair
    for port in pair:
        etag = values(ask(port, "GET", "/a.txt")[0], "ETag")[0]
        result, _ = ask(port, "GET", "/a.txt", f"If-None-Match: {etag}\r\n")
        assert result.status == 304
    (want, _), (got, _) = (
        ask(
            p,
            "GET",
            "/a.txt",
            f"If-None-Match: {values(ask(p, 'GET', '/a.txt')[0], 'ETag')[0]}\r\n",
        )
        for p in (ngx, ours)
    )
    assert comparable(got)["x"] == comparable(want)["x"]
    assert comparable(got)["cache-control"] == comparable(want)["cache-control"]
    (want, _), (got, _) = ask(ngx, "DELETE", "/a.txt"), ask(ours, "DELETE", "/a.txt")
    assert got.status == want.status == 405
    assert comparable(got)["x"] == comparable(want)["x"] == [("x-a", "a")]


def test_server_tokens_like_nginx(pair):
    ngx, ours = pair
    for target in ("/missing", "/off/missing"):
        (want, want_body), (got, got_body) = ask(ngx, "GET", target), ask(ours, "GET", target)
        tokens = target == "/missing"
        nginx_server = values(want, "Server")[0]
        assert nginx_server.startswith("nginx/") if tokens else nginx_server == "nginx"
        server = values(got, "Server")[0]
        assert ("/" in server) is tokens and server.startswith("webserv")
        footer = f"<hr><center>{server}</center>".encode()
        assert footer in got_body
        assert f"<hr><center>{nginx_server}</center>".encode() in want_body
