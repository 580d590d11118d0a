"""allow/deny and auth_basic over real sockets, side by side with nginx where nginx has the
directive: rule order on 127.0.0.1 and ::1, the 401 challenge, every hash type (htpasswd
entries made with passlib and bcrypt here), nested ``auth_basic off``, malformed
Authorization headers, a user file that disappears. Then webserv's own: the user in the
access logs (combined and JSON), CGI ``REMOTE_USER``/``AUTH_TYPE``, a user file re-read
when it changes. One webserv and one nginx for the whole module."""

from __future__ import annotations

import base64
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from nginx_reference import nginx_reference, requires_nginx
from passlib.hash import (
    apr_md5_crypt,
    ldap_salted_sha1,
    ldap_sha1,
    md5_crypt,
    sha256_crypt,
    sha512_crypt,
)

from framework.testing import HTTPResult, ServerProcess, read_response, wait_until

HASHERS = {
    "b2y": lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(5)).decode().replace("2b", "2y", 1),
    "b2b": lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(5)).decode(),
    "b2a": lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(5, b"2a")).decode(),
    "sha256": lambda pw: sha256_crypt.using(rounds=5000).hash(pw),
    "sha512": lambda pw: sha512_crypt.using(rounds=5000).hash(pw),
    "apr1": lambda pw: apr_md5_crypt.hash(pw),
    "md5": lambda pw: md5_crypt.hash(pw),
    "sha": lambda pw: ldap_sha1.hash(pw),
    "ssha": lambda pw: ldap_salted_sha1.hash(pw),
    "plain": lambda pw: "{PLAIN}" + pw,
}

# the locations both servers get (ROOT: the site directory)
LOCATIONS = """
    root ROOT;
    location /order/ { deny 127.0.0.1; allow 127.0.0.0/8; deny all; }
    location /only4/ { allow 127.0.0.1; deny all; }
    location /no6/ { deny ::1; allow all; }
    location /families/ { allow ::/0; deny 127.0.0.0/8; }
    location /hostbits/ { deny 127.0.0.5/24; }
    location /auth/ {
        auth_basic "Staff only";
        auth_basic_user_file htpasswd;
        location /auth/open/ { auth_basic off; }
        NESTED
    }
    location /both/ { deny all; auth_basic "x"; auth_basic_user_file htpasswd; }
    location /vanishing/ { auth_basic "x"; auth_basic_user_file vanishing; }
"""
# webserv only: logs and CGI (NESTED goes inside /auth/)
NESTED = """
        location /auth/cgi/ { cgi .sh; }
        location /auth/json/ { access_log logs/access.json json; }
"""
EXTRA = """
    access_log logs/access.log;
    location /mapped/ {
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Forwarded-For;
        deny 192.0.2.1;
        allow all;
    }
    location /reload/ { auth_basic "r"; auth_basic_user_file reload; }
"""
CGI = (
    '#!/bin/sh\nprintf \'Content-Type: text/plain\\r\\n\\r\\n%s|%s\' "$REMOTE_USER" "$AUTH_TYPE"\n'
)


def _site(base: Path) -> None:
    names = "order only4 no6 families hostbits auth auth/open both vanishing auth/cgi auth/json"
    for name in [*names.split(), "reload", "mapped"]:
        (base / "www" / name).mkdir(parents=True, exist_ok=True)
        (base / "www" / name / "index.html").write_text(f"{name}\n")
    (base / "logs").mkdir()
    script = base / "www" / "auth" / "cgi" / "env.sh"
    script.write_text(CGI)
    script.chmod(0o755)
    lines = [f"{user}:{hasher('pw-' + user)}" for user, hasher in HASHERS.items()]
    (base / "htpasswd").write_text("# test-only users\n" + "\n".join(lines) + "\n")
    for name in ("vanishing", "reload"):
        (base / name).write_text("x:{PLAIN}x\n")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("access")
    _site(base)
    return base


