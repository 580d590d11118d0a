"""The gzip filter and its negotiation without sockets: Accept-Encoding q-values, nginx's
gzip_proxied rules, which responses are compressed and what their headers become, and the
compressed bodies (streams flushed per chunk, files read in bounded chunks, the cache keyed
by content or file version)."""

from __future__ import annotations

import asyncio
import os
import zlib
from pathlib import Path

import pytest

from framework.config.models import LocationConfig
from framework.http.errorpage import builtin_error_response
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import FileBody, Response
from handlers import gzip_bodies
from handlers.content_coding import accepted_codings, add_vary, may_compress
from handlers.gzip import GzipHandler


def gunzip(data: bytes) -> bytes:
    return zlib.decompress(data, 31)


def request(headers=None, method="GET", version="1.1") -> Request:
    return Request(method, "/x", "/x", headers=Headers(headers or {}), http_version=version)


def run(coro):
    return asyncio.run(coro)


async def collect(body) -> bytes:
    return b"".join([chunk async for chunk in body])


@pytest.mark.parametrize(
    ("value", "gzip"),
    [
        ("gzip", True),
        ("deflate, gzip, br, zstd", True),
        ("GZIP;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("gzip;q=1.5", False),
        ("gzip;q=abc", False),
        ("x-gzip", False),
        ("*", False),  # as nginx: only an explicit gzip
        ("br;q=1, gzip ;q=0.1", True),
        ("", False),
    ],
)
def test_accept_encoding_q_values(value, gzip):
    assert ("gzip" in accepted_codings(value)) is gzip


def location(**fields) -> LocationConfig:
    return LocationConfig(gzip=True, **fields)


@pytest.mark.parametrize(
    ("proxied", "response", "req", "ok"),
    [
        (["off"], {}, {}, False),
        (["any"], {}, {}, True),
        (["auth"], {}, {"Authorization": "Basic x"}, True),
        (["expired"], {"Expires": "Thu, 01 Jan 1970 00:00:01 GMT"}, {}, True),
        (["expired"], {"Expires": "Fri, 01 Jan 2100 00:00:00 GMT"}, {}, False),
        (["no-cache"], {"Expires": "Thu, 01 Jan 1970 00:00:01 GMT"}, {}, False),
        (["no-cache"], {"Cache-Control": "max-age=0, no-cache"}, {}, True),
        (["private"], {"Cache-Control": "public"}, {}, False),
        (["no_etag"], {"ETag": '"x"'}, {}, False),
        (["no_etag"], {}, {}, True),
        (["no_last_modified"], {"Last-Modified": "x"}, {}, False),
    ],
)
def test_gzip_proxied_follows_nginx(proxied, response, req, ok):
    r = request({"Via": "1.1 proxy", **req})
    assert may_compress(r, location(gzip_proxied=proxied), Headers(response)) is ok


def test_http_version_and_disable():
    loc = location()
    assert not may_compress(request(version="1.0"), loc, None)
    assert may_compress(request(version="1.0"), location(gzip_http_version="1.0"), None)
    import re

    lynx = location(gzip_disable=[re.compile("lynx", re.I)])
    assert not may_compress(request({"User-Agent": "Lynx/2.8"}), lynx, None)
    assert may_compress(request({"User-Agent": "curl/8"}), lynx, None)


def test_vary_is_added_once():
    headers = Headers({"Vary": "Origin, accept-encoding"})
    add_vary(headers)
    assert headers.get_all("vary") == ["Origin, accept-encoding"]
    headers = Headers({"Vary": "Origin"})
    add_vary(headers)
    assert headers.get_all("vary") == ["Origin", "Accept-Encoding"]


TEXT = b"<p>hello, compressed world</p>\n" * 200


def filtered(response, req=None, **fields) -> Response:
    handler = GzipHandler.from_location(location(**fields))
    assert handler is not None and handler.methods == frozenset()
    run(handler.on_response(req or request({"Accept-Encoding": "gzip"}), response))
    return response


def test_bytes_are_compressed_with_weak_etag_and_no_ranges():
    response = filtered(
        Response(200, TEXT, {"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"',
                             "Accept-Ranges": "bytes", "Content-Length": str(len(TEXT))}),
        gzip_vary=True,
    )  # fmt: skip
    h = response.headers
    assert h["content-encoding"] == "gzip" and h["etag"] == 'W/"v1"' and h["vary"]
    assert "accept-ranges" not in h and "content-length" not in h
    assert gunzip(response.body) == TEXT


@pytest.mark.parametrize(
    ("response", "kwargs"),
    [
        (Response(206, TEXT, {"Content-Type": "text/html"}), {}),
        (Response(500, TEXT, {"Content-Type": "text/html"}), {}),
        (Response(200, TEXT, {"Content-Type": "text/html", "Content-Encoding": "br"}), {}),
        (Response(200, TEXT, {"Content-Type": "image/png"}), {}),
        (Response(200, b"short", {"Content-Type": "text/html"}), {}),
        (Response(200, TEXT, {"Content-Type": "text/css"}), {"gzip_types": ["text/plain"]}),
    ],
)
def test_not_compressed(response, kwargs):
    before = response.body
    filtered(response, **kwargs)
    assert (
        response.body is before
        and "content-encoding" not in response.headers
        or (response.headers["content-encoding"] == "br")
    )


def test_any_type_and_refusing_client_still_gets_vary():
    response = filtered(
        Response(200, TEXT, {"Content-Type": "text/css"}),
        request({"Accept-Encoding": "gzip;q=0"}),
        gzip_types=["*"],
        gzip_vary=True,
    )
    assert response.body == TEXT and response.headers["vary"] == "Accept-Encoding"


def test_head_gets_the_headers_without_a_body():
    response = filtered(
        Response(200, TEXT, {"Content-Type": "text/html"}),
        request({"Accept-Encoding": "gzip"}, method="HEAD"),
    )
    assert response.headers["content-encoding"] == "gzip"
    assert run(collect(response.body)) == b""


def test_error_page_target_is_left_to_the_page():
    error = builtin_error_response(404)
    filtered(error, error_pages={404: {"uri": "/404.html"}})
    assert "content-encoding" not in error.headers
    plain = builtin_error_response(404)
    filtered(plain)
    assert plain.headers["content-encoding"] == "gzip" and b"404" in gunzip(plain.body)


def test_stream_is_flushed_at_each_chunk_and_closed():
    closed = []

    async def parts():
        try:
            for i in range(3):
                yield b"part %d;" % i
        finally:
            closed.append(True)

    response = filtered(Response(200, parts(), {"Content-Type": "text/html"}))

    async def read_each():
        out = []
        async for chunk in response.body:
            out.append(chunk)
        return out

    chunks = run(read_each())
    d = zlib.decompressobj(31)
    # each chunk decodes on its own as it arrives: the producer's bytes are not held back
    assert [d.decompress(c) for c in chunks[:3]] == [b"part 0;", b"part 1;", b"part 2;"]
    assert closed == [True]


def test_large_file_streams_in_bounded_reads(tmp_path: Path, monkeypatch):
    data = os.urandom(1024) * 600  # 600 KiB: above the inline limit
    path = tmp_path / "big.html"
    path.write_bytes(data)
    reads = []
    real = os.pread

    def pread(fd, n, offset):
        reads.append(n)
        return real(fd, n, offset)

    monkeypatch.setattr(gzip_bodies.os, "pread", pread)
    response = filtered(Response(200, FileBody(path), {"Content-Type": "text/html"}))
    assert gunzip(run(collect(response.body))) == data
    assert max(reads) <= gzip_bodies.READ_SIZE


def test_small_file_cache_is_keyed_by_the_file_version(tmp_path: Path):
    path = tmp_path / "page.html"
    path.write_bytes(TEXT)
    old = 1_600_000_000 * 10**9
    os.utime(path, ns=(old, old))

    def serve() -> bytes:
        fd = os.open(path, os.O_RDONLY)
        body = FileBody(open(fd, "rb", closefd=True), 0, None)  # noqa: SIM115
        return gunzip(filtered(Response(200, body, {"Content-Type": "text/html"})).body)

    assert serve() == TEXT
    assert serve() == TEXT  # from the cache
    path.write_bytes(TEXT.upper())  # same size; the version changes (ctime, and mtime here)
    os.utime(path, ns=(old, old))  # even the same mtime: ctime moved
    assert serve() == TEXT.upper()


def test_several_accept_encoding_fields_are_one_list():
    from handlers.content_coding import request_codings

    r = Request("GET", "/x", "/x", headers=Headers([("Accept-Encoding", "br"),
                                                     ("Accept-Encoding", "gzip")]))  # fmt: skip
    assert request_codings(r) == {"br", "gzip"}


def test_a_missing_file_body_is_left_to_the_engine(tmp_path: Path):
    response = filtered(
        Response(200, FileBody(tmp_path / "gone.html"), {"Content-Type": "text/html"})
    )
    assert "content-encoding" not in response.headers and isinstance(response.body, FileBody)


def test_closing_an_unread_compressed_stream_closes_its_source():
    class Source:
        closed = False

        def __aiter__(self):
            return self

        async def __anext__(self):
            raise StopAsyncIteration

        async def aclose(self):
            Source.closed = True

    response = filtered(Response(200, Source(), {"Content-Type": "text/html"}))
    run(response.body.aclose())  # the engine may close a body it never iterated
    assert Source.closed
