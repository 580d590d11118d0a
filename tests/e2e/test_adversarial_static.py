"""An attacker's tour of static serving over raw sockets: traversal, symlinks, hostile file
names in listings, Range and conditional edge cases, HEAD parity, redirects, split requests."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator

import pytest

from framework.testing import HTTPResult, ServerProcess, read_response

SECRET = b"TOP-SECRET-CONTENT"

CONFIG = r"""
server {
    listen 127.0.0.1:{port};
    server_name main.test;
    root site/www;
    location / { autoindex on; allow_methods GET HEAD DELETE; }
    location /noindex/ { }
    location /files { alias site/www/sub/; }
    location /go { return 302 /landing/$uri; }
    location /uri { return 301 $request_uri; }
    location /cycle/ { index /cycle/; }
}
server {
    listen 127.0.0.1:{port};
    server_name other.test;
    return 200 "other";
}
"""

HOSTILE_NAMES = [
    b"<script>alert(1)<",
    b'quo"te',
    b"sp ace",
    b"100%",
    b"new\nline",
    b"\xff\xfe.txt",
    b"javascript:alert(1)",
    b"amp&lt;",
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("adversarial")
    site = base / "site"
    www = site / "www"
    for d in ("sub", "list", "dir", "idx-out", "noindex/plain", "cycle"):
        (www / d).mkdir(parents=True)
    (www / "index.html").write_text("home")
    (www / "sub" / "b.txt").write_text("bee")
    (www / "ten.txt").write_bytes(b"0123456789")
    (www / "empty.txt").write_bytes(b"")
    (site / "secret.txt").write_bytes(SECRET)
    (site / "leakdir").mkdir()
    (site / "leakdir" / "secret.txt").write_bytes(SECRET)
    (site / "www-evil").mkdir()
    (site / "www-evil" / "secret.txt").write_bytes(SECRET)
    os.symlink("../secret.txt", www / "out-file")
    os.symlink(site / "secret.txt", www / "out-file-abs")
    os.symlink("../leakdir", www / "out-dir")
    os.symlink("../www-evil", www / "sibling")
    os.symlink("sub/b.txt", www / "in-file")
    os.symlink("sub", www / "in-dir")
    os.symlink("../../secret.txt", www / "idx-out" / "index.html")
    os.symlink("loop-b", www / "loop-a")
    os.symlink("loop-a", www / "loop-b")
    os.symlink("nowhere", www / "dangling")
    os.mkfifo(www / "fifo")
    listing = os.fsencode(www / "list")
    for name in HOSTILE_NAMES:
        with open(os.path.join(listing, name), "wb") as f:
            f.write(b"z")
    (www / "list" / ".hidden").write_text("h")
    os.symlink("../../secret.txt", www / "list" / "leaky")
    with ServerProcess(CONFIG, cwd=base) as server:
        yield server


def send(srv: ServerProcess, raw: bytes, *, head: bool = False) -> HTTPResult:
    with srv.connect() as sock:
        sock.sendall(raw)
        return read_response(sock, head_only=head)


def get(srv: ServerProcess, target: str, *headers: str, method: str = "GET") -> HTTPResult:
    lines = [f"{method} {target} HTTP/1.1", "Host: main.test", "Connection: close", *headers]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return send(srv, raw, head=method == "HEAD")


# -- traversal and symlinks ---------------------------------------------------------------------

ATTACKS = [
    "/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
    "/sub/%2e%2e%2f..%2fsecret.txt",
    "/%252e%252e/secret.txt",
    "/%5c..%5csecret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%afsecret.txt",
    "/..;/secret.txt",
    "//../secret.txt",
    "//etc/passwd",
    "/./.././secret.txt",
    "/sub/./../../secret.txt",
    "/out-file",
    "/out-file-abs",
    "/out-dir/secret.txt",
    "/out-dir/",
    "/sibling/secret.txt",
    "/idx-out/index.html",
    "/files../secret.txt",
    "/files../leakdir/secret.txt",
    "/files/../../secret.txt",
    "/files/..%2f..%2fsecret.txt",
    "/list/leaky",
    "http://evil/../secret.txt",
    "http://evil/%2e%2e/secret.txt",
    "/secret.txt%00.html",
    "/%00../secret.txt",
]


@pytest.mark.parametrize("target", ATTACKS)
def test_no_target_ever_reads_a_file_outside_the_root(srv, target):
    for method in ("GET", "HEAD", "DELETE"):
        r = get(srv, target, method=method)
        assert r.status in (400, 403, 404, 405), (method, r.status)
        assert SECRET not in r.body


def test_attacks_deleted_nothing(srv):
    base = srv.cwd / "site"
    assert (base / "secret.txt").read_bytes() == SECRET
    assert (base / "leakdir" / "secret.txt").read_bytes() == SECRET
    assert (base / "www-evil" / "secret.txt").read_bytes() == SECRET


def test_symlinks_inside_the_root_are_served(srv):
    assert get(srv, "/in-file").body == b"bee"
    assert get(srv, "/in-dir/b.txt").body == b"bee"
    assert get(srv, "/files/b.txt").body == b"bee"


def test_an_index_that_is_a_symlink_out_of_the_root_is_not_used(srv):
    r = get(srv, "/idx-out/")
    assert r.status in (403, 404) or b"Index of" in r.body
    assert SECRET not in r.body


@pytest.mark.parametrize(
    "target",
    ["/" + "a" * 5000, "/" + "a/" * 2000, "/loop-a", "/loop-a/x", "/dangling", "/ten.txt/",
     "/ten.txt/x", "/fifo", "/fifo/", "/%ff%fe", "/ten.txt;.jpg", "/TEN.TXT"],
)  # fmt: skip
def test_odd_filesystem_targets_fail_cleanly_and_the_server_stays_up(srv, target):
    r = get(srv, target)
    assert r.status in (403, 404)
    assert r.header("content-length") == str(len(r.body))
    assert get(srv, "/ten.txt").body == b"0123456789"


def test_an_index_that_redirects_to_itself_is_cut_off_and_the_server_survives(srv):
    r = get(srv, "/cycle/")
    assert r.status == 500
    assert get(srv, "/ten.txt").status == 200


# -- autoindex with hostile names ---------------------------------------------------------------


def test_listing_escapes_hostile_names_and_hides_what_it_must(srv):
    r = get(srv, "/list/")
    assert r.status == 200
    page = r.body
    assert b"<script" not in page
    assert b'href="javascript:' not in page
    assert b"javascript%3Aalert%281%29" in page
    assert b"&lt;script&gt;" in page
    assert b"quo&quot;te" in page
    assert b"amp&amp;lt;" in page
    assert b".hidden" not in page
    assert b"leaky" not in page  # a symlink out of the root is not listed (size would leak)
    hrefs = re.findall(rb'href="([^"]*)"', page)
    assert all(re.fullmatch(rb"[A-Za-z0-9%._~/-]*", h) for h in hrefs), hrefs


def test_every_listed_link_fetches_its_file(srv):
    page = get(srv, "/list/").body
    hrefs = [h.decode() for h in re.findall(rb'href="([^"]*)"', page) if h != b"../"]
    assert len(hrefs) == len(HOSTILE_NAMES)
    for href in hrefs:
        r = get(srv, "/list/" + href)
        if "%0A" in href:  # a decoded control byte is refused in any target
            assert r.status == 400
        else:
            assert (r.status, r.body) == (200, b"z"), href


def test_head_of_a_listing_has_the_get_content_length_and_no_body(srv):
    got, head = get(srv, "/list/"), get(srv, "/list/", method="HEAD")
    assert head.status == 200
    assert head.header("content-length") == got.header("content-length") == str(len(got.body))


# -- HEAD parity --------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/ten.txt", "/empty.txt", "/dir", "/missing", "/go/x", "/"])
def test_head_sends_exactly_the_get_headers_and_no_body(srv, target):
    got = get(srv, target)
    with srv.connect() as sock:
        sock.sendall(
            f"HEAD {target} HTTP/1.1\r\nHost: main.test\r\n\r\n"
            f"GET /ten.txt HTTP/1.1\r\nHost: main.test\r\nConnection: close\r\n\r\n".encode()
        )
        head = read_response(sock, head_only=True)
        after = read_response(sock)  # a HEAD body would corrupt this one
    assert head.status == got.status
    assert head.header("content-length") == got.header("content-length")
    assert head.header("content-type") == got.header("content-type")
    assert (after.status, after.body) == (200, b"0123456789")


# -- Range and conditional requests -------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "range_", "status", "content_range", "body"),
    [
        ("/ten.txt", "bytes=-0", 416, "bytes */10", None),
        ("/ten.txt", "bytes=5-2", 200, None, b"0123456789"),
        ("/ten.txt", "bytes=3-" + "9" * 30, 206, "bytes 3-9/10", b"3456789"),
        ("/ten.txt", "bytes=" + "9" * 30 + "-", 416, "bytes */10", None),
        ("/ten.txt", "bytes=-" + "9" * 30, 206, "bytes 0-9/10", b"0123456789"),
        ("/ten.txt", "bytes=" + ",".join(["0-0"] * 200), 200, None, b"0123456789"),
        ("/ten.txt", "bytes=9-", 206, "bytes 9-9/10", b"9"),
        ("/ten.txt", "lines=1-2", 200, None, b"0123456789"),
        ("/empty.txt", "bytes=0-", 416, "bytes */0", None),
    ],
)
def test_range_edge_cases_over_the_wire(srv, target, range_, status, content_range, body):
    r = get(srv, target, f"Range: {range_}")
    assert r.status == status
    assert r.header("content-range") == content_range
    assert r.header("content-length") == str(len(r.body))
    if body is not None:
        assert r.body == body


def test_conditional_requests_over_the_wire(srv):
    first = get(srv, "/ten.txt")
    etag, modified = first.header("etag"), first.header("last-modified")
    assert etag and modified
    for header in (
        "If-None-Match: *",
        f"If-None-Match: W/{etag}",
        f'If-None-Match: "nope", {etag}',
        f"If-Modified-Since: {modified}",
    ):
        r = get(srv, "/ten.txt", header)
        assert (r.status, r.body) == (304, b""), header
        assert r.header("etag") == etag
    for header in ("If-Modified-Since: garbage", "If-Modified-Since: Thu, 32 Jan 1970 0:0:0 GMT"):
        assert get(srv, "/ten.txt", header).status == 200
    assert get(srv, "/ten.txt", f"If-Match: W/{etag}").status == 412
    assert get(srv, "/ten.txt", f"If-Range: W/{etag}", "Range: bytes=0-1").status == 200
    assert get(srv, "/ten.txt", f"If-Range: {etag}", "Range: bytes=0-1").body == b"01"


# -- redirects ----------------------------------------------------------------------------------


REDIRECT_PROBES = [
    "/dir",
    "//dir",
    "///dir",
    "/%2F%2Fevil",
    "//evil/..",
    "//evil/../dir",
    "/\\evil",
    "/%5Cevil",
    "/go",
    "/go//evil",
    "/uri//evil.example/%2e%2e",
    "/uri/%0d%0aX:y",
    "/uri?%0d%0aSet-Cookie:x=1",
    "/files",
    "/noindex",
    "/noindex/plain",
    "http://evil//dir",
    "http://evil.example/uri/x?y",
    "https://evil.example//uri",
    "http://evil.example",
]


@pytest.mark.parametrize("target", REDIRECT_PROBES)
def test_location_is_never_protocol_relative_nor_split(srv, target):
    r = get(srv, target)
    location = r.header("location")
    if location is None:
        return
    # an absolute-form target names the host itself (RFC 9112 3.2.2); otherwise Host counts
    host = target.split("/")[2] if "://" in target else "main.test"
    assert location.startswith(f"http://{host}:"), location
    path = location.split("/", 3)[3] if location.count("/") >= 3 else ""
    assert not path.startswith(("/", "\\")), location
    assert "\r" not in location and "\n" not in location
    assert not any(name.lower() in ("x", "set-cookie") for name, _ in r.headers)


def test_directory_redirect_keeps_the_query_and_uses_a_safe_host(srv):
    r = get(srv, "/dir?a=1&b=%2F")
    assert r.status == 301
    assert r.header("location") == f"http://main.test:{srv.port}/dir/?a=1&b=%2F"
    raw = b"GET /dir HTTP/1.1\r\nHost: evil.test@x\r\nConnection: close\r\n\r\n"
    r = send(srv, raw)
    assert r.status == 400 or "@" not in (r.header("location") or "")


# -- request framing ----------------------------------------------------------------------------


def test_a_request_sent_one_byte_at_a_time_is_answered(srv):
    raw = b"GET /in-dir/b.txt HTTP/1.1\r\nHost: main.test\r\nConnection: close\r\n\r\n"
    with srv.connect() as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(raw)):
            sock.send(raw[i : i + 1])
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"bee")


def _pipelined_good_then_bad(srv: ServerProcess) -> tuple[HTTPResult, HTTPResult | None]:
    raw = (
        b"GET /ten.txt HTTP/1.1\r\nHost: main.test\r\n\r\n"
        b"GET /%2e%2e/secret.txt HTTP/1.1\r\nHost: main.test\r\n\r\n"
    )
    with srv.connect() as sock:
        sock.sendall(raw)
        first = read_response(sock)
        try:
            second: HTTPResult | None = read_response(sock)
        except ConnectionError:
            second = None
    return first, second


def test_a_bad_target_pipelined_after_a_good_one_never_leaks_and_the_first_is_answered(srv):
    first, second = _pipelined_good_then_bad(srv)
    assert (first.status, first.body) == (200, b"0123456789")
    assert second is None or (second.status == 400 and SECRET not in second.body)


def test_a_bad_target_pipelined_after_a_good_one_gets_its_400_after_the_first(srv):
    first, second = _pipelined_good_then_bad(srv)
    assert first.status == 200
    assert second is not None and second.status == 400


# -- virtual hosts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [("other.test", b"other"), ("OTHER.TEST", b"other"), ("other.test.", b"other"),
     ("other.test:1", b"other"), ("main.test", b"home")],
)  # fmt: skip
def test_host_matching_ignores_case_port_and_one_final_dot(srv, host, expected):
    raw = f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    assert send(srv, raw).body == expected


def test_an_absolute_form_target_selects_the_server_by_its_authority(srv):
    raw = b"GET http://other.test/ HTTP/1.1\r\nHost: main.test\r\nConnection: close\r\n\r\n"
    assert send(srv, raw).body == b"other"