@pytest.fixture(scope="module")
def ours(base: Path) -> Iterator[ServerProcess]:
    locations = LOCATIONS.replace("ROOT", "www").replace("NESTED", NESTED)
    config = f"server {{ listen 127.0.0.1:{{port}}; listen [::1]:{{port}};\n{locations}{EXTRA}}}\n"
    with ServerProcess(config, cwd=base) as srv:
        yield srv


@pytest.fixture(scope="module")
def ngx(base: Path) -> Iterator[int]:
    locations = LOCATIONS.replace("ROOT", str(base / "www")).replace("NESTED", "")
    servers = f"server {{ listen 127.0.0.1:PORT; listen [::1]:PORT;\n{locations}}}"
    with nginx_reference(base, servers) as port:
        yield port


def _ask(
    port: int, path: str, *, host: str = "127.0.0.1", auth: str | None = None, extra: str = ""
) -> HTTPResult:
    if auth is not None:
        extra += f"Authorization: {auth}\r\n"
    raw = f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect((host, port))
        sock.sendall(raw.encode("latin-1"))
        return read_response(sock)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _same(ngx: int, ours: ServerProcess, path: str, **kw: str) -> HTTPResult:
    want, got = _ask(ngx, path, **kw), _ask(ours.port, path, **kw)
    assert got.status == want.status, (path, kw)
    assert got.header("www-authenticate") == want.header("www-authenticate")
    if want.status == 200:
        assert got.body == want.body
    return got


# -- side by side with nginx ------------------------------------------------------------------

ORDER = [
    ("/order/", "127.0.0.1", 403),
    ("/order/", "::1", 403),
    ("/only4/", "127.0.0.1", 200),
    ("/only4/", "::1", 403),
    ("/no6/", "127.0.0.1", 200),
    ("/no6/", "::1", 403),
    ("/families/", "127.0.0.1", 403),
    ("/families/", "::1", 200),
    ("/hostbits/", "127.0.0.1", 403),  # host bits cleared: the rule is 127.0.0.0/24
]


@requires_nginx
@pytest.mark.parametrize(("path", "host", "status"), ORDER)
def test_allow_deny_order_matches_nginx(ngx, ours, path, host, status):
    assert _same(ngx, ours, path, host=host).status == status


@requires_nginx
def test_the_401_challenge_matches_nginx(ngx, ours):
    got = _same(ngx, ours, "/auth/")
    assert got.status == 401
    assert got.header("www-authenticate") == 'Basic realm="Staff only"'
    assert b"401" in got.body and got.header("content-type") == "text/html"


@requires_nginx
@pytest.mark.parametrize("user", list(HASHERS))
def test_each_hash_type_is_accepted_like_nginx(ngx, ours, user):
    assert _same(ngx, ours, "/auth/", auth=_basic(user, f"pw-{user}")).status == 200
    assert _same(ngx, ours, "/auth/", auth=_basic(user, "wrong")).status == 401


@requires_nginx
@pytest.mark.parametrize(
    "auth",
    [
        "basic   " + base64.b64encode(b"plain:pw-plain").decode(),
        "Basic " + base64.b64encode(b"plain:pw-plain").decode().rstrip("="),
        "Basic !!!",
        "Basic",
        "Bearer abc",
        "Basic " + base64.b64encode(b":pw").decode(),
        "Basic " + base64.b64encode(b"plain").decode(),
        _basic("nobody", "pw"),
    ],
)
def test_malformed_or_unknown_credentials_answer_like_nginx(ngx, ours, auth):
    _same(ngx, ours, "/auth/", auth=auth)


@requires_nginx
def test_nested_auth_basic_off_and_deny_before_auth_match_nginx(ngx, ours):
    assert _same(ngx, ours, "/auth/open/").status == 200
    assert _same(ngx, ours, "/both/").status == 403
    assert _same(ngx, ours, "/both/", auth=_basic("plain", "pw-plain")).status == 403


