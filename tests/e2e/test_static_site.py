"""Static files, autoindex, index re-match, redirects and conditional/range requests,
through the real server over raw sockets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.testing import HTTPResult, ServerProcess, read_response

CONFIG = r"""
server {
    listen 127.0.0.1:{port};
    root www;
    location / { allow_methods GET HEAD; }
    location /files/ { autoindex on; allow_methods GET HEAD DELETE; }
    location /listing/ { autoindex on; autoindex_format json; }
    location /app/ { allow_methods GET; }
    location /old { return 301 /new/; }
    location /echo-uri { return 302 $request_uri; }
    location /teapot { return 418 "short and stout"; }
    location ~ \.php$ { return 200 "php:$uri"; }
    location /phpdir/ { index index.php; }
    location /alias/ { alias data/; }
}
"""

DATA = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("static")
    www = base / "www"
    for sub in ("dir", "files/sub", "listing", "phpdir", "bare", "raw"):
        (www / sub).mkdir(parents=True)
    (www / "index.html").write_text("<h1>home</h1>")
    (www / "data.bin").write_bytes(DATA)
    (www / "style.css").write_text("body{}")
    (www / "dir" / "index.html").write_text("dir index")
    (www / "files" / "a.txt").write_text("aaa")
    (www / "files" / "<b>&.txt").write_text("x")
    (www / "files" / ".secret").write_text("hidden")
    (www / "files" / "del.txt").write_text("bye")
    (www / "listing" / "one.txt").write_text("1")
    (www / "files" / "é.txt").write_text("utf8 name")
    with open(os.fsencode(www / "raw") + b"/caf\xe9.txt", "wb") as f:
        f.write(b"latin1 name")
    (www / "phpdir" / "index.php").write_text("<?php")
    (base / "data").mkdir()
    (base / "data" / "d.txt").write_text("aliased")
    with ServerProcess(CONFIG, cwd=base) as srv:
        yield srv


def ask(srv: ServerProcess, target: str, method: str = "GET", headers: str = "") -> HTTPResult:
    with srv.connect() as sock:
        sock.sendall(
            f"{method} {target} HTTP/1.1\r\nHost: site.test\r\n{headers}"
            "Connection: close\r\n\r\n".encode("latin-1")
        )
        return read_response(sock, head_only=method == "HEAD")


def test_get_serves_a_file_with_mime_type_and_length(site):
    r = ask(site, "/index.html")
    assert (r.status, r.body) == (200, b"<h1>home</h1>")
    assert r.header("content-type").startswith("text/html")
    assert r.header("content-length") == "13"
    assert r.header("etag") and r.header("last-modified")
    assert ask(site, "/style.css").header("content-type").startswith("text/css")


def test_head_sends_get_headers_without_body(site):
    get, head = ask(site, "/data.bin"), ask(site, "/data.bin", "HEAD")
    assert head.status == 200 and head.body == b""
    for name in ("content-length", "etag", "last-modified", "content-type"):
        assert head.header(name) == get.header(name)


def test_if_none_match_gives_304(site):
    etag = ask(site, "/data.bin").header("etag")
    r = ask(site, "/data.bin", headers=f"If-None-Match: {etag}\r\n")
    assert r.status == 304 and r.body == b""


def test_if_modified_since_gives_304(site):
    lm = ask(site, "/data.bin").header("last-modified")
    assert ask(site, "/data.bin", headers=f"If-Modified-Since: {lm}\r\n").status == 304


def test_single_range_gives_206(site):
    r = ask(site, "/data.bin", headers="Range: bytes=256-511\r\n")
    assert r.status == 206
    assert r.header("content-range") == f"bytes 256-511/{len(DATA)}"
    assert r.body == DATA[256:512]
    r = ask(site, "/data.bin", headers="Range: bytes=-10\r\n")
    assert r.body == DATA[-10:]


def test_unsatisfiable_range_gives_416(site):
    r = ask(site, "/data.bin", headers="Range: bytes=999999-\r\n")
    assert r.status == 416
    assert r.header("content-range") == f"bytes */{len(DATA)}"


def test_bad_range_is_ignored(site):
    r = ask(site, "/data.bin", headers="Range: bytes=zz\r\n")
    assert r.status == 200 and r.body == DATA


def test_directory_without_slash_redirects_with_the_query(site):
    r = ask(site, "/dir?x=1&y=2")
    assert r.status == 301
    assert r.header("location") == f"http://site.test:{site.port}/dir/?x=1&y=2"


def test_location_prefix_without_slash_redirects(site):
    r = ask(site, "/app?q")
    assert r.status == 301
    assert r.header("location") == f"http://site.test:{site.port}/app/?q"


def test_directory_index_is_served(site):
    assert ask(site, "/dir/").body == b"dir index"
    assert ask(site, "/").body == b"<h1>home</h1>"


def test_index_re_match_reaches_another_location(site):
    r = ask(site, "/phpdir/")
    assert (r.status, r.body) == (200, b"php:/phpdir/index.php")


def test_directory_without_index_is_403(site):
    assert ask(site, "/bare/").status == 403


def test_missing_file_is_404(site):
    assert ask(site, "/missing.html").status == 404


def test_autoindex_lists_escaped_names_and_hides_dotfiles(site):
    r = ask(site, "/files/")
    assert r.status == 200
    assert b"<title>Index of /files/</title>" in r.body
    assert b'<a href="sub/">sub/</a>' in r.body
    assert b'<a href="a.txt">a.txt</a>' in r.body
    assert b"&lt;b&gt;&amp;.txt</a>" in r.body and b"<b>" not in r.body
    assert b".secret" not in r.body
    assert r.body.index(b"sub/") < r.body.index(b"a.txt")


def test_autoindex_json(site):
    r = ask(site, "/listing/")
    assert r.header("content-type") == "application/json"
    assert b'"name": "one.txt"' in r.body


def test_percent_encoded_utf8_name_is_served(site):
    assert ask(site, "/files/%C3%A9.txt").body == b"utf8 name"


def test_non_utf8_file_name_is_reachable_by_its_bytes(site):
    assert ask(site, "/raw/caf%E9.txt").body == b"latin1 name"
    listing = ask(site, "/files/").body
    assert b'<a href="%C3%A9.txt">\xc3\xa9.txt</a>' in listing


def test_alias_location(site):
    assert ask(site, "/alias/d.txt").body == b"aliased"


def test_delete_where_allowed(site):
    assert ask(site, "/files/del.txt", "DELETE").status == 204
    assert ask(site, "/files/del.txt").status == 404
    assert ask(site, "/files/sub/", "DELETE").status == 409
    assert ask(site, "/index.html", "DELETE").status == 405


def test_return_redirect_is_absolute(site):
    r = ask(site, "/old")
    assert r.status == 301
    assert r.header("location") == f"http://site.test:{site.port}/new/"


def test_return_with_text(site):
    r = ask(site, "/teapot")
    assert (r.status, r.body) == (418, b"short and stout")


def test_open_redirect_guard(site):
    r = ask(site, "//echo-uri/evil.com")
    assert r.status == 302
    location = r.header("location")
    assert not location.startswith("//") and not location.startswith("/\\")
    assert location.startswith(f"http://site.test:{site.port}/")


def test_unreadable_file_is_403(site):
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    path = Path(site.cwd) / "www" / "locked.txt"
    path.write_text("x")
    path.chmod(0)
    assert ask(site, "/locked.txt").status == 403


@pytest.mark.parametrize("target", ["//dir", "///dir?x=1", "//dir/..//dir"])
def test_directory_redirect_never_becomes_protocol_relative(site, target):
    r = ask(site, target)
    assert r.status == 301
    location = r.header("location")
    assert location.startswith(f"http://site.test:{site.port}/dir/")
    assert "//dir" not in location
