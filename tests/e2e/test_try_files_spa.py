"""try_files end to end: a single-page app's fallback, ``=404``, ``$uri/`` directories,
server-level try_files (not inherited), redirect cycles, captures -- differential against
real nginx on the same tree -- and a directory swapped for a symlink to outside while
requests run (no outside byte is ever served)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import NGINX, nginx_reference

from framework.testing import HTTPResult, ServerProcess, parse_response, read_until_close

LOCATIONS = r"""
    try_files $uri /index.html;
    location /app/ { try_files $uri $uri/ /index.html; }
    location /api/ { try_files $uri =404; }
    location /loop/ { try_files $uri /loop/missing.html; }
    location ~ ^/v/(?<name>\w+)$ { try_files /pages/$name.html /pages/$1.txt =404; }
    location /race/ { try_files $uri /index.html; }
"""
OURS = "server { listen 127.0.0.1:{port}; root www;\n" + LOCATIONS + "}\n"
SECRET = b"SECRET\n" * 20


def nginx_servers(www: Path) -> str:
    return (
        f"include /etc/nginx/mime.types; default_type application/octet-stream;\n"
        f"server {{ listen 127.0.0.1:PORT; root {www};\n{LOCATIONS}}}\n"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int, int | None]]:
    base = tmp_path_factory.mktemp("try-files")
    www = base / "www"
    for directory in ("app/assets", "app/with-index", "api", "pages", "race/d", "loop"):
        (www / directory).mkdir(parents=True)
    (www / "index.html").write_text("<!doctype html><title>spa</title>\n")
    (www / "app" / "style.css").write_text("body{}\n")
    (www / "app" / "with-index" / "index.html").write_text("inner index\n")
    (www / "api" / "data.txt").write_text("data\n")
    (www / "pages" / "about.html").write_text("about\n")
    (www / "pages" / "notes.txt").write_text("notes\n")
    (www / "race" / "d" / "f.txt").write_bytes(b"inside\n" * 20)
    outside = base / "outside"
    outside.mkdir()
    (outside / "f.txt").write_bytes(SECRET)
    (www / "app" / "leak.css").symlink_to(outside / "f.txt")
    (www / "app" / "leakdir").symlink_to(outside)
    with ServerProcess(OURS, cwd=base) as ours:
        if NGINX is None:
            yield base, ours.port, None
        else:
            with nginx_reference(base, nginx_servers(www)) as nginx_port:
                yield base, ours.port, nginx_port


def ask(port: int, target: str, method: str = "GET") -> HTTPResult:
    raw = f"{method} {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw.encode("latin-1"))
        data = read_until_close(sock)
    return parse_response(data, head_only=method == "HEAD")[0]


TARGETS = [
    ("/", 200),
    ("/deep/client/route", 200),  # server-level try_files: where no location matches
    ("/app/style.css", 200),
    ("/app/unknown/route?x=1", 200),  # the SPA fallback
    ("/app/assets", 301),  # $uri/ found a directory: the static handler adds the slash
    ("/app/assets/", 403),  # a directory without index
    ("/app/with-index/", 200),
    ("/app/with-index", 301),
    ("/api/data.txt", 200),
    ("/api/missing", 404),  # =404, and the server's try_files is not inherited
    ("/loop/x", 500),  # the fallback redirects into itself: a cycle
    ("/v/about", 200),  # named capture
    ("/v/notes", 200),  # numbered capture, second candidate
    ("/v/none", 404),
]


def _comparable(result: HTTPResult) -> dict[str, object]:
    out: dict[str, object] = {
        "status": result.status,
        "location": result.header("Location"),
        "content-type": result.header("Content-Type"),
    }
    if result.status == 200:
        out["body"] = result.body
        out["content-length"] = result.header("Content-Length")
    return out


@pytest.mark.parametrize(("target", "status"), TARGETS)
def test_answers(site, target: str, status: int) -> None:
    _, port, _ = site
    result = ask(port, target)
    assert result.status == status, result


def test_spa_fallback_serves_the_index_with_its_type(site) -> None:
    _, port, _ = site
    result = ask(port, "/app/unknown/route")
    assert result.body == b"<!doctype html><title>spa</title>\n"
    assert result.header("Content-Type") == "text/html"
    head = ask(port, "/app/unknown/route", "HEAD")
    assert head.status == 200 and head.body == b""
    assert head.header("Content-Length") == str(len(result.body))


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("target", "status"), TARGETS)
def test_same_answer_as_nginx(site, target: str, status: int, method: str) -> None:
    _, port, nginx_port = site
    ours, theirs = ask(port, target, method), ask(nginx_port, target, method)
    expected = _comparable(theirs)
    if expected.get("location"):  # same URL up to the port each one listens on
        expected["location"] = str(expected["location"]).replace(str(nginx_port), str(port))
    assert _comparable(ours) == expected


@pytest.mark.parametrize("target", ["/app/leak.css", "/app/leakdir", "/app/leakdir/f.txt"])
def test_a_symlink_out_of_the_root_is_not_a_candidate(site, target: str) -> None:
    _, port, _ = site  # (nginx, without disable_symlinks, would serve the outside file)
    result = ask(port, target)
    assert (result.status, result.body) == (200, b"<!doctype html><title>spa</title>\n")


def test_a_directory_swapped_for_a_symlink_never_serves_outside_bytes(site) -> None:
    base, port, _ = site
    real = base / "www" / "race" / "d"
    hidden = base / "www" / "race" / "d.real"
    stop = threading.Event()
    swaps = [0]

    def swapper() -> None:
        while not stop.is_set() or swaps[0] < 2:
            os.rename(real, hidden)
            os.symlink(base / "outside", real)
            os.unlink(real)
            os.rename(hidden, real)
            swaps[0] += 1

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    bodies: dict[bytes, int] = {}
    try:
        for _ in range(150):
            result = ask(port, "/race/d/f.txt")
            # 404: the file was there when try_files looked and gone when static opened it
            assert result.status in (200, 404)
            if result.status == 200:
                bodies[result.body] = bodies.get(result.body, 0) + 1
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and swaps[0] >= 2
    assert not any(b"SECRET" in body for body in bodies)
    # each answer is the inside file, or the SPA fallback when the symlink was in place
    assert set(bodies) <= {b"inside\n" * 20, b"<!doctype html><title>spa</title>\n"}
    assert ask(port, "/race/d/f.txt").body == b"inside\n" * 20  # the directory is back