@requires_nginx
def test_a_user_file_that_disappears_is_403_like_nginx(ngx, ours, base):
    assert _same(ngx, ours, "/vanishing/", auth=_basic("x", "x")).status == 200
    (base / "vanishing").unlink()
    try:
        assert _same(ngx, ours, "/vanishing/", auth=_basic("x", "x")).status == 403
        assert ours.wait_for_log(r'open\(\) ".*vanishing" failed \(2: No such file')
    finally:
        (base / "vanishing").write_text("x:{PLAIN}x\n")


# -- webserv's own -----------------------------------------------------------------------------


def test_the_access_logs_show_the_accepted_user(ours, base):
    assert _ask(ours.port, "/auth/", auth=_basic("sha512", "pw-sha512")).status == 200
    assert _ask(ours.port, "/auth/", auth=_basic("sha512", "wrong")).status == 401
    assert _ask(ours.port, "/auth/json/", auth=_basic("apr1", "pw-apr1")).status == 200
    log = base / "logs" / "access.log"

    def logged() -> list[str]:
        return [line for line in log.read_text().splitlines() if '"GET /auth/ ' in line]

    assert wait_until(lambda: len(logged()) >= 2)
    good, bad = logged()[-2:]
    assert good.startswith("127.0.0.1 - sha512 [") and " 200 " in good
    assert bad.startswith("127.0.0.1 - - [") and " 401 " in bad
    entries = base / "logs" / "access.json"
    assert wait_until(lambda: entries.exists() and entries.read_text().strip() != "")
    entry = json.loads(entries.read_text().splitlines()[-1])
    assert (entry["remote_user"], entry["status"]) == ("apr1", 200)


def test_cgi_gets_remote_user_and_auth_type(ours):
    got = _ask(ours.port, "/auth/cgi/env.sh", auth=_basic("b2y", "pw-b2y"))
    assert (got.status, got.body) == (200, b"b2y|Basic")
    assert _ask(ours.port, "/auth/cgi/env.sh").status == 401


def test_a_changed_user_file_is_read_again(ours, base):
    path = base / "reload"
    assert _ask(ours.port, "/reload/", auth=_basic("x", "x")).status == 200
    path.write_text(f"x:{HASHERS['b2y']('new')}\n")
    st = path.stat()  # a distinct mtime even where timestamps are coarse
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert _ask(ours.port, "/reload/", auth=_basic("x", "x")).status == 401
    assert _ask(ours.port, "/reload/", auth=_basic("x", "new")).status == 200
    assert ours.wait_for_log(r'user "x": password mismatch, client: 127\.0\.0\.1')


def test_a_denied_client_is_logged_like_nginx(ours):
    assert _ask(ours.port, "/only4/", host="::1").status == 403
    assert ours.wait_for_log(r'access forbidden by rule, client: ::1, request: "GET /only4/')


@pytest.mark.parametrize(("forwarded", "status"), [("::ffff:192.0.2.1", 403), ("192.0.2.1", 403),
                                                  ("::ffff:192.0.2.2", 200)])  # fmt: skip
def test_an_ipv4_mapped_client_named_by_a_proxy_meets_the_ipv4_rules(ours, forwarded, status):
    got = _ask(ours.port, "/mapped/", extra=f"X-Forwarded-For: {forwarded}\r\n")
    assert got.status == status


def _put(port: int, path: str, auth: str | None = None) -> HTTPResult:
    extra = f"Authorization: {auth}\r\n" if auth else ""
    raw = f"PUT {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n{extra}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw.encode())
        return read_response(sock)


@pytest.mark.parametrize(
    ("path", "auth", "status"),
    [
        ("/auth/", None, 401),  # access checks run before the method is refused
        ("/auth/", _basic("plain", "pw-plain"), 405),
        ("/order/", None, 403),
        ("/only4/", None, 405),
    ],
)
def test_a_method_not_allowed_meets_the_access_checks_first_like_nginx(
    ngx, ours, path, auth, status
):
    want, got = _put(ngx, path, auth), _put(ours.port, path, auth)
    assert (got.status, want.status) == (status, status)
    assert got.header("www-authenticate") == want.header("www-authenticate")
