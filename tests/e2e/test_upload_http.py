"""Uploads and DELETE through a real server: multipart, PUT, raw POST, limits, atomicity."""

from __future__ import annotations

import json
import os
import random
import select
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.testing import HTTPResult, ServerProcess, read_response, wait_until

CONFIG = """
event_loop {loop};
server {
    listen 127.0.0.1:{port};
    root www;
    client_max_body_size 1m;
    location /upload {
        upload_store www/upload;
        allow_methods GET HEAD POST PUT DELETE;
    }
    location /slow {
        upload_store www/slow;
        client_body_timeout 1s;
        allow_methods PUT POST;
    }
    location /big {
        upload_store www/big;
        client_max_body_size 0;
        allow_methods GET HEAD POST PUT DELETE;
    }
}
"""

BOUNDARY = "----webservTestBoundary3f9a"
FORM_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def _server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, Path]]:
    """One server per event loop for the whole module (startup dominates test time)."""
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    root = tmp_path_factory.mktemp("uploads")
    for name in ("upload", "big", "slow"):
        (root / "www" / name).mkdir(parents=True)
    with ServerProcess(CONFIG.replace("{loop}", request.param), cwd=root) as server:
        yield server, root


@pytest.fixture
def site(_server: tuple[ServerProcess, Path]) -> Path:
    """The server's directory, with the stores emptied before each test."""
    root = _server[1]
    for name in ("upload", "big", "slow"):
        for entry in (root / "www" / name).iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return root


@pytest.fixture
def srv(_server: tuple[ServerProcess, Path], site: Path) -> ServerProcess:
    return _server[0]


def store(site: Path, name: str = "upload") -> Path:
    return site / "www" / name


def entries(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def temp_files(directory: Path) -> list[str]:
    return [n for n in os.listdir(directory) if n.startswith(".")]


def form(*files: tuple[str, bytes], fields: dict[str, str] | None = None) -> bytes:
    out = bytearray()
    for name, value in (fields or {}).items():
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for filename, content in files:
        out += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        out += content + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out)


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def send_chunked(sock: socket.socket, method: str, path: str, body_chunks, headers=None) -> bool:
    """Send a chunked request; stop early (returning False) once the server has answered."""
    sock.sendall(head(method, path, {"Transfer-Encoding": "chunked", **(headers or {})}))
    try:
        for chunk in body_chunks:
            if select.select([sock], [], [], 0)[0]:
                return False
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


# -- multipart ----------------------------------------------------------------------------


def test_a_form_with_several_binary_files_is_stored_byte_exact(srv, site):
    rng = random.Random(42)
    files = {
        "random.bin": rng.randbytes(300_000),
        "tricky.bin": (b"\r\n--" + BOUNDARY.encode()[:-1] + b"\r\n--\r\n") * 50,
        "empty.txt": b"",
        "text.txt": b"hello\r\n",
    }
    r = srv.request(
        "POST",
        "/upload/",
        form(*files.items(), fields={"note": "hi"}),
        {"Content-Type": FORM_TYPE},
    )
    assert r.status == 201, r.text
    locations = [v for k, v in r.headers if k.lower() == "location"]
    # one Location (the first file's), never several; made absolute as nginx does
    assert locations == [f"http://127.0.0.1:{srv.port}/upload/random.bin"]
    for name in files:
        assert f'href="/upload/{name}"' in r.text
    for name, data in files.items():
        assert (store(site) / name).read_bytes() == data
        assert srv.get(f"/upload/{name}").body == data
    assert temp_files(store(site)) == []


def test_same_names_get_suffixes_and_the_json_listing_says_so(srv, site):
    replies = [
        srv.request(
            "POST",
            "/upload",
            form(("a.txt", body)),
            {"Content-Type": FORM_TYPE, "Accept": "application/json"},
        )
        for body in (b"first", b"second", b"third")
    ]
    assert [r.status for r in replies] == [201, 201, 201]
    names = [json.loads(r.body)["files"][0]["name"] for r in replies]
    assert names == ["a.txt", "a-1.txt", "a-2.txt"]
    assert (store(site) / "a.txt").read_bytes() == b"first"
    assert (store(site) / "a-2.txt").read_bytes() == b"third"


