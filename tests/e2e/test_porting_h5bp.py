"""Porting h5bp's server-configs-nginx (the best-known nginx config set) to webserv.

``h5bp/`` is a copy of the project set up as its README says for a site without TLS
(SOURCE.md). It must validate with only the warnings that still apply, and, run unchanged
but for paths and ports by webserv and by the real nginx, both must answer the same: the
security headers built from ``map $sent_http_content_type``, cache headers from
``expires $expires``, compression, the dotfile and backup-file denials, the error page,
the www redirect and the 444 of the catch-all server."""

from __future__ import annotations

import gzip
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_reference import NGINX, requires_nginx, wait_port

from framework.config.build import load_config
from framework.testing import HTTPResult, ServerProcess, free_port, read_response

H5BP = Path(__file__).parents[1] / "porting" / "h5bp"

# (file, line, message start) of every diagnostic: nginx-only tuning webserv does not need,
# the log format it does not write, and the socket option it ignores
EXPECTED = [
    ("nginx.conf", 21, '"worker_rlimit_nofile" is an nginx directive that webserv does not need'),
    ("nginx.conf", 26, '"events" is an nginx directive that webserv does not need'),
    ("nginx.conf", 68, '"log_format" is an nginx directive that webserv ignores'),
    ("nginx.conf", 76, 'log format "main" (an nginx log_format) is not supported'),
    ("nginx.conf", 91, '"sendfile" is an nginx directive that webserv does not need'),
    ("nginx.conf", 97, '"tcp_nopush" is an nginx directive that webserv does not need'),
    ("conf.d/no-ssl.default.conf", 19, '"deferred" parameter of "listen" is ignored'),
    ("conf.d/no-ssl.default.conf", 20, '"deferred" parameter of "listen" is ignored'),
]


def test_h5bp_validates_with_only_the_warnings_that_still_apply() -> None:
    result = load_config(H5BP / "nginx.conf", check_fs=False, env={})
    assert result.config is not None, [d.message for d in result.errors]
    found = sorted(
        (str(Path(d.span.file).relative_to(H5BP)) if d.span.file.startswith("/") else d.span.file,
         d.span.line, d.message)
        for d in result.diagnostics
    )  # fmt: skip
    assert [d.severity for d in result.diagnostics] == ["warning"] * len(EXPECTED)
    assert len(found) == len(EXPECTED)
    for (file, line, message), want in zip(found, sorted(EXPECTED), strict=True):
        assert (file, line) == want[:2] and message.startswith(want[2]), (file, line, message)


SITE = {
    "index.html": "<!doctype html><title>h5bp</title>" + "<p>hello</p>" * 60,
    "404.html": "<!doctype html><title>Not found</title>",
    "style.css": "body { color: #222; }\n" * 80,
    "app.js": "console.log('hi');\n" * 40,
    "data.json": '{"a": 1}',
    "icon.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
    "font.woff2": "wOF2" + "x" * 100,
    "backup.bak": "secret",
    ".git/config": "[core]",
    ".well-known/security.txt": "Contact: x",
}


def _deploy(target: Path, port: int) -> Path:
    """h5bp's tree with its paths and ports pointed at ``target`` and ``port``."""
    shutil.copytree(H5BP, target)
    public = target / "public"
    for name, text in SITE.items():
        (public / name).parent.mkdir(parents=True, exist_ok=True)
        (public / name).write_text(text)
    main = (target / "nginx.conf").read_text()
    main = main.replace("user www-data;", "").replace(
        "worker_processes auto;", "worker_processes 1;"
    )
    main = main.replace("/var/log/nginx/", f"{target}/").replace("/var/run/", f"{target}/")
    (target / "nginx.conf").write_text(main)
    for conf in (target / "conf.d").glob("*.conf"):
        text = conf.read_text().replace("/var/www/example.com/public", str(public))
        text = text.replace("listen [::]:80", "# listen [::]:80")
        text = text.replace("listen 80", f"listen 127.0.0.1:{port}")
        conf.write_text(text)
    return target


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    port = free_port()
    tree = _deploy(tmp_path_factory.mktemp("h5bp") / "ours", port)
    with ServerProcess(config_path=tree / "nginx.conf", cwd=tree, port=port) as srv:
        yield srv


@pytest.fixture(scope="module")
def ngx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if NGINX is None:
        pytest.skip("nginx is not installed")
    port = free_port()
    tree = _deploy(tmp_path_factory.mktemp("h5bp") / "ngx", port)
    proc = subprocess.Popen(
        [NGINX, "-p", str(tree), "-c", str(tree / "nginx.conf"), "-e", str(tree / "error.log"),
         "-g", "daemon off; master_process off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_port(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _get(
    port: int, path: str, host: str = "example.com", gzip_ok: bool = True
) -> HTTPResult | None:
    """The answer, or None when the server closed the connection without one (444)."""
    extra = "Accept-Encoding: gzip\r\n" if gzip_ok else ""
    raw = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw.encode())
        try:
            return read_response(sock)
        except (ConnectionError, ValueError, EOFError):
            return None


COMPARED = (
    "content-type", "content-encoding", "vary", "location", "cache-control",
    "x-frame-options", "content-security-policy", "permissions-policy", "referrer-policy",
    "x-content-type-options", "cross-origin-embedder-policy", "cross-origin-opener-policy",
    "cross-origin-resource-policy", "access-control-allow-origin",
)  # fmt: skip


def _view(result: HTTPResult | None) -> dict[str, object] | None:
    if result is None:
        return None
    headers: dict[str, object] = {name: result.header(name) for name in COMPARED}
    headers["status"] = result.status
    headers["has-expires"] = result.header("expires") is not None
    body = result.body
    if result.header("content-encoding") == "gzip":
        body = gzip.decompress(body)
    headers["body"] = body if result.status == 200 else None
    return headers


@requires_nginx
@pytest.mark.parametrize(
    ("path", "host"),
    [
        ("/", "example.com"),
        ("/style.css", "example.com"),
        ("/app.js", "example.com"),
        ("/data.json", "example.com"),
        ("/icon.svg", "example.com"),
        ("/font.woff2", "example.com"),
        ("/missing", "example.com"),
        ("/backup.bak", "example.com"),
        ("/.git/config", "example.com"),
        ("/.well-known/security.txt", "example.com"),
        ("/a?b=1", "www.example.com"),
        ("/", "unknown.test"),
    ],
)
def test_h5bp_answers_like_nginx(ngx: int, ours: ServerProcess, path: str, host: str) -> None:
    want = _view(_get(ngx, path, host))
    got = _view(_get(ours.port, path, host))
    if want is not None and want.get("location"):
        want["location"] = str(want["location"]).replace(str(ngx), "PORT")
        assert got is not None
        got["location"] = str(got["location"]).replace(str(ours.port), "PORT")
    assert got == want
