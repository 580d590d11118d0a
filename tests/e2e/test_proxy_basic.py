"""The reverse proxy against real upstream servers (``proxy_backend.py`` processes): what
the upstream receives (URI, nginx's default headers, hop-by-hop headers removed, bodies with
Content-Length or chunked), what the client gets back, keep-alive reuse, 502/504 through
error_page, an upstream's own error status passed through, HEAD, truncated and invalid
upstream answers."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from proxy_fixtures import STARTUP_TIMEOUT, Backend, echo, fetch, header_map, start_all

from framework.testing import ServerProcess, free_port, wait_until

CONFIG = """
upstream kept {
    server 127.0.0.1:KA;
    keepalive 4;
}
upstream pasthole {
    server 127.0.0.1:HOLE;
    server 127.0.0.1:ONE;
}
upstream withbackup {
    server 127.0.0.1:DEAD;
    server 127.0.0.1:TWO backup;
}
server {
    listen 127.0.0.1:{port};
    allow_methods GET HEAD POST PUT DELETE;
    error_page 502 504 /errors/gateway.html;
    error_page 404 /errors/404.html;
    location /errors/ { root BASE; }
    location /ka/ {
        proxy_pass http://kept;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /plain/ { proxy_pass http://127.0.0.1:ONE; }
    location /v11/ { proxy_pass http://127.0.0.1:ONE; proxy_http_version 1.1; }
    location /fwd/ {
        proxy_pass http://127.0.0.1:ONE;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header User-Agent "";
    }
    location /dead/ { proxy_pass http://127.0.0.1:DEAD; }
    location /slow/ { proxy_pass http://127.0.0.1:ONE/sleep; proxy_read_timeout 1s; }
    location /backup/ { proxy_pass http://withbackup; }
    location /timeouts/ {
        proxy_pass http://127.0.0.1:ONE;
        proxy_send_timeout 1s;
        proxy_read_timeout 1s;
        client_max_body_size 0;
    }
    location /hole/ { proxy_pass http://127.0.0.1:HOLE; proxy_connect_timeout 1s; }
    location /pasthole/ { proxy_pass http://pasthole; proxy_connect_timeout 1s; }
    location /var/ { proxy_pass http://127.0.0.1:ONE/v$uri$is_args$args; }
    location /long/ { proxy_pass http://127.0.0.1:ONE; send_timeout 1s; proxy_read_timeout 30s; }
}
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, dict]]:
    base = tmp_path_factory.mktemp("proxy")
    (base / "errors").mkdir()
    (base / "errors" / "gateway.html").write_text("gateway page\n")
    (base / "errors" / "404.html").write_text("our 404 page\n")
    backends = {name: Backend(name) for name in ("one", "two", "ka")}
    server = None
    # a listener that never accepts, its queue full: connecting to it hangs (timeout)
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(0)
    held = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(hole.getsockname())
        held.append(filler)
    try:
        start_all(list(backends.values()))
        config = (
            CONFIG.replace("KA", str(backends["ka"].port))
            .replace("ONE", str(backends["one"].port))
            .replace("TWO", str(backends["two"].port))
            .replace("DEAD", str(free_port()))
            .replace("BASE", str(base))
            .replace("HOLE", str(hole.getsockname()[1]))
        )
        server = ServerProcess(config, cwd=base, startup_timeout=STARTUP_TIMEOUT).start()
        yield server, backends
    finally:
        if server is not None:
            server.stop()
        for backend in backends.values():
            backend.stop()
        for sock in [*held, hole]:
            sock.close()


def test_request_uri_and_nginx_default_headers(proxy: tuple[ServerProcess, dict]) -> None:
    server, backends = proxy
    seen = echo(server.port, "/plain/a%20b/../c?x=1&y=%2F", headers={"User-Agent": "t"})
    assert seen["name"] == "one"
    assert seen["target"] == "/plain/a%20b/../c?x=1&y=%2F"  # no URI part: passed as received
    assert seen["version"] == "1.0"  # nginx's default proxy_http_version
    headers = header_map(seen)
    assert headers["host"] == backends["one"].address  # $proxy_host
    assert headers["connection"] == "close"
    assert headers["user-agent"] == "t"
    assert [name.lower() for name, _ in seen["headers"][:2]] == ["host", "connection"]


def test_hop_by_hop_request_headers_are_not_forwarded(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    seen = echo(
        server.port,
        "/v11/x",
        headers={
            "Connection": "keep-alive, X-Secret",
            "X-Secret": "1",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Proxy-Authorization": "Basic eA==",
            "Upgrade": "websocket",
            "X-Kept": "yes",
        },
    )
    headers = header_map(seen)
    for name in ("x-secret", "keep-alive", "te", "proxy-authorization", "upgrade"):
        assert name not in headers, name
    assert headers["x-kept"] == "yes"
    assert headers["connection"] == "close"
    assert seen["version"] == "1.1"


def test_hop_by_hop_response_headers_and_our_server_and_date(
    proxy: tuple[ServerProcess, dict],
) -> None:
    server, _ = proxy
    status, headers, _ = fetch(server.port, "GET", "/plain/x")
    assert status == 200
    assert headers["X-Hop"] is None  # listed in the upstream's Connection header
    assert headers["Server"].startswith("webserv")  # nginx sends its own Server and Date
    assert "1970" not in headers["Date"]
    assert headers["Content-Type"] == "application/json"


def test_forwarded_headers_as_nginx_users_set_them(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    seen = echo(
        server.port,
        "/fwd/x",
        headers={"X-Forwarded-For": "203.0.113.7", "Host": "www.example.com:8443"},
    )
    headers = header_map(seen)
    assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == "www.example.com:8443"
    assert headers["host"] == "www.example.com"
    assert "user-agent" not in headers  # an empty value removes the header


@pytest.mark.parametrize("size", [0, 10, 200_000])
def test_post_with_content_length(proxy: tuple[ServerProcess, dict], size: int) -> None:
    server, _ = proxy
    seen = echo(server.port, "/plain/p", method="POST", body=b"x" * size)
    assert seen["body_len"] == size
    assert header_map(seen)["content-length"] == str(size)


@pytest.mark.parametrize("path", ["/plain/p", "/v11/p"])
@pytest.mark.parametrize("size", [5, 300_000])
def test_post_chunked(proxy: tuple[ServerProcess, dict], path: str, size: int) -> None:
    server, _ = proxy
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        pieces = iter([b"y" * (size // 2), b"z" * (size - size // 2)])
        conn.request("POST", path, body=pieces, encode_chunked=True)
        response = conn.getresponse()
        seen = json.loads(response.read())
    finally:
        conn.close()
    assert seen["body_len"] == size
    headers = header_map(seen)
    if path == "/v11/p" and size > 65536:  # streamed as it arrives
        assert headers["transfer-encoding"] == "chunked"
    else:  # small ones are read first; HTTP/1.0 upstreams get a spooled body with a length
        assert headers["content-length"] == str(size)


def test_streamed_echo_both_ways(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    payload = bytes(range(256)) * 4096  # 1 MiB
    status, headers, body = fetch(server.port, "POST", "/v11/echo", body=payload)
    assert status == 200
    assert body == payload
    assert headers["Transfer-Encoding"] == "chunked"


def test_keepalive_connections_are_reused(proxy: tuple[ServerProcess, dict]) -> None:
    server, backends = proxy
    before = backends["ka"].stats()["connections"]
    conns = {echo(server.port, f"/ka/{i}")["conn"] for i in range(20)}
    after = backends["ka"].stats()["connections"]
    assert len(conns) == 1
    assert after - before <= 2  # the one kept connection (+ the /stats request itself)


def test_dead_upstream_is_502_through_error_page(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    status, _, body = fetch(server.port, "GET", "/dead/x")
    assert status == 502
    assert body == b"gateway page\n"
    assert server.wait_for_log(r"connect\(\) failed \(111: Connection refused\)")


def test_read_timeout_is_504(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    status, _, body = fetch(server.port, "GET", "/slow/?s=30", timeout=20)
    assert status == 504
    assert body == b"gateway page\n"


@pytest.mark.parametrize("path", ["/plain/garbage", "/plain/close"])
def test_invalid_or_no_answer_is_502(proxy: tuple[ServerProcess, dict], path: str) -> None:
    server, _ = proxy
    status, _, body = fetch(server.port, "GET", path)
    assert status == 502
    assert body == b"gateway page\n"


def test_upstream_error_status_passes_through(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    status, _, body = fetch(server.port, "GET", "/plain/status?code=404")
    assert status == 404
    assert json.loads(body)["name"] == "one"  # the upstream's own body, not error_page's


def test_head(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    status, headers, body = fetch(server.port, "HEAD", "/plain/x")
    assert status == 200
    assert body == b""
    assert int(headers["Content-Length"]) > 0


def test_truncated_upstream_body_truncates_the_response(
    proxy: tuple[ServerProcess, dict],
) -> None:
    server, _ = proxy
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/plain/truncate")
        response = conn.getresponse()
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead):
            response.read()
    finally:
        conn.close()
    assert server.wait_for_log(r"prematurely closed")


def test_backup_server_takes_over(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    assert {echo(server.port, f"/backup/{i}")["name"] for i in range(4)} == {"two"}


def test_client_leaving_mid_response_closes_the_upstream(
    proxy: tuple[ServerProcess, dict],
) -> None:
    server, backends = proxy
    one = backends["one"]
    baseline = one.stats()["open"]
    sock = server.connect()
    sock.sendall(b"GET /plain/stream?n=1000000000 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(65536)
    assert wait_until(lambda: one.stats()["open"] > baseline)
    sock.close()
    assert wait_until(lambda: one.stats()["open"] == baseline)


def test_methods_and_query(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    for method in ("PUT", "DELETE"):
        seen = echo(server.port, "/plain/m?q=%20", method=method, body=b"abc")
        assert seen["method"] == method
        assert seen["target"] == "/plain/m?q=%20"


def test_proxy_read_timeout_not_cut_by_the_handler_clock(
    proxy: tuple[ServerProcess, dict],
) -> None:
    server, _ = proxy
    # the engine's handler clock (send_timeout) does not cut a proxied request short:
    # proxy_read_timeout decides how long the upstream may think
    status, _, body = fetch(server.port, "GET", "/long/sleep?s=2", timeout=20)
    assert status == 200
    assert json.loads(body)["name"] == "one"


def test_proxy_pass_with_variables(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    seen = echo(server.port, "/var/a%20b?x=1")
    assert seen["target"] == "/v/var/a%20b?x=1"


def test_stale_kept_alive_connection_is_retried_on_a_fresh_one(
    proxy: tuple[ServerProcess, dict],
) -> None:
    server, _ = proxy
    first = echo(server.port, "/ka/dropnext")
    # the pooled connection is closed by the upstream when this request arrives on it
    again = echo(server.port, "/ka/again")
    assert again["conn"] != first["conn"]


def test_non_idempotent_request_is_not_resent_after_a_stale_connection(
    proxy: tuple[ServerProcess, dict],
) -> None:
    # nginx >= 1.9.13: a POST that went out on a kept-alive connection the upstream then
    # closed may have been processed: 502, never a second copy on a fresh connection
    server, backends = proxy
    echo(server.port, "/ka/dropnext")
    status, _, _ = fetch(server.port, "POST", "/ka/pay", body=b"amount=10")
    assert status == 502
    assert backends["ka"].stats()["seen"]["/pay"] == 1


def test_send_timeout_is_504(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    sock = server.connect(timeout=20)
    size = 64 * 1024 * 1024  # more than the socket buffers hold: the upstream reads none
    sock.sendall(
        f"POST /timeouts/stall HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode()
    )

    def send_body() -> None:
        try:
            block = b"b" * (1 << 20)
            for _ in range(size >> 20):
                sock.sendall(block)
        except OSError:
            pass  # the proxy answered and closed

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        assert chunk, answer
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 504 ")
    sock.close()
    sender.join(20)
    assert server.wait_for_log(r"upstream timed out while sending the request"), server.stderr[
        -2000:
    ]


def test_read_timeout_mid_body_cuts_the_response(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        conn.request("GET", "/timeouts/stallbody")
        response = conn.getresponse()
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead) as caught:
            response.read()
        assert caught.value.partial == b"0123456789"
    finally:
        conn.close()
    assert server.wait_for_log(r"upstream timed out while reading the response")


def test_no_descriptor_leak(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    paths = ["/plain/stream?n=300000", "/plain/truncate", "/plain/garbage", "/dead/x",
             "/plain/close", "/v11/echo", "/ka/x", "/plain/status?code=500"]  # fmt: skip
    for path in paths:  # warm up: pools filled, lazily opened files open
        try:
            fetch(server.port, "GET", path)
        except http.client.HTTPException:
            pass  # the truncated one
    baseline = server.open_fds()
    for _ in range(5):
        for path in paths:
            try:
                fetch(server.port, "GET", path)
            except http.client.HTTPException:
                pass  # the truncated one
    for _ in range(5):  # clients that leave in the middle of a response
        sock = server.connect()
        sock.sendall(b"GET /plain/stream?n=100000000 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536)
        sock.close()
    assert wait_until(lambda: server.open_fds() <= baseline), (server.open_fds(), baseline)


def test_connect_timeout_is_504_and_fails_over(proxy: tuple[ServerProcess, dict]) -> None:
    server, _ = proxy
    status, _, body = fetch(server.port, "GET", "/hole/x", timeout=20)
    assert status == 504
    assert body == b"gateway page\n"
    assert server.wait_for_log(r"upstream timed out while connecting")
    assert echo(server.port, "/pasthole/x", timeout=20)["name"] == "one"


def test_header_names_with_underscores_are_not_forwarded(
    proxy: tuple[ServerProcess, dict],
) -> None:
    # nginx's underscores_in_headers off: X_Forwarded_For must not pose as X-Forwarded-For
    # to a CGI-style upstream that maps both to HTTP_X_FORWARDED_FOR
    server, _ = proxy
    seen = header_map(
        echo(server.port, "/plain/u", headers={"X_Forwarded_For": "6.6.6.6", "X-Kept": "1"})
    )
    assert "x_forwarded_for" not in seen
    assert seen["x-kept"] == "1"