def test_traversal_and_dotfile_names_in_a_form_stay_inside_the_store(srv, site):
    r = srv.request(
        "POST",
        "/upload/",
        form(("../../escape.txt", b"1"), ("..\\..\\win.txt", b"2"), (".profile", b"3")),
        {"Content-Type": FORM_TYPE},
    )
    assert r.status == 201
    assert entries(store(site)) == ["escape.txt", "profile", "win.txt"]
    assert not any(site.glob("escape.txt")) and not (site / "www" / "escape.txt").exists()


def test_a_malformed_form_is_400_and_stores_nothing(srv, site):
    truncated = form(("whole.txt", b"complete"))[:-10]
    r = srv.request("POST", "/upload/", truncated, {"Content-Type": FORM_TYPE})
    assert r.status == 400
    assert entries(store(site)) == []


# -- PUT, raw POST, DELETE ------------------------------------------------------------------


def test_put_creates_with_201_and_replaces_with_204(srv, site):
    r = srv.request("PUT", "/upload/doc.txt", b"one")
    assert r.status == 201 and r.header("Location") == f"http://127.0.0.1:{srv.port}/upload/doc.txt"
    r = srv.request("PUT", "/upload/doc.txt", b"two!")
    assert r.status == 204 and r.body == b""
    assert srv.get("/upload/doc.txt").body == b"two!"


def test_raw_post_to_the_directory_gets_a_generated_name(srv, site):
    r = srv.request("POST", "/upload/", b"payload", {"Content-Type": "text/plain"})
    assert r.status == 201
    absolute = r.header("Location")
    prefix = f"http://127.0.0.1:{srv.port}/upload/"
    assert absolute is not None and absolute.startswith(prefix)
    location = absolute[len(prefix) - len("/upload/") :]
    assert srv.get(location).body == b"payload"
    assert entries(store(site)) == [location.rsplit("/", 1)[1]]


def test_raw_post_to_an_existing_name_does_not_overwrite(srv, site):
    (store(site) / "keep.txt").write_bytes(b"keep")
    r = srv.request("POST", "/upload/keep.txt", b"new", {"Content-Type": "text/plain"})
    assert (
        r.status == 201 and r.header("Location") == f"http://127.0.0.1:{srv.port}/upload/keep-1.txt"
    )
    assert (store(site) / "keep.txt").read_bytes() == b"keep"


def test_delete_is_204_then_404_and_409_for_a_directory(srv, site):
    (store(site) / "x.txt").write_bytes(b"x")
    (store(site) / "sub").mkdir()
    assert srv.request("DELETE", "/upload/x.txt").status == 204
    assert not (store(site) / "x.txt").exists()
    assert srv.request("DELETE", "/upload/x.txt").status == 404
    assert srv.request("DELETE", "/upload/sub").status == 409
    assert (store(site) / "sub").is_dir()


def test_put_into_an_existing_subdirectory_works_and_a_missing_one_is_409(srv, site):
    (store(site) / "sub").mkdir()
    assert srv.request("PUT", "/upload/sub/f.txt", b"f").status == 201
    assert (store(site) / "sub" / "f.txt").read_bytes() == b"f"
    assert srv.request("PUT", "/upload/nope/f.txt", b"f").status == 409
    assert not (store(site) / "nope").exists()


@pytest.mark.parametrize(
    "target",
    [
        "/upload/%2e%2e/evil.txt",
        "/upload/%2E%2E/%2e%2e/evil.txt",
        "/upload/..%2fevil.txt",
        "/upload/%2e%2e%2f%2e%2e%2fevil.txt",
        "/upload/.evil.txt",
        "/upload/a%00.txt",
    ],
)
def test_traversal_and_hidden_names_in_put_paths_write_nothing(srv, site, target):
    r = srv.request("PUT", target, b"pwned")
    assert 400 <= r.status < 500
    assert [p for p in site.rglob("*evil*")] == []
    assert entries(store(site)) == []


def test_an_upload_waiting_for_100_continue_gets_it_and_is_stored(srv, site):
    with srv.connect() as sock:
        sock.sendall(
            head("PUT", "/upload/c.txt", {"Content-Length": "5", "Expect": "100-continue"})
        )
        assert read_response(sock).status == 100
        sock.sendall(b"hello")
        assert read_response(sock).status == 201
    assert (store(site) / "c.txt").read_bytes() == b"hello"


