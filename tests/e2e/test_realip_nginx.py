"""Differential checks against a real nginx 1.22 built with the realip module (skipped when
nginx or the module is missing): the client address set_real_ip_from / real_ip_header /
real_ip_recursive give ``$remote_addr``, and the ``Location`` of redirects under
absolute_redirect / port_in_redirect, for ``return`` and a directory's missing slash."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import pytest
from nginx_reference import NGINX, nginx_reference, requires_nginx

from framework.testing import (
    HTTPResult,
    ServerProcess,
    free_port,
    parse_response,
    read_until_close,
)


def _has_realip() -> bool:
    if NGINX is None:
        return False
    built = subprocess.run([NGINX, "-V"], capture_output=True, text=True, timeout=10).stderr
    return "--with-http_realip_module" in built


pytestmark = [
    requires_nginx,
    pytest.mark.skipif(not _has_realip(), reason="nginx lacks --with-http_realip_module"),
]

# a header filter, not `return`: nginx's rewrite phase runs before a location's realip
SHOW = 'add_header X-Addr "$remote_addr|$remote_port" always;'
# one text for both servers: ROOT and LISTEN are filled in for each; the first server is
# the default (a request without Host)
SERVERS = """
server { LISTEN; server_name redirect.test; root ROOT;
    location /r/ { return 301 /target/?a=1; }
    location /noport/ { port_in_redirect off; return 302 /target/; }
    location /relative/ { absolute_redirect off; return 301 /target/; }
    location /both/ { absolute_redirect off; port_in_redirect off; return 307 /target/; }
    location /abs/ { absolute_redirect off; return 301 http://elsewhere.test/x; }
    location /d/ { }
    location /rd/ { absolute_redirect off; }
    location /pd/ { port_in_redirect off; }
}
server { LISTEN; server_name proxied.test; root ROOT;
    set_real_ip_from 127.0.0.1;
    location /real/ { SHOW }
    location /xff/ { real_ip_header X-Forwarded-For; SHOW }
    location /recursive/ {
        set_real_ip_from 127.0.0.1; set_real_ip_from 10.0.0.0/8;
        real_ip_header X-Forwarded-For; real_ip_recursive on; SHOW }
    location /custom/ { real_ip_header X-Client; SHOW }
}
server { listen 127.0.0.1:PP proxy_protocol; root ROOT;
    set_real_ip_from 127.0.0.1; real_ip_header proxy_protocol;
    location /real/ { SHOW }
}
server { LISTEN; server_name narrow.test; root ROOT;
    location /xff/ { set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For; SHOW }
    location /v6/ { set_real_ip_from ::1; real_ip_header X-Forwarded-For; SHOW }
}
""".replace("SHOW", SHOW)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[int, int]]]:
    """{"http": (nginx port, webserv port), "proxy_protocol": (...)}"""
    base = tmp_path_factory.mktemp("realip-parity")
    for sub in ("d/sub", "rd/sub", "pd/sub", "real", "xff", "recursive", "custom", "v6"):
        (base / "www" / sub).mkdir(parents=True)
        (base / "www" / sub / "f").write_text("f\n")
    root = str(base / "www")
    text = SERVERS.replace("ROOT", root)
    pp_ours, pp_theirs = free_port(), free_port()
    ours = ServerProcess(
        text.replace("LISTEN", "listen 127.0.0.1:{port}").replace("PP", str(pp_ours)), cwd=base
    )
    theirs = text.replace("LISTEN", "listen 127.0.0.1:PORT").replace("PP", str(pp_theirs))
    with nginx_reference(base, theirs) as port, ours:
        yield {"http": (port, ours.port), "proxy_protocol": (pp_theirs, pp_ours)}


@pytest.fixture
def pair(servers) -> tuple[int, int]:
    return servers["http"]


def _ask(
    port: int, target: str, host: str | None, extra: str = "", version: str = "1.1", prefix=b""
) -> HTTPResult:
    head = f"GET {target} HTTP/{version}\r\n"
    if host is not None:
        head += f"Host: {host}\r\n"
    raw = head + f"Connection: close\r\n{extra}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(prefix + raw.encode("latin-1"))
        data = read_until_close(sock)
    result: HTTPResult = parse_response(data)[0]
    return result


def _both(pair, target, host, extra="", version="1.1") -> tuple[HTTPResult, HTTPResult]:
    ngx, ours = pair
    return _ask(ngx, target, host, extra, version), _ask(ours, target, host, extra, version)


@pytest.mark.parametrize(
    ("target", "host", "headers"),
    [
        ("/real/", "proxied.test", "X-Real-IP: 203.0.113.5\r\n"),
        ("/real/", "proxied.test", "X-Real-IP: 203.0.113.5:4433\r\n"),
        ("/real/", "proxied.test", "X-Real-IP: garbage\r\n"),
        ("/real/", "proxied.test", "X-Real-IP: 198.51.100.1, 203.0.113.5\r\n"),
        ("/real/", "proxied.test", "X-Real-IP: [2001:db8::1]:80\r\n"),
        ("/real/", "proxied.test", "X-Real-IP: ::ffff:192.0.2.1\r\n"),
        ("/real/", "proxied.test", "X-Real-IP: 1.2.3.4:0\r\n"),
        ("/xff/", "proxied.test", "X-Forwarded-For: 203.0.113.5, 10.0.0.2\r\n"),
        ("/xff/", "proxied.test", "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n"),
        # nginx applies the server's settings first (post-read phase): X-Real-IP wins here
        ("/xff/", "proxied.test", "X-Real-IP: 198.51.100.7\r\nX-Forwarded-For: 2.2.2.2\r\n"),
        ("/recursive/", "proxied.test", "X-Forwarded-For: 1.1.1.1, 203.0.113.5, 10.0.0.2\r\n"),
        ("/recursive/", "proxied.test", "X-Forwarded-For: 10.0.0.3, 10.0.0.2\r\n"),
        ("/recursive/", "proxied.test", "X-Forwarded-For: junk, 10.0.0.2\r\n"),
        ("/recursive/", "proxied.test",
         "X-Forwarded-For: 1.1.1.1, 203.0.113.5\r\nX-Forwarded-For: 10.0.0.9\r\n"),
        ("/custom/", "proxied.test", "X-Client: 203.0.113.77\r\n"),
        ("/custom/", "proxied.test", "X-Client: 203.0.113.77\r\nX-Client: 198.51.100.1\r\n"),
        ("/xff/", "narrow.test", "X-Forwarded-For: 203.0.113.5\r\n"),
        ("/v6/", "narrow.test", "X-Forwarded-For: 203.0.113.5\r\n"),
    ],
)  # fmt: skip
def test_remote_addr_matches_nginx(pair, target, host, headers):
    want, got = _both(pair, target + "f", host, headers)
    assert want.status == got.status == 200
    addr, _, port = got.header("X-Addr").partition("|")
    assert addr == want.header("X-Addr").partition("|")[0]
    # the TCP peer's own port differs between the two connections; a port-less forwarded
    # address gives an empty $remote_port in both
    if addr != "127.0.0.1":
        assert port == want.header("X-Addr").partition("|")[2]


@pytest.mark.parametrize(
    ("target", "host", "version"),
    [
        ("/r/", "redirect.test", "1.1"),
        ("/r/", "redirect.test:9999", "1.1"),  # nginx names the local port, not Host's
        ("/noport/", "redirect.test:9999", "1.1"),
        ("/relative/", "redirect.test", "1.1"),
        ("/both/", "redirect.test", "1.1"),
        ("/abs/", "redirect.test", "1.1"),
        ("/d/sub", "redirect.test", "1.1"),
        ("/d/sub?q=1", "redirect.test", "1.1"),
        ("/rd/sub?q=1", "redirect.test", "1.1"),
        ("/pd/sub", "redirect.test:81", "1.1"),
        ("/r/", None, "1.0"),
    ],
)
def test_redirect_location_matches_nginx(pair, target, host, version):
    ngx, ours = pair
    want, got = _both(pair, target, host, version=version)
    assert got.status == want.status
    assert want.header("Location") is not None
    assert got.header("Location").replace(str(ours), "PORT") == want.header("Location").replace(
        str(ngx), "PORT"
    )


@pytest.mark.parametrize(
    "header",
    [b"PROXY TCP4 203.0.113.50 127.0.0.1 40000 443\r\n",
     b"PROXY TCP6 2001:db8::50 ::1 40001 443\r\n",
     b"PROXY UNKNOWN\r\n"],
)  # fmt: skip
def test_proxy_protocol_source_matches_nginx(servers, header):
    ngx, ours = servers["proxy_protocol"]
    want, got = (_ask(p, "/real/f", "pp.test", "X-Real-IP: 1.1.1.1\r\n", prefix=header)
                 for p in (ngx, ours))  # fmt: skip
    assert want.status == got.status == 200
    want_addr, got_addr = want.header("X-Addr"), got.header("X-Addr")
    if want_addr.startswith("127.0.0.1|"):  # UNKNOWN: the peer, whose port differs
        assert got_addr.startswith("127.0.0.1|")
    else:
        assert got_addr == want_addr
