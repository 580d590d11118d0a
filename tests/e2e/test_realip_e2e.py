"""The real client behind a trusted proxy, over real sockets: it reaches the access log,
CGI's REMOTE_ADDR/REMOTE_PORT, allow/deny and ``$remote_addr`` after an internal redirect; the PROXY
protocol's source address is taken with ``real_ip_header proxy_protocol``; a trusted
X-Forwarded-Proto makes redirects ``https`` and they name the port the client wrote in
``Host`` rather than the backend's; an untrusted peer changes nothing."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.testing import (
    HTTPResult,
    ServerProcess,
    free_port,
    parse_response,
    read_until_close,
    wait_until,
)

CGI = (
    "#!/bin/sh\n"
    'printf \'Content-Type: text/plain\\r\\n\\r\\n%s|%s\' "$REMOTE_ADDR" "$REMOTE_PORT"\n'
)
CONFIG = """
access_log logs/access.log;
server { listen 127.0.0.1:{port}; server_name backend.test; root www;
    set_real_ip_from 127.0.0.1; set_real_ip_from 10.0.0.0/8;
    real_ip_header X-Forwarded-For; real_ip_recursive on;
    location /cgi-bin/ { cgi .sh; }
    location /go/ { return 302 /landing/; }
    location /missing/ { error_page 404 /who/; }
    location /who/ { return 200 "$remote_addr $scheme"; }
    location /staff/ { allow 203.0.113.0/24; deny all; }
}
server { listen 127.0.0.1:{port}; server_name untrusting.test; root www;
    set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For;
    location /go/ { return 302 /landing/; }
    location /who/ { return 200 "$remote_addr $scheme"; }
}
server { listen 127.0.0.1:PP proxy_protocol; root www;
    set_real_ip_from 127.0.0.1; real_ip_header proxy_protocol;
    location /who/ { return 200 "$remote_addr $scheme"; }
}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, int]]:
    base = tmp_path_factory.mktemp("realip-e2e")
    (base / "logs").mkdir()
    (base / "www" / "dir" / "sub").mkdir(parents=True)
    (base / "www" / "staff").mkdir()
    (base / "www" / "staff" / "f").write_text("staff only\n")
    script = base / "www" / "cgi-bin" / "env.sh"
    script.parent.mkdir()
    script.write_text(CGI)
    script.chmod(0o755)
    pp = free_port()
    with ServerProcess(CONFIG.replace("PP", str(pp)), cwd=base) as srv:
        yield srv, pp


def _ask(port: int, target: str, host: str, extra: str = "", prefix: bytes = b"") -> HTTPResult:
    raw = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(prefix + raw.encode("latin-1"))
        data = read_until_close(sock)
    return parse_response(data)[0]


def _log(srv: ServerProcess) -> str:
    path = Path(srv.cwd) / "logs" / "access.log"
    return path.read_text() if path.exists() else ""


XFF = "X-Forwarded-For: 198.51.100.1, 203.0.113.9, 10.0.0.2\r\n"


def test_the_access_log_shows_the_real_client(server):
    srv, _ = server
    result = _ask(srv.port, "/nothing-here?mark=log1", "backend.test", XFF)
    assert result.status == 404
    assert wait_until(lambda: "mark=log1" in _log(srv))
    line = next(line for line in _log(srv).splitlines() if "mark=log1" in line)
    assert line.startswith("203.0.113.9 - - [")


def test_cgi_gets_the_real_client_as_remote_addr(server):
    srv, _ = server
    result = _ask(srv.port, "/cgi-bin/env.sh", "backend.test",
                  "X-Forwarded-For: [2001:db8::9]:4711\r\n")  # fmt: skip
    assert result.status == 200
    assert result.body == b"2001:db8::9|4711"


