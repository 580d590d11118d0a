"""The static handler called directly (no server): files, directories, errors, DELETE."""

import asyncio
import os
from pathlib import Path

import pytest

from framework.config.models import LocationConfig, ServerConfig
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import FileBody, Response
from handlers.static import StaticHandler


@pytest.fixture
def www(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    (root / "dir").mkdir(parents=True)
    (root / "bare").mkdir()
    (root / "page.html").write_text("<p>hi</p>")
    (root / "data.bin").write_bytes(bytes(range(100)))
    (root / "noext").write_text("x")
    (root / "dir" / "index.html").write_text("index")
    (tmp_path / "secret").write_text("secret")
    os.symlink(tmp_path / "secret", root / "leak")
    return root


def location(root: Path, **kw) -> LocationConfig:
    kw.setdefault("types", {"html": "text/html", "bin": "application/x-test"})
    return LocationConfig(pattern="/", root=root, **kw)


async def _passed_on(request: Request) -> Response:
    return Response(599, b"next")


def call(loc: LocationConfig, method: str, target: str, headers=None, server=None) -> Response:
    path, _, query = target.partition("?")
    request = Request(method, target, path, query, Headers(headers or {}))
    request.server = ("127.0.0.1", 8080)
    request.host = "example.test"
    request.location = loc
    request.server_config = server
    response = asyncio.run(StaticHandler.from_location(loc).handle(request, _passed_on))
    return response


def body_bytes(response: Response) -> bytes:
    body = response.body
    assert isinstance(body, FileBody)
    if isinstance(body.file, Path):
        data = body.file.read_bytes()
    else:
        try:
            data = os.pread(body.file.fileno(), 1 << 20, 0)
        finally:
            body.file.close()
    end = None if body.length is None else body.offset + body.length
    return data[body.offset : end]


def error_of(loc, method, target, headers=None, server=None) -> HTTPError:
    with pytest.raises(HTTPError) as info:
        call(loc, method, target, headers, server)
    return info.value


def test_get_serves_the_file_with_type_and_validators(www):
    response = call(location(www), "GET", "/page.html")
    assert response.status == 200
    assert body_bytes(response) == b"<p>hi</p>"
    assert response.headers["Content-Type"] == "text/html"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"].startswith('"')
    assert response.headers["Last-Modified"].endswith(" GMT")


def test_unknown_or_missing_extension_gets_default_type(www):
    loc = location(www, default_type="application/octet-stream")
    assert call(loc, "GET", "/noext").headers["Content-Type"] == "application/octet-stream"


def test_extension_lookup_is_case_insensitive(www):
    (www / "UPPER.HTML").write_text("x")
    assert call(location(www), "GET", "/UPPER.HTML").headers["Content-Type"] == "text/html"


def test_head_answers_the_same_headers_as_get(www):
    head = call(location(www), "HEAD", "/page.html")
    assert head.status == 200
    assert isinstance(head.body, FileBody) and head.body.size() == 9
    head.body.file.close()


def test_matching_etag_gives_304_without_body(www):
    etag = call(location(www), "HEAD", "/page.html").headers["ETag"]
    response = call(location(www), "GET", "/page.html", {"If-None-Match": etag})
    assert response.status == 304
    assert response.body == b""
    assert response.headers["ETag"] == etag


def test_if_modified_since_not_older_gives_304(www):
    lm = call(location(www), "HEAD", "/page.html").headers["Last-Modified"]
    assert call(location(www), "GET", "/page.html", {"If-Modified-Since": lm}).status == 304


def test_single_range_gives_206_with_content_range(www):
    response = call(location(www), "GET", "/data.bin", {"Range": "bytes=10-19"})
    assert response.status == 206
    assert response.headers["Content-Range"] == "bytes 10-19/100"
    assert body_bytes(response) == bytes(range(10, 20))


def test_unsatisfiable_range_is_416_with_the_length(www):
    err = error_of(location(www), "GET", "/data.bin", {"Range": "bytes=100-"})
    assert err.status == 416
    assert err.headers["Content-Range"] == "bytes */100"


def test_bad_range_syntax_is_ignored(www):
    response = call(location(www), "GET", "/data.bin", {"Range": "bytes=x-y"})
    assert response.status == 200
    assert len(body_bytes(response)) == 100


def test_stale_if_range_sends_the_whole_file(www):
    headers = {"Range": "bytes=0-1", "If-Range": '"stale"'}
    assert call(location(www), "GET", "/data.bin", headers).status == 200


def test_directory_without_slash_redirects_keeping_the_query(www):
    err = error_of(location(www), "GET", "/dir?a=1&b=%20")
    assert err.status == 301
    assert err.headers["Location"] == "http://example.test:8080/dir/?a=1&b=%20"


def test_directory_with_index_is_an_internal_redirect(www):
    with pytest.raises(InternalRedirect) as info:
        call(location(www), "GET", "/dir/?q=1")
    assert info.value.uri == "/dir/index.html?q=1"


def test_index_files_are_tried_in_order(www):
    (www / "dir" / "home.htm").write_text("home")
    with pytest.raises(InternalRedirect) as info:
        call(location(www, index=["missing.html", "home.htm", "index.html"]), "GET", "/dir/")
    assert info.value.uri == "/dir/home.htm"


def test_directory_without_index_and_autoindex_off_is_403(www):
    assert error_of(location(www), "GET", "/bare/").status == 403


def test_directory_without_index_and_autoindex_on_goes_down_the_chain(www):
    response = call(location(www, autoindex=True), "GET", "/bare/")
    assert response.status == 599


def test_missing_file_is_404(www):
    assert error_of(location(www), "GET", "/nope").status == 404


def test_symlink_leaving_the_root_is_404(www):
    assert error_of(location(www), "GET", "/leak").status == 404


def test_location_prefix_without_slash_redirects_even_without_a_directory(www):
    server = ServerConfig(locations=[location(www), LocationConfig(pattern="/app/", root=www)])
    err = error_of(location(www), "GET", "/app?x=1", server=server)
    assert err.status == 301
    assert err.headers["Location"] == "http://example.test:8080/app/?x=1"


def test_other_methods_are_passed_down_the_chain(www):
    assert call(location(www), "POST", "/page.html").status == 599


def test_delete_removes_a_file_with_204(www):
    assert call(location(www), "DELETE", "/noext").status == 204
    assert not (www / "noext").exists()


def test_delete_of_a_directory_is_409_and_of_a_missing_file_404(www):
    assert error_of(location(www), "DELETE", "/dir/").status == 409
    assert (www / "dir").is_dir()
    assert error_of(location(www), "DELETE", "/gone").status == 404


def test_delete_of_a_symlink_out_of_the_root_never_touches_the_target(www):
    assert error_of(location(www), "DELETE", "/leak").status == 404
    assert (www.parent / "secret").read_text() == "secret"


def test_redirect_location_is_percent_encoded_and_never_protocol_relative(www):
    (www / "sp ace").mkdir()
    err = error_of(location(www), "GET", "/sp ace")
    assert err.headers["Location"] == "http://example.test:8080/sp%20ace/"


def test_invalid_host_is_not_reflected_into_location(www):
    loc = location(www)
    request = Request("GET", "/dir", "/dir", "", Headers())
    request.server = ("127.0.0.1", 8080)
    request.host = "evil.com/\r\nx"
    request.location = loc
    with pytest.raises(HTTPError) as info:
        asyncio.run(StaticHandler.from_location(loc).handle(request, _passed_on))
    assert info.value.headers["Location"] == "http://127.0.0.1:8080/dir/"
