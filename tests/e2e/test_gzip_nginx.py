"""gzip, gzip_static and brotli_static over real sockets, side by side with nginx 1.22 where
it has the directive: which answers are compressed, Content-Encoding, Vary, weak ETags,
Accept-Ranges, HEAD, HTTP/1.0, proxied requests, error pages, and the decoded bodies.
Two documented differences: a Range request for a compressible file gets webserv's 206 of
the identity bytes (the issue: no compression of Range responses) where nginx ignores the
Range and sends 200 compressed; a precompressed variant honours Range (206 of the .gz
bytes, with its own strong ETag) where nginx 1.22 sends it whole."""

from __future__ import annotations

import gzip
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import NGINX, nginx_reference, requires_nginx

from framework.testing import HTTPResult, ServerProcess, parse_response, read_until_close

PAGE = ("<html><body>" + "<p>gzip me, I am a page</p>\n" * 100 + "</body></html>\n").encode()
TEXT = b"plain text line that repeats\n" * 300
APP = b"p.app { content: 'precompressed'; }\n" * 80
OLD = 1_600_000_000 * 10**9

FILES: dict[str, bytes] = {
    "www/page.html": PAGE,
    "www/data.txt": TEXT,
    "www/style.css": b"body { color: black; }\n" * 50,
    "www/img.png": b"\x89PNG" + b"\x00" * 2000,
    "www/tiny.txt": b"tiny",
    "www/static/app.css": APP,
    "www/static/app.css.gz": gzip.compress(APP, mtime=0),
    "www/static/app.css.br": b"pretend brotli bytes",
    "www/static/only.css": b"",
    "www/static/only.css.gz": gzip.compress(b"only the compressed copy exists\n", mtime=0),
}
del FILES["www/static/only.css"]

LOCATIONS = """
    root www;
    gzip on; gzip_vary on; gzip_types text/plain text/css; gzip_min_length 100;
    location /static/ { gzip_static on; }
    location /always/ { alias www/static/; gzip_static always; }
    location /off/ { alias www/; gzip off; }
    location /types/ { alias www/; gzip_types *; gzip_vary off; }
    location /v10/ { alias www/; gzip_http_version 1.0; gzip_proxied any; gzip_disable "lynx"; }
"""
WEBSERV = (
    "access_log off;\nserver {\n    listen 127.0.0.1:{port};\n" + LOCATIONS
    + "    location /br/ { alias www/static/; gzip_static on; brotli_static on; }\n}\n"
)  # fmt: skip
NGINX_CONF = (
    "include /etc/nginx/mime.types;\nserver {\n    listen 127.0.0.1:PORT;\n" + LOCATIONS + "}\n"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("gzip-site")
    for name, data in FILES.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, ns=(OLD, OLD))
    return base


@pytest.fixture(scope="module")
def webserv(site: Path) -> Iterator[int]:
    srv = ServerProcess(WEBSERV, cwd=site).start()
    try:
        yield srv.port
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def nginx(site: Path) -> Iterator[int]:
    if NGINX is None or not Path("/etc/nginx/mime.types").exists():
        pytest.skip("nginx (with /etc/nginx/mime.types) is not installed")
    conf = NGINX_CONF.replace("root www;", f"root {site / 'www'};")
    conf = conf.replace("alias www/static/;", f"alias {site / 'www/static'}/;")
    conf = conf.replace("alias www/;", f"alias {site / 'www'}/;")
    with nginx_reference(site, conf) as port:
        yield port


def fetch(port: int, path: str, headers: dict[str, str] | None = None, *,
          method: str = "GET", version: str = "1.1") -> HTTPResult:  # fmt: skip
    head = f"{method} {path} HTTP/{version}\r\nHost: localhost\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n")
        result, _ = parse_response(read_until_close(sock), head_only=method == "HEAD")
    return result


def decoded(result: HTTPResult) -> bytes:
    return (
        gzip.decompress(result.body) if result.header("content-encoding") == "gzip" else result.body
    )


def summary(result: HTTPResult, method: str = "GET") -> dict[str, object]:
    """What both servers must agree on (not ETag values or the framing of a compressed
    body, which nginx sends chunked and webserv with the compressed length)."""
    etag = result.header("etag")
    encoding = result.header("content-encoding")
    return {
        "status": result.status,
        "type": (result.header("content-type") or "").split(";")[0],
        "encoding": result.header("content-encoding"),
        "vary": result.header("vary"),
        "weak_etag": etag.startswith("W/") if etag else None,
        # a variant's Accept-Ranges: see the module docstring
        "accept_ranges": None if encoding else result.header("accept-ranges"),
        "identity_length": None
        if result.header("content-encoding")
        else result.header("content-length"),
        "body": decoded(result) if method != "HEAD" and result.status == 200 else None,
    }