def test_several_uploads_on_one_keep_alive_connection_are_answered_in_order(srv, site):
    with srv.connect() as sock:
        sock.sendall(
            head("PUT", "/upload/k.txt", {"Content-Length": "2"})
            + b"k1"
            + head("PUT", "/upload/k.txt", {"Content-Length": "2"})
            + b"k2"
            + head("DELETE", "/upload/k.txt", {})
            + head("DELETE", "/upload/k.txt", {})
        )
        assert [read_response(sock).status for _ in range(4)] == [201, 204, 204, 404]
    assert entries(store(site)) == []


# -- limits and atomicity -------------------------------------------------------------------


def test_an_oversize_content_length_is_413_before_the_body_is_sent(srv, site):
    with srv.connect() as sock:
        sock.sendall(
            head("PUT", "/upload/big.bin", {"Content-Length": "2000000", "Expect": "100-continue"})
        )
        r = read_response(sock)
    assert r.status == 413
    assert entries(store(site)) == []


def test_a_chunked_body_over_the_limit_is_413_midstream_and_leaves_nothing(srv, site):
    chunks = (b"z" * 32768 for _ in range(64))  # 2 MiB against a 1 MiB limit
    with srv.connect() as sock:
        send_chunked(sock, "PUT", "/upload/big.bin", chunks)
        try:
            r: HTTPResult | None = read_response(sock)
        except (ConnectionError, OSError):
            r = None
    if r is not None:
        assert r.status == 413
    assert wait_until(lambda: entries(store(site)) == [])


def test_an_upload_aborted_halfway_leaves_no_file_and_no_temp(srv, site):
    size = 400_000
    with srv.connect() as sock:
        sock.sendall(head("PUT", "/upload/half.bin", {"Content-Length": str(size)}))
        sock.sendall(b"h" * (size // 2))
        assert wait_until(lambda: temp_files(store(site)) != [])
    assert wait_until(lambda: entries(store(site)) == [])


def test_a_form_aborted_halfway_leaves_no_file_and_no_temp(srv, site):
    body = form(("first.txt", b"done"), ("second.bin", b"s" * 400_000))
    with srv.connect() as sock:
        sock.sendall(
            head("POST", "/upload/", {"Content-Length": str(len(body)), "Content-Type": FORM_TYPE})
        )
        sock.sendall(body[: len(body) // 2])
        assert wait_until(lambda: len(temp_files(store(site))) == 2)
    assert wait_until(lambda: entries(store(site)) == [])


def test_an_upload_that_times_out_midway_is_408_and_leaves_nothing(srv, site):
    with srv.connect() as sock:
        sock.sendall(head("PUT", "/slow/t.bin", {"Content-Length": "100000"}))
        sock.sendall(b"t" * 50_000)
        assert wait_until(lambda: temp_files(store(site, "slow")) != [])
        assert read_response(sock).status == 408
    assert wait_until(lambda: entries(store(site, "slow")) == [])


def test_a_get_during_a_slow_put_sees_the_old_content_until_it_completes(srv, site):
    (store(site) / "doc.txt").write_bytes(b"old content")
    new = b"n" * 200_000
    with srv.connect() as sock:
        sock.sendall(head("PUT", "/upload/doc.txt", {"Content-Length": str(len(new))}))
        sock.sendall(new[:100_000])
        assert wait_until(lambda: temp_files(store(site)) != [])
        assert srv.get("/upload/doc.txt").body == b"old content"
        sock.sendall(new[100_000:])
        assert read_response(sock).status == 204
    assert srv.get("/upload/doc.txt").body == new
    assert temp_files(store(site)) == []


def test_a_chunked_20mb_upload_is_byte_exact_with_bounded_server_memory(srv, site):
    srv.request("PUT", "/big/warmup.txt", b"warm")
    idle = srv.rss_kib()
    rng = random.Random(5)
    block = rng.randbytes(1 << 20)
    total = 20
    peak = idle

    def chunks():
        nonlocal peak
        for i in range(total):
            piece = block[i:] + block[:i]  # every MiB differs
            for off in range(0, len(piece), 32768):
                yield piece[off : off + 32768]
            peak = max(peak, srv.rss_kib())

    with srv.connect(timeout=60) as sock:
        assert send_chunked(sock, "PUT", "/big/blob.bin", chunks())
        r = read_response(sock)
    assert r.status == 201
    peak = max(peak, srv.rss_kib())
    data = (store(site, "big") / "blob.bin").read_bytes()
    assert len(data) == total << 20
    assert all(data[i << 20 : (i + 1) << 20] == block[i:] + block[:i] for i in range(total))
    assert peak - idle < 32 * 1024, f"RSS grew by {(peak - idle) // 1024} MiB"
