"""Path traversal over raw sockets: no request ever returns a file outside root/alias."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from framework.testing import ServerProcess, read_response

SECRET = b"TOP-SECRET-CONTENT"

CONFIG = r"""
server {
    listen 127.0.0.1:{port};
    root site/www;
    location / { autoindex on; }
    location /files { alias site/data/; autoindex on; }
}
"""

ATTACKS = [
    "/../secret.txt",
    "/../../../../etc/passwd",
    "/%2e%2e/secret.txt",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/.%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/sub/..%2f..%2fsecret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt",
    "/%252e%252e/secret.txt",
    "/..%5csecret.txt",
    "/..\\secret.txt",
    "/sub\\..\\..\\secret.txt",
    "/secret.txt%00.html",
    "/%00/../secret.txt",
    "//../secret.txt",
    "/./../secret.txt",
    "/leak.txt",
    "/leakdir/secret.txt",
    "/leakdir/",
    "/files../secret.txt",
    "/files../www/../secret.txt",
    "/files/../secret.txt",
    "/files/..%2fsecret.txt",
    "/files%2f..%2fsecret.txt",
    "http://host/../secret.txt",
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("traversal")
    site = base / "site"
    (site / "www" / "sub").mkdir(parents=True)
    (site / "data").mkdir()
    (site / "www" / "index.html").write_text("home")
    (site / "data" / "ok.txt").write_text("ok")
    (site / "secret.txt").write_bytes(SECRET)
    (site / "leakdir").mkdir()
    (site / "leakdir" / "secret.txt").write_bytes(SECRET)
    os.symlink(site / "secret.txt", site / "www" / "leak.txt")
    os.symlink(site / "leakdir", site / "www" / "leakdir")
    with ServerProcess(CONFIG, cwd=base) as server:
        yield server


def raw_get(srv: ServerProcess, target: str) -> tuple[int, bytes]:
    with srv.connect() as sock:
        request = f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode("latin-1"))
        r = read_response(sock)
        return r.status, r.body


def test_the_server_serves_what_is_inside(srv):
    assert raw_get(srv, "/index.html") == (200, b"home")
    assert raw_get(srv, "/files/ok.txt") == (200, b"ok")


@pytest.mark.parametrize("target", ATTACKS)
def test_traversal_attempt_never_returns_a_file_outside_the_root(srv, target):
    status, body = raw_get(srv, target)
    assert SECRET not in body
    assert b"root:" not in body
    assert b"secret.txt" not in body  # not even listed
    assert status in (301, 400, 403, 404), (target, status)


def test_symlinked_directory_out_of_the_root_is_not_listed(srv):
    status, body = raw_get(srv, "/leakdir/")
    assert status == 404
    assert b"secret" not in body


def test_following_a_symlink_out_of_the_root_fails_even_though_the_name_exists(srv):
    assert raw_get(srv, "/leak.txt")[0] == 404
    assert raw_get(srv, "/leakdir/secret.txt")[0] == 404
