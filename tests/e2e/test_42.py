"""The 42 school tester's sequence, replayed against examples/42 (bodies scaled down from
100 MB to 10 MB; tests/benchmarks/bench_cgi.py runs the full size)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from framework.testing import HTTPResult, ServerProcess, read_response

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "42"
BODY_SIZE = 10 * 1000 * 1000
CHUNK = 32 * 1024


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "42"
    shutil.copytree(EXAMPLE, root)
    return root


@pytest.fixture
def srv(serve: Callable[..., ServerProcess], site: Path) -> ServerProcess:
    conf = (site / "42.conf").read_text().replace("127.0.0.1:8080", "127.0.0.1:{port}")
    return serve(conf, cwd=site)


def send(
    srv: ServerProcess,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    chunked: bool = False,
) -> HTTPResult:
    """A request as the tester sends it; a chunked body goes in 32 KiB chunks and the final
    ``0\\r\\n\\r\\n`` as a segment of its own. The body is sent from a thread while the
    response is read."""
    head = [f"{method} {target} HTTP/1.1", f"Host: localhost:{srv.port}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
    sock = srv.connect(timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write_body() -> None:
        if body is None:
            return
        try:
            if not chunked:
                sock.sendall(body)
                return
            for i in range(0, len(body), CHUNK):
                part = body[i : i + CHUNK]
                sock.sendall(b"%x\r\n%b\r\n" % (len(part), part))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass

    with sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        writer = threading.Thread(target=write_body, daemon=True)
        writer.start()
        result = read_response(sock, head_only=method == "HEAD")
        writer.join(60)
    return result


def test_the_42_tester_sequence(srv: ServerProcess, site: Path):
    # GET / only
    assert send(srv, "GET", "/").status == 200
    assert send(srv, "POST", "/", b"").status == 405
    assert send(srv, "HEAD", "/").status == 405

    # /directory/ is YoupiBanane, with youpi.bad_extension as its index
    r = send(srv, "GET", "/directory")
    assert r.status == 301 and r.header("Location", "").endswith("/directory/")
    assert send(srv, "GET", "/directory/").body == b"youpi\n"
    assert send(srv, "GET", "/directory/youpi.bad_extension").body == b"youpi\n"
    assert send(srv, "GET", "/directory/youpi.bla").status == 200  # through cgi_tester
    assert send(srv, "GET", "/directory/oulalala").status == 404
    assert send(srv, "GET", "/directory/nop/").body == b"nop youpi\n"
    assert send(srv, "GET", "/directory/nop/other.pouic").body == b"pouic\n"
    assert send(srv, "GET", "/directory/nop/other.pouic/").status == 404
    assert send(srv, "GET", "/directory/Yeah/not_happy.bad_extension").body == b"not happy\n"

    # PUT into /put_test/
    r = send(srv, "PUT", "/put_test/file_should_exist_after", b"p" * 1000)
    assert r.status in (200, 201, 204)
    assert (site / "uploads" / "file_should_exist_after").read_bytes() == b"p" * 1000
    r = send(srv, "PUT", "/put_test/file_should_exist_after", b"q" * BODY_SIZE)
    assert r.status in (200, 201, 204)
    assert (site / "uploads" / "file_should_exist_after").stat().st_size == BODY_SIZE

    # .bla through cgi_tester, chunked, big
    body = bytes(range(97, 123)) * (BODY_SIZE // 26) + b"end"
    r = send(srv, "POST", "/directory/youpi.bla", body, chunked=True)
    assert r.status == 200
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    assert r.body == body.upper()
    r = send(srv, "POST", "/directory/youpla.bla", body, chunked=True)  # no such file
    assert (r.status, len(r.body)) == (200, len(body))

    r = send(
        srv,
        "POST",
        "/directory/youpi.bla",
        b"x" * 100_000,
        {"X-Secret-Header-For-Test": "1"},
        chunked=True,
    )
    assert r.body == b"1" * 100_000

    # /post_body: at most 100 bytes
    assert send(srv, "POST", "/post_body", b"").status == 200
    assert send(srv, "POST", "/post_body", b"b" * 100, chunked=True).status == 200
    assert send(srv, "POST", "/post_body", b"b" * 101).status == 413


def test_concurrent_chunked_posts_through_cgi_tester(srv: ServerProcess):
    body = b"concurrent body " * 65536  # 1 MiB each
    results: list[HTTPResult] = []
    lock = threading.Lock()

    def one() -> None:
        r = send(srv, "POST", "/directory/youpi.bla", body, chunked=True)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 8
    assert all(r.status == 200 and r.body == body.upper() for r in results)


def test_cgi_tester_refuses_to_run_without_server_protocol(tmp_path: Path):
    done = subprocess.run(
        [str(EXAMPLE / "cgi_tester")],
        input=b"abc",
        capture_output=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode != 0 and done.stdout == b""
    done = subprocess.run(
        [str(EXAMPLE / "cgi_tester")],
        input=b"abc",
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "SERVER_PROTOCOL": "HTTP/1.1"},
    )
    assert done.stdout == b"Status: 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\nABC"