def test_allow_and_deny_check_the_real_client(server):
    srv, _ = server
    assert _ask(srv.port, "/staff/f", "backend.test", XFF).status == 200
    other = "X-Forwarded-For: 203.0.113.9, 198.51.100.1\r\n"
    assert _ask(srv.port, "/staff/f", "backend.test", other).status == 403
    assert _ask(srv.port, "/staff/f", "backend.test").status == 403  # the proxy itself


def test_an_internal_redirect_keeps_the_real_client(server):
    srv, _ = server
    result = _ask(srv.port, "/missing/x", "backend.test", XFF)
    assert result.status == 404
    assert result.body == b"203.0.113.9 http"


def test_an_untrusted_peer_is_its_own_client_and_scheme(server):
    srv, _ = server
    result = _ask(srv.port, "/who/", "untrusting.test", XFF + "X-Forwarded-Proto: https\r\n")
    assert result.body == b"127.0.0.1 http"
    go = _ask(srv.port, "/go/", "untrusting.test:8443", "X-Forwarded-Proto: https\r\n")
    # not behind a trusted proxy: nginx's rule, the local port (Host's is ignored)
    assert go.header("Location") == f"http://untrusting.test:{srv.port}/landing/"


@pytest.mark.parametrize(
    ("host", "proto", "location"),
    [
        ("www.example.org", "https", "https://www.example.org/landing/"),
        ("www.example.org:8443", "https", "https://www.example.org:8443/landing/"),
        ("www.example.org:443", "https", "https://www.example.org/landing/"),
        ("www.example.org", "http", "http://www.example.org/landing/"),
        ("www.example.org:8080", "", "http://www.example.org:8080/landing/"),
    ],
)
def test_redirects_behind_a_trusted_proxy_carry_the_public_scheme_and_port(
    server, host, proto, location
):
    srv, _ = server
    extra = f"X-Forwarded-Proto: {proto}\r\n" if proto else ""
    result = _ask(srv.port, "/go/", host, extra)
    assert result.status == 302
    assert result.header("Location") == location


def test_the_directory_redirect_behind_a_trusted_proxy_is_public_too(server):
    srv, _ = server
    result = _ask(srv.port, "/dir/sub?a=1", "www.example.org", "X-Forwarded-Proto: https\r\n")
    assert result.status == 301
    assert result.header("Location") == "https://www.example.org/dir/sub/?a=1"


def test_proxy_protocol_source_is_the_client(server):
    srv, pp = server
    result = _ask(pp, "/who/", "pp.test", "X-Forwarded-Proto: https\r\n",
                  prefix=b"PROXY TCP4 203.0.113.50 127.0.0.1 40000 443\r\n")  # fmt: skip
    assert result.status == 200
    # a TCP proxy forwards the client's own headers: X-Forwarded-Proto is not believed
    assert result.body == b"203.0.113.50 http"


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "proxy-aware" / "proxy-aware.conf"


def test_the_proxy_aware_example_does_what_its_comments_say(tmp_path):
    shutil.copytree(EXAMPLE.parents[1] / "www", tmp_path / "www")
    (tmp_path / "conf").mkdir()
    http_port, pp_port = free_port(), free_port()
    text = EXAMPLE.read_text().replace("8090", str(http_port)).replace("8091", str(pp_port))
    (tmp_path / "conf" / "proxy-aware.conf").write_text(text)
    proxy = "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n"
    with ServerProcess(config_path=tmp_path / "conf" / "proxy-aware.conf", cwd=tmp_path,
                       port=http_port):  # fmt: skip
        who = _ask(http_port, "/whoami", "www.example.org", proxy)
        assert who.body == b"client 203.0.113.9 via https\n"
        docs = _ask(http_port, "/docs", "www.example.org", proxy)
        assert docs.status == 301
        assert docs.header("Location") == "https://www.example.org/docs/"
        tcp = _ask(pp_port, "/whoami", "www.example.org", proxy,
                   prefix=b"PROXY TCP4 198.51.100.4 127.0.0.1 5000 443\r\n")  # fmt: skip
        assert tcp.body == b"client 198.51.100.4 via http\n"