GZ = {"Accept-Encoding": "gzip, deflate"}
CASES = [
    ("/page.html", GZ, "GET", "1.1"),
    ("/page.html", {}, "GET", "1.1"),
    ("/page.html", {"Accept-Encoding": "gzip;q=0"}, "GET", "1.1"),
    ("/page.html", GZ, "HEAD", "1.1"),
    ("/page.html", GZ, "GET", "1.0"),
    ("/page.html", {**GZ, "Via": "1.1 cache"}, "GET", "1.1"),
    ("/data.txt", GZ, "GET", "1.1"),
    ("/style.css", GZ, "GET", "1.1"),
    ("/img.png", GZ, "GET", "1.1"),
    ("/tiny.txt", GZ, "GET", "1.1"),
    ("/missing", GZ, "GET", "1.1"),
    ("/off/page.html", GZ, "GET", "1.1"),
    ("/types/img.png", GZ, "GET", "1.1"),
    ("/v10/page.html", GZ, "GET", "1.0"),
    ("/v10/page.html", {**GZ, "Via": "1.1 cache"}, "GET", "1.1"),
    ("/v10/page.html", {**GZ, "User-Agent": "Lynx/2.9"}, "GET", "1.1"),
    ("/static/app.css", GZ, "GET", "1.1"),
    ("/static/app.css", GZ, "HEAD", "1.1"),
    ("/static/app.css", {}, "GET", "1.1"),
    ("/static/app.css", GZ, "GET", "1.0"),
    ("/static/only.css", GZ, "GET", "1.1"),
    ("/always/app.css", {}, "GET", "1.1"),
]


@requires_nginx
@pytest.mark.parametrize(("path", "headers", "method", "version"), CASES)
def test_same_answer_as_nginx(webserv, nginx, path, headers, method, version):
    ours = fetch(webserv, path, headers, method=method, version=version)
    theirs = fetch(nginx, path, headers, method=method, version=version)
    assert summary(ours, method) == summary(theirs, method)


def test_compressed_answers_decode_to_the_file(webserv):
    for path, data in (("/page.html", PAGE), ("/data.txt", TEXT), ("/static/app.css", APP)):
        result = fetch(webserv, path, GZ)
        assert result.header("content-encoding") == "gzip"
        assert gzip.decompress(result.body) == data
        ranges = result.header("accept-ranges")
        assert ranges is None if path != "/static/app.css" else ranges == "bytes"


def test_range_of_a_compressible_file_is_served_uncompressed(webserv):
    result = fetch(webserv, "/page.html", {**GZ, "Range": "bytes=0-9"})
    assert result.status == 206 and result.body == PAGE[:10]
    assert result.header("content-encoding") is None
    assert not (result.header("etag") or "").startswith("W/")


def test_range_of_a_precompressed_file_counts_compressed_bytes(webserv, site: Path):
    compressed = (site / "www/static/app.css.gz").read_bytes()
    full = fetch(webserv, "/static/app.css", GZ)
    result = fetch(webserv, "/static/app.css", {**GZ, "Range": "bytes=0-9"})
    assert result.status == 206 and result.body == compressed[:10]
    assert result.header("content-encoding") == "gzip"
    assert result.header("content-range") == f"bytes 0-9/{len(compressed)}"
    not_modified = fetch(webserv, "/static/app.css", {**GZ, "If-None-Match": full.header("etag")})
    assert not_modified.status == 304
    assert fetch(webserv, "/static/app.css", {"If-None-Match": full.header("etag")}).status == 200


def test_brotli_variant_is_preferred_when_accepted(webserv):
    both = fetch(webserv, "/br/app.css", {"Accept-Encoding": "gzip, br"})
    assert both.header("content-encoding") == "br" and both.body == b"pretend brotli bytes"
    assert both.header("vary") == "Accept-Encoding"
    assert both.header("content-type") == "text/css"
    only_gzip = fetch(webserv, "/br/app.css", {"Accept-Encoding": "gzip, br;q=0"})
    assert only_gzip.header("content-encoding") == "gzip"
    neither = fetch(webserv, "/br/app.css", {})
    assert neither.header("content-encoding") is None and neither.body == APP
    assert neither.header("vary") == "Accept-Encoding"


def test_a_variant_never_leaves_the_root(webserv, site: Path):
    outside = site / "secret.txt.gz"
    outside.write_bytes(gzip.compress(b"secret"))
    (site / "www/static/link.txt.gz").symlink_to(outside)
    (site / "www/static/link.txt").write_bytes(b"public copy\n" * 20)
    result = fetch(webserv, "/static/link.txt", GZ)
    assert b"secret" not in decoded(result)
    assert decoded(result) == b"public copy\n" * 20


@requires_nginx
def test_the_range_differences_from_nginx_are_the_documented_ones(webserv, nginx):
    ranged = {**GZ, "Range": "bytes=0-9"}
    for path in ("/page.html", "/static/app.css"):
        theirs = fetch(nginx, path, ranged)
        assert theirs.status == 200 and theirs.header("content-encoding") == "gzip"
        assert fetch(webserv, path, ranged).status == 206
