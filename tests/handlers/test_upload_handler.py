"""The upload handler driven directly (no server): a Request with a hand-fed RequestBody."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import random
from pathlib import Path

import pytest

from framework.config.models import LocationConfig
from framework.http.body import RequestBody
from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from handlers.upload import UploadHandler

BOUNDARY = "xYzZY-boundary"


def form(*files: tuple[str, bytes], fields: tuple[str, ...] = ()) -> bytes:
    out = bytearray()
    for name in fields:
        out += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\nv\r\n'.encode()
        )
    for i, (filename, content) in enumerate(files):
        out += (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
            f'name="file{i}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        out += content + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out)


FORM_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    path.mkdir()
    return path


@pytest.fixture
def handler(tmp_path: Path, store: Path) -> UploadHandler:
    location = LocationConfig(pattern="/upload", root=tmp_path, upload_store=store)
    made = UploadHandler.from_location(location)
    assert made is not None
    return made


def request(
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    chunk: int = 7000,
    eof: bool = True,
) -> Request:
    rb = RequestBody(len(body) if eof else None)
    for i in range(0, len(body), chunk):
        rb.feed(body[i : i + chunk])
    if eof:
        rb.feed_eof()
    return Request(method, path, path, headers=Headers(headers or {}), body=rb)


async def fallback(request: Request) -> Response:
    return Response(299, b"next")


def run(handler: UploadHandler, req: Request) -> Response:
    return asyncio.run(handler.handle(req, fallback))


def listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def test_a_location_without_upload_store_gets_no_upload_handler():
    assert UploadHandler.from_location(LocationConfig(pattern="/x")) is None


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_other_methods_go_down_the_chain(handler, method):
    assert run(handler, request(method, "/upload/a.txt")).status == 299


def test_a_form_with_several_files_stores_each_and_answers_one_location(handler, store):
    rng = random.Random(7)
    blobs = {"a.txt": b"alpha", "b.bin": rng.randbytes(100_000), "c.dat": b""}
    req = request(
        "POST", "/upload", form(*blobs.items(), fields=("title",)), {"Content-Type": FORM_TYPE}
    )
    resp = run(handler, req)
    assert resp.status == 201
    # several Location fields make browsers refuse the page (ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION)
    assert resp.headers.get_all("Location") == ["/upload/a.txt"]
    assert listing(store) == sorted(blobs)
    for name, data in blobs.items():
        assert (store / name).read_bytes() == data
        assert f'href="/upload/{name}"'.encode() in resp.body
    assert resp.headers["Content-Type"].startswith("text/html")


def test_the_listing_is_json_when_the_client_prefers_it(handler, store):
    req = request(
        "POST",
        "/upload/",
        form(("r.txt", b"x")),
        {"Content-Type": FORM_TYPE, "Accept": "text/html;q=0.5, application/json"},
    )
    resp = run(handler, req)
    assert resp.headers["Content-Type"] == "application/json"
    doc = json.loads(resp.body)
    assert doc["files"] == [{"name": "r.txt", "url": "/upload/r.txt", "size": 1, "field": "file0"}]


def test_a_json_listing_of_several_files_names_them_all_under_one_location(handler, store):
    req = request(
        "POST",
        "/upload/",
        form(("one.txt", b"1"), ("two.txt", b"22")),
        {"Content-Type": FORM_TYPE, "Accept": "application/json"},
    )
    resp = run(handler, req)
    assert resp.status == 201
    assert resp.headers.get_all("Location") == ["/upload/one.txt"]
    urls = [f["url"] for f in json.loads(resp.body)["files"]]
    assert urls == ["/upload/one.txt", "/upload/two.txt"]


def test_existing_names_get_numeric_suffixes_and_are_never_overwritten(handler, store):
    (store / "a.txt").write_bytes(b"original")
    req = request(
        "POST", "/upload", form(("a.txt", b"one"), ("a.txt", b"two")), {"Content-Type": FORM_TYPE}
    )
    resp = run(handler, req)
    assert resp.headers.get_all("Location") == ["/upload/a-1.txt"]
    assert b"/upload/a-1.txt" in resp.body and b"/upload/a-2.txt" in resp.body
    assert (store / "a.txt").read_bytes() == b"original"
    assert (store / "a-1.txt").read_bytes() == b"one"
    assert (store / "a-2.txt").read_bytes() == b"two"


def test_traversal_and_dotfile_names_in_a_form_are_sanitised(handler, store, tmp_path):
    body = form(("../../evil.txt", b"1"), (".bashrc", b"2"), ("..", b"3"), ("x/../..", b"4"))
    resp = run(handler, request("POST", "/upload", body, {"Content-Type": FORM_TYPE}))
    assert resp.status == 201
    names = listing(store)
    assert "evil.txt" in names and "bashrc" in names
    assert len(names) == 4 and not any(n.startswith(".") for n in names)
    assert not (tmp_path / "evil.txt").exists()


def test_an_empty_file_input_is_skipped_and_a_form_without_files_answers_200(handler, store):
    resp = run(handler, request("POST", "/upload", form(("", b"")), {"Content-Type": FORM_TYPE}))
    assert resp.status == 200 and listing(store) == []


def test_a_malformed_form_is_400_and_leaves_nothing_not_even_complete_parts(handler, store):
    body = form(("good.txt", b"complete part"))[: -len(f"--{BOUNDARY}--\r\n")]
    with pytest.raises(HTTPError) as info:
        run(handler, request("POST", "/upload", body, {"Content-Type": FORM_TYPE}))
    assert info.value.status == 400
    assert listing(store) == []


def test_a_form_with_a_bad_boundary_is_400_before_reading(handler, store):
    with pytest.raises(HTTPError) as info:
        run(handler, request("POST", "/upload", b"x", {"Content-Type": "multipart/form-data"}))
    assert info.value.status == 400
    assert listing(store) == []


def test_put_creates_with_201_then_replaces_with_204(handler, store):
    resp = run(handler, request("PUT", "/upload/doc.txt", b"v1"))
    assert resp.status == 201 and resp.headers["Location"] == "/upload/doc.txt"
    assert (store / "doc.txt").read_bytes() == b"v1"
    resp = run(handler, request("PUT", "/upload/doc.txt", b"version two"))
    assert resp.status == 204
    assert (store / "doc.txt").read_bytes() == b"version two"
    assert listing(store) == ["doc.txt"]


def test_a_partial_put_with_content_range_is_refused(handler, store):
    headers = {"Content-Range": "bytes 0-1/10"}
    with pytest.raises(HTTPError) as info:
        run(handler, request("PUT", "/upload/p.txt", b"ab", headers))
    assert info.value.status == 400
    assert listing(store) == []


def test_raw_post_to_an_existing_name_gets_a_suffix(handler, store):
    (store / "n.txt").write_bytes(b"keep")
    resp = run(handler, request("POST", "/upload/n.txt", b"new", {"Content-Type": "text/plain"}))
    assert resp.status == 201 and resp.headers["Location"] == "/upload/n-1.txt"
    assert (store / "n.txt").read_bytes() == b"keep"


@pytest.mark.parametrize("path", ["/upload", "/upload/"])
def test_raw_post_to_the_directory_gets_a_generated_name(handler, store, path):
    resp = run(handler, request("POST", path, b"hello", {"Content-Type": "text/plain"}))
    assert resp.status == 201
    location = resp.headers["Location"]
    assert location.startswith("/upload/upload-") and location.endswith(".txt")
    assert (store / location.rsplit("/", 1)[1]).read_bytes() == b"hello"


def test_subdirectories_must_already_exist(handler, store):
    with pytest.raises(HTTPError) as info:
        run(handler, request("PUT", "/upload/nodir/a.txt", b"x"))
    assert info.value.status == 409
    assert not (store / "nodir").exists()
    (store / "sub").mkdir()
    resp = run(handler, request("PUT", "/upload/sub/a.txt", b"x"))
    assert resp.status == 201 and resp.headers["Location"] == "/upload/sub/a.txt"
    resp = run(
        handler, request("POST", "/upload/sub", form(("f.txt", b"y")), {"Content-Type": FORM_TYPE})
    )
    assert resp.headers["Location"] == "/upload/sub/f.txt"
    assert (store / "sub" / "f.txt").read_bytes() == b"y"


@pytest.mark.parametrize("path", ["/upload/.hidden", "/upload/a\x01b", "/upload/.upload-x.part"])
def test_unsafe_names_in_the_url_are_refused(handler, store, path):
    for method in ("PUT", "POST", "DELETE"):
        with pytest.raises(HTTPError) as info:
            run(handler, request(method, path, b"x"))
        assert info.value.status == 400
    assert listing(store) == []


def test_symlinks_leaving_the_store_are_neither_written_through_nor_deleted(
    handler, store, tmp_path
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    (store / "linkdir").symlink_to(outside)
    (store / "linkfile").symlink_to(outside / "secret.txt")
    for method, path in [
        ("PUT", "/upload/linkdir/x.txt"),
        ("PUT", "/upload/linkfile"),
        ("POST", "/upload/linkdir/"),
        ("DELETE", "/upload/linkfile"),
        ("DELETE", "/upload/linkdir/secret.txt"),
    ]:
        with pytest.raises(HTTPError) as info:
            run(handler, request(method, path, b"pwned"))
        assert info.value.status == 404, (method, path)
    assert listing(outside) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"secret"


def test_delete_answers_204_then_404_and_409_for_a_directory(handler, store):
    (store / "gone.txt").write_bytes(b"x")
    (store / "dir").mkdir()
    assert run(handler, request("DELETE", "/upload/gone.txt")).status == 204
    assert not (store / "gone.txt").exists()
    for path, status in [("/upload/gone.txt", 404), ("/upload/dir", 409), ("/upload/", 409)]:
        with pytest.raises(HTTPError) as info:
            run(handler, request("DELETE", path))
        assert info.value.status == status, path


def test_put_onto_a_directory_is_409(handler, store):
    (store / "d").mkdir()
    for path in ("/upload/d", "/upload/", "/upload/d/"):
        with pytest.raises(HTTPError) as info:
            run(handler, request("PUT", path, b"x"))
        assert info.value.status == 409, path


def test_a_path_that_only_shares_the_prefix_is_not_in_the_store(handler, store):
    with pytest.raises(HTTPError) as info:
        run(handler, request("PUT", "/uploadsx", b"x"))
    assert info.value.status == 404
    assert listing(store) == []


@pytest.mark.parametrize(
    "error", [HTTPError(413, close=True), HTTPError(408, close=True), ConnectionResetError()]
)
@pytest.mark.parametrize("kind", ["put", "form"])
def test_a_body_that_fails_midway_leaves_no_file_and_no_temp(handler, store, error, kind):
    (store / "a.txt").write_bytes(b"old")
    if kind == "put":
        req = request("PUT", "/upload/a.txt", b"n" * 50_000, eof=False)
    else:
        data = form(("done.txt", b"whole part"), ("a.txt", b"n" * 50_000))
        req = request("POST", "/upload", data[:-100], {"Content-Type": FORM_TYPE}, eof=False)
    req.body.fail(error)
    with pytest.raises(type(error)):
        run(handler, req)
    assert listing(store) == ["a.txt"]
    assert (store / "a.txt").read_bytes() == b"old"


@pytest.mark.parametrize("kind", ["put", "form"])
def test_a_cancelled_upload_leaves_no_file_and_no_temp(handler, store, kind):
    async def scenario() -> None:
        if kind == "put":
            req = request("PUT", "/upload/c.txt", b"x" * 10_000, eof=False)
        else:
            req = request(
                "POST",
                "/upload",
                form(("c.txt", b"x" * 10_000))[:-50],
                {"Content-Type": FORM_TYPE},
                eof=False,
            )
        task = asyncio.create_task(handler.handle(req, fallback))

        def written() -> bool:  # some body bytes are in a temp file
            return any(
                n.startswith(".upload-") and (store / n).stat().st_size for n in listing(store)
            )

        for _ in range(1000):  # let the handler consume what has arrived
            if written():
                break
            await asyncio.sleep(0)
        assert written()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert listing(store) == []


def test_disk_full_is_507_and_removes_the_temp_file(handler, store, monkeypatch):
    real_write = os.write

    def full_after_a_while(fd: int, data) -> int:
        if os.fstat(fd).st_size > 20_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_after_a_while)
    for req in (
        request("PUT", "/upload/big.bin", b"b" * 100_000),
        request("POST", "/upload", form(("big.bin", b"b" * 100_000)), {"Content-Type": FORM_TYPE}),
    ):
        with pytest.raises(HTTPError) as info:
            run(handler, req)
        assert info.value.status == 507
        assert listing(store) == []


def test_a_form_file_whose_name_sanitises_to_nothing_gets_a_generated_name(handler, store):
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename=".."\r\n'
        f"Content-Type: image/png\r\n\r\nPNG\r\n--{BOUNDARY}--\r\n"
    ).encode()
    resp = run(handler, request("POST", "/upload/", body, {"Content-Type": FORM_TYPE}))
    assert resp.status == 201
    (name,) = listing(store)
    assert name.startswith("upload-") and name.endswith(".png")
    assert resp.headers["Location"] == f"/upload/{name}"
