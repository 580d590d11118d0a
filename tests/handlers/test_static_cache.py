"""The small-file cache behind the static handler: hits are validated by ``lstat``, any
replacement, rewrite or symlink swap misses, racy (just-written) files are not cached, and
the byte budget and LRU order hold."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from framework.config.models import LocationConfig
from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import FileBody, Response
from handlers import static_cache
from handlers.static import StaticHandler
from handlers.static_cache import FileCache

OLD = time.time_ns() - 3600 * 1_000_000_000  # an hour ago: settled


def settle(path: Path, mtime_ns: int = OLD) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.fixture
def www(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "page.html").write_bytes(b"<p>cached page</p>")
    settle(root / "page.html")
    (tmp_path / "secret").write_bytes(b"top secret, outside the root")
    return root


async def _next(request: Request) -> Response:
    return Response(599, b"next")


def call(handler: StaticHandler, target: str, method: str = "GET", **headers: str) -> Response:
    request = Request(method, target, target, "", Headers(headers))
    request.location = handler.location
    return asyncio.run(handler.handle(request, _next))


def handler_for(root: Path) -> StaticHandler:
    loc = LocationConfig(pattern="/", root=root, types={"html": "text/html"})
    return StaticHandler.from_location(loc)


def test_settled_small_file_is_served_from_memory_with_its_validators(www: Path) -> None:
    handler = handler_for(www)
    first = call(handler, "/page.html")
    second = call(handler, "/page.html")
    assert first.body == second.body == b"<p>cached page</p>"
    assert len(handler._cache) == 1
    st = (www / "page.html").stat()
    assert second.headers["ETag"] == f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
    assert second.headers["Content-Type"] == "text/html"
    assert second.headers["Accept-Ranges"] == "bytes"
    assert second.headers["Last-Modified"] == first.headers["Last-Modified"]


def test_cached_file_answers_conditional_and_range_requests(www: Path) -> None:
    handler = handler_for(www)
    etag = call(handler, "/page.html").headers["ETag"]
    assert call(handler, "/page.html", **{"If-None-Match": etag}).status == 304
    partial = call(handler, "/page.html", Range="bytes=3-8")
    assert partial.status == 206
    assert partial.body == b"cached"
    assert partial.headers["Content-Range"] == "bytes 3-8/18"
    with pytest.raises(HTTPError) as exc:
        call(handler, "/page.html", Range="bytes=100-")
    assert exc.value.status == 416
    with pytest.raises(HTTPError) as exc:
        call(handler, "/page.html", **{"If-Match": '"other"'})
    assert exc.value.status == 412


def test_file_replaced_with_the_same_size_and_mtime_is_served_fresh(www: Path) -> None:
    handler = handler_for(www)
    assert call(handler, "/page.html").body == b"<p>cached page</p>"
    fresh = www / "new.tmp"
    fresh.write_bytes(b"<p>CHANGED page</p>"[:18])
    settle(fresh)
    os.replace(fresh, www / "page.html")  # new inode, same size, same mtime
    assert call(handler, "/page.html").body == b"<p>CHANGED page</p"


def test_rewritten_file_is_served_fresh(www: Path) -> None:
    handler = handler_for(www)
    call(handler, "/page.html")
    (www / "page.html").write_bytes(b"<p>a longer, rewritten page</p>")
    response = call(handler, "/page.html")
    body = response.body
    assert isinstance(body, FileBody)  # just written: racy, so not cached
    assert os.pread(body.file.fileno(), 100, 0) == b"<p>a longer, rewritten page</p>"  # type: ignore[union-attr]
    body.file.close()  # type: ignore[union-attr]


def test_cached_file_swapped_for_a_symlink_leaving_the_root_is_refused(
    www: Path, tmp_path: Path
) -> None:
    handler = handler_for(www)
    call(handler, "/page.html")
    (www / "page.html").unlink()
    os.symlink(tmp_path / "secret", www / "page.html")
    with pytest.raises(HTTPError) as exc:
        call(handler, "/page.html")
    assert exc.value.status == 404


def test_deleted_cached_file_is_not_found(www: Path) -> None:
    handler = handler_for(www)
    call(handler, "/page.html")
    (www / "page.html").unlink()
    with pytest.raises(HTTPError) as exc:
        call(handler, "/page.html")
    assert exc.value.status == 404
    assert len(handler._cache) == 0


def test_just_written_and_large_files_are_not_cached(www: Path) -> None:
    handler = handler_for(www)
    (www / "fresh.html").write_bytes(b"fresh")
    big = www / "big.bin"
    big.write_bytes(b"b" * (static_cache.MAX_FILE + 1))
    settle(big)
    for name in ("fresh.html", "big.bin"):
        response = call(handler, "/" + name)
        assert isinstance(response.body, FileBody)
        response.body.file.close()  # type: ignore[union-attr]
    assert len(handler._cache) == 0


def test_head_of_a_cached_file_states_its_length_through_the_bytes_body(www: Path) -> None:
    handler = handler_for(www)
    call(handler, "/page.html")
    response = call(handler, "/page.html", method="HEAD")
    assert response.status == 200
    assert response.body == b"<p>cached page</p>"  # the engine sends only the head


def test_empty_settled_file_is_cached_and_served_empty(www: Path) -> None:
    handler = handler_for(www)
    (www / "empty.html").write_bytes(b"")
    settle(www / "empty.html")
    call(handler, "/empty.html")
    response = call(handler, "/empty.html")
    assert (response.status, response.body) == (200, b"")
    assert len(handler._cache) == 1


def test_byte_budget_evicts_least_recently_used_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = FileCache._total  # other live caches' bytes count against the budget too
    monkeypatch.setattr(static_cache, "MAX_TOTAL", before + 250)
    cache = FileCache()
    files = {}
    for name in ("a", "b", "c"):
        path = tmp_path / name
        path.write_bytes(name.encode() * 100)
        settle(path)
        files[name] = path

    def store(name: str) -> None:
        fd = os.open(files[name], os.O_RDONLY)
        try:
            assert cache.store(str(files[name]), fd, os.fstat(fd), "e", "lm", []) is not None
        finally:
            os.close(fd)

    store("a")
    store("b")
    assert cache.lookup(str(files["a"])) is not None  # "a" is now the most recent
    store("c")  # over budget: "b" goes
    assert cache.lookup(str(files["b"])) is None
    assert cache.lookup(str(files["a"])) is not None
    assert cache.lookup(str(files["c"])) is not None
    assert FileCache._total - before == 200
    cache.clear()
    assert FileCache._total == before
