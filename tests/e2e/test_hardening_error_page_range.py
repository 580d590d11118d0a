"""An ``error_page`` target is sent whole with the error's status: ``Range`` and the
conditional headers of the request are not applied to it, so a 404 page is never a 206,
304, 412 or 416 (issue 9, minor). Checked on a small page (served from the small-file cache)
and a large one (sendfile), and against a real nginx when it is installed."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import NGINX, nginx_reference

from framework.testing import HTTPResult, ServerProcess, parse_response, read_until_close

SMALL = b"<p>custom not found</p>\n"
BIG = b"<p>" + b"x" * 100_000 + b"</p>\n"
SERVERS = """
server {{
    listen 127.0.0.1:{port}; root {root};
    error_page 404 /errors/404.html;
    location /big/ {{ error_page 404 /errors/big.html; }}
}}
"""
FAR_FUTURE = "Fri, 01 Jan 2100 00:00:00 GMT"
HEADERS = {
    "range": "Range: bytes=0-3",
    "unsatisfiable range": "Range: bytes=999999-",
    "if-none-match *": "If-None-Match: *",
    "if-modified-since": f"If-Modified-Since: {FAR_FUTURE}",
    "if-match": 'If-Match: "no-such-tag"',
    "if-unmodified-since": "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:01 GMT",
    "range with if-range": f"Range: bytes=0-3\r\nIf-Range: {FAR_FUTURE}",
}


def _site(base: Path) -> Path:
    www = base / "www"
    (www / "errors").mkdir(parents=True)
    (www / "big").mkdir()
    (www / "errors" / "404.html").write_bytes(SMALL)
    (www / "errors" / "big.html").write_bytes(BIG)
    return www


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    base = tmp_path_factory.mktemp("errpage-range")
    _site(base)
    with ServerProcess(SERVERS.format(port="{port}", root="www"), cwd=base) as srv:
        yield srv.port


def _ask(port: int, target: str, extra: str, method: str = "GET") -> HTTPResult:
    raw = f"{method} {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw.encode("latin-1"))
        data = read_until_close(sock)
    return parse_response(data, head_only=method == "HEAD")[0]


def _check_whole_page(result: HTTPResult, page: bytes) -> None:
    assert result.status == 404
    assert result.header("Content-Range") is None
    assert result.header("Content-Length") == str(len(page))
    assert result.body == page


@pytest.mark.parametrize("case", sorted(HEADERS))
@pytest.mark.parametrize(("target", "page"), [("/missing", SMALL), ("/big/missing", BIG)])
def test_an_error_page_ignores_range_and_conditionals(ours, case, target, page):
    for _ in range(2):  # the second time, the small page comes from the cache
        _check_whole_page(_ask(ours, target, HEADERS[case]), page)


def test_the_page_itself_still_honours_range_when_asked_for_directly(ours):
    result = _ask(ours, "/errors/404.html", "Range: bytes=0-3")
    assert result.status == 206 and result.body == SMALL[:4]


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
@pytest.mark.parametrize("case", sorted(HEADERS))
def test_nginx_answers_the_same(tmp_path, ours, case):
    www = _site(tmp_path)
    with nginx_reference(tmp_path, SERVERS.format(port="PORT", root=www)) as port:
        for target in ("/missing", "/big/missing"):
            want = _ask(port, target, HEADERS[case])
            got = _ask(ours, target, HEADERS[case])
            assert (got.status, got.header("Content-Range"), got.body) == (
                want.status,
                want.header("Content-Range"),
                want.body,
            )
