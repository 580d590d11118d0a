"""The try_files handler on its own: which candidate wins, what the fallback does, and that
no candidate can be found outside the root (symlinks, dot segments, alias prefixes)."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest

from config_grammar.tree import Span
from framework.config.directives_try_files import TryFiles
from framework.config.models import LocationConfig
from framework.http.errors import HTTPError, InternalRedirect
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from handlers.try_files import TryFilesHandler


@pytest.fixture
def root(tmp_path: Path) -> Path:
    www = tmp_path / "www"
    (www / "app" / "sub").mkdir(parents=True)
    (www / "index.html").write_text("spa")
    (www / "app" / "a.txt").write_text("a")
    (www / "page.html").write_text("page")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (www / "leak.txt").symlink_to(outside / "secret.txt")
    (www / "leakdir").symlink_to(outside)
    (www / "inner.txt").symlink_to(www / "app" / "a.txt")
    return www


def run(location: LocationConfig, target: str) -> tuple[Request, Response]:
    path, _, query = target.partition("?")
    request = Request("GET", target, path, query, Headers(), server=("127.0.0.1", 8080))
    request.location = location
    handler = TryFilesHandler.from_location(location)
    assert handler is not None

    async def served(request: Request) -> Response:
        return Response(200, request.path)

    return request, asyncio.run(handler.handle(request, served))


def loc(root: Path, *files: str, uri: str | None = None, code: int | None = None, **kw):
    spec = TryFiles(files=list(files), uri=uri, code=code)
    return LocationConfig(pattern="/", root=root, try_files=spec, **kw)


def test_disabled_without_try_files_or_where_it_is_inherited(root: Path) -> None:
    assert TryFilesHandler.from_location(LocationConfig()) is None
    assert TryFilesHandler.methods == frozenset()
    written = Span("c.conf", 2, 5, 2, 30)
    spec = TryFiles(files=["$uri"], code=404, written_at=(written,))
    outer = LocationConfig(pattern="/", try_files=spec, span=Span("c.conf", 1, 1, 9, 2))
    nested = LocationConfig(pattern="/n/", try_files=spec, span=Span("c.conf", 3, 3, 4, 4))
    assert TryFilesHandler.from_location(outer) is not None
    assert TryFilesHandler.from_location(nested) is None


def test_the_first_existing_file_becomes_the_path(root: Path) -> None:
    request, response = run(loc(root, "$uri", "$uri.html", uri="/index.html"), "/page")
    assert response.body == b"/page.html" and request.path == "/page.html"


def test_a_file_candidate_must_not_be_a_directory_and_a_slash_one_must(root: Path) -> None:
    location = loc(root, "$uri", "$uri/", code=404)
    assert run(location, "/app")[0].path == "/app"  # the directory, slash stripped as nginx
    assert run(location, "/app/")[0].path == "/app/"
    assert run(location, "/app/a.txt")[0].path == "/app/a.txt"
    with pytest.raises(HTTPError) as caught:
        run(loc(root, "$uri/", code=404), "/app/a.txt")
    assert caught.value.status == 404


def test_the_root_itself_as_a_directory(root: Path) -> None:
    assert run(loc(root, "/", code=404), "/anything")[0].path == "/"


def test_none_found_answers_the_code(root: Path) -> None:
    with pytest.raises(HTTPError) as caught:
        run(loc(root, "$uri", code=418), "/missing")
    assert caught.value.status == 418


def test_none_found_redirects_internally_with_variables_encoded(root: Path) -> None:
    with pytest.raises(InternalRedirect) as caught:
        run(loc(root, "$uri", uri="/index.php?from=$uri&$args"), "/a b?x=%20")
    assert caught.value.uri == "/index.php?from=/a%20b&x=%20"
    assert caught.value.method is None


def test_symlinks_out_of_the_root_never_count(root: Path) -> None:
    location = loc(root, "$uri", "$uri/", code=404)
    for target in ("/leak.txt", "/leakdir", "/leakdir/", "/leakdir/secret.txt"):
        with pytest.raises(HTTPError):
            run(location, target)
    assert run(location, "/inner.txt")[0].path == "/inner.txt"  # a symlink inside is fine


def test_dot_segments_and_nul_from_variables_cannot_climb(root: Path) -> None:
    location = loc(root, "/app/$arg_f", code=404)
    for query in ("f=../../outside/secret.txt", "f=../../../../etc/passwd", "f=a.txt%00"):
        with pytest.raises(HTTPError):
            run(location, "/x?" + query)
    assert run(location, "/x?f=../app/a.txt")[0].path == "/app/a.txt"  # stays inside: fine
    request = Request("GET", "/x", "/x", "", Headers())
    request.captures = {"1": "a.txt\x00.html"}
    handler = TryFilesHandler(TryFilesHandler.Settings(), loc(root, "/app/$1", code=404))
    with pytest.raises(HTTPError):
        asyncio.run(handler.handle(request, lambda r: None))  # type: ignore[arg-type,return-value]


def test_a_name_without_leading_slash_is_taken_from_the_root(root: Path) -> None:
    assert run(loc(root, "index.html", code=404), "/zzz")[0].path == "/index.html"


def test_alias_locations_check_under_the_alias(root: Path) -> None:
    location = LocationConfig(
        pattern="/static/",
        alias=root / "app",
        try_files=TryFiles(files=["$uri", "/elsewhere/a.txt"], code=404),
    )
    assert run(location, "/static/a.txt")[0].path == "/static/a.txt"
    with pytest.raises(HTTPError):
        run(location, "/static/zz")  # /elsewhere/... is outside the alias's prefix


def test_regex_captures_pick_the_file(root: Path) -> None:
    location = LocationConfig(
        modifier="~",
        pattern=r"^/v/(\w+)$",
        regex=re.compile(r"^/v/(\w+)$"),
        root=root,
        try_files=TryFiles(files=["/$1.html"], code=404),
    )
    request = Request("GET", "/v/page", "/v/page", "", Headers())
    request.captures = {"1": "page"}
    handler = TryFilesHandler.from_location(location)
    assert handler is not None

    async def served(request: Request) -> Response:
        return Response(200, request.path)

    assert asyncio.run(handler.handle(request, served)).body == b"/page.html"


def test_an_unreadable_directory_on_the_way_is_skipped(root: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    (root / "locked").mkdir()
    (root / "locked" / "f").write_text("f")
    (root / "locked").chmod(0)
    try:
        assert run(loc(root, "/locked/f", "$uri", code=404), "/index.html")[0].path == "/index.html"
    finally:
        (root / "locked").chmod(0o755)
