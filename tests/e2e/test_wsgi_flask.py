"""``wsgi MODULE:ATTR;`` with a real Flask app: routes, form and JSON bodies, streamed
responses, a large upload streamed into ``wsgi.input``, failures as logged 500s, static files
beside the app, the environ (SCRIPT_NAME, REMOTE_ADDR, https), and the bounded thread pool:
at most 10 threads, freed when a client leaves mid-response."""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import threading
from pathlib import Path

import pytest
from tls_certs import make_cert
from wsgi_fixtures import quiet, read_some, send_request, site_files, state, wait_state

from framework.testing import ServerProcess, free_port

CONFIG = """
error_log stderr info;
server {
    listen 127.0.0.1:{port};
    listen 127.0.0.1:TLS_PORT ssl;
    ssl_certificate site.pem;
    ssl_certificate_key site.key;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
    root www;
    asgi_app_dir apps;
    client_max_body_size 64m;

    location / { wsgi flask_site:app; }
    location /app/ { wsgi flask_site:app; asgi_root_path /app; }
    location /raw/ { wsgi flask_site:raw_fail; }
    location /control/ { wsgi flask_site:control; asgi_root_path /control; }
    location /static/ { }
}
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory):
    cwd = tmp_path_factory.mktemp("wsgi")
    make_cert(cwd, ["127.0.0.1"], stem="site")
    tls_port = free_port()
    config = CONFIG.replace("TLS_PORT", str(tls_port))
    server = ServerProcess(config, cwd=cwd, files=site_files(), startup_timeout=30).start()
    server.tls_port = tls_port  # type: ignore[attr-defined]
    yield server
    server.stop()


def test_a_flask_route_answers(srv):
    r = srv.get("/")
    assert (r.status, r.body) == (200, b"hello from flask")
    assert r.header("Content-Type") == "text/html; charset=utf-8"


def test_head_gets_the_headers_without_the_body(srv):
    r = srv.request("HEAD", "/")
    assert (r.status, r.body, r.header("Content-Length")) == (200, b"", "16")


def test_form_and_json_posts_reach_the_app(srv):
    form = srv.request(
        "POST", "/form", "name=pen&qty=3", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert form.status == 200 and json.loads(form.body) == {"name": "pen", "qty": "3"}
    data = srv.request("POST", "/json", '{"a": [1, 2]}', {"Content-Type": "application/json"})
    assert json.loads(data.body) == {"got": {"a": [1, 2]}}


def test_a_generator_response_is_streamed_chunked(srv):
    r = srv.get("/stream?n=50000")
    assert r.status == 200 and r.header("Transfer-Encoding") == "chunked"
    lines = r.body.decode().splitlines()
    assert len(lines) == 50000 and lines[-1] == "line 49999"


def test_a_large_upload_streams_into_wsgi_input_with_flat_memory(srv):
    before = srv.rss_kib()
    chunk = bytes(range(256)) * 256  # 64 KiB
    digest = hashlib.sha256()
    with srv.connect() as sock:
        sock.sendall(
            b"POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n"
        )
        for _ in range(48 * 16):  # 48 MiB, chunked: the app cannot know the size
            sock.sendall(b"10000\r\n" + chunk + b"\r\n")
            digest.update(chunk)
        sock.sendall(b"0\r\n\r\n")
        answer = b""
        while data := sock.recv(65536):
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    if b"chunked" in head.lower():
        body = body.split(b"\r\n")[1]
    assert json.loads(body) == {"bytes": 48 << 20, "sha256": digest.hexdigest()}
    assert srv.rss_kib() - before < 32 * 1024  # the body was never held whole


def test_a_body_over_client_max_body_size_is_refused_before_the_app(srv):
    head = srv.raw(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000000\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")


def test_an_exception_in_flask_is_a_500_logged_with_its_traceback(srv):
    r = srv.get("/fail")
    assert r.status == 500
    assert srv.wait_for_log(r"wsgi app: .*Exception on /fail")
    assert srv.wait_for_log(r"RuntimeError: flask route failed on purpose")


def test_an_exception_escaping_a_raw_wsgi_app_is_a_500_logged(srv):
    r = srv.get("/raw/x")
    assert r.status == 500
    assert srv.wait_for_log(r"ValueError: raw wsgi app failed on purpose")


def test_static_files_are_served_beside_the_app(srv):
    r = srv.get("/static/logo.txt")
    assert (r.status, r.body) == (200, b"static beside the app\n")
    assert r.header("ETag") is not None  # the static handler, not Flask


def test_the_environ_script_name_path_info_and_real_client_address(srv):
    r = srv.get("/app/environ?x=1", headers={"X-Real-IP": "203.0.113.7", "X-Custom": "yes"})
    env = json.loads(r.body)
    assert env["SCRIPT_NAME"] == "/app" and env["PATH_INFO"] == "/environ"
    assert env["QUERY_STRING"] == "x=1" and env["REQUEST_METHOD"] == "GET"
    assert env["REMOTE_ADDR"] == "203.0.113.7"  # set_real_ip_from applies to the app
    assert env["HTTP_X_CUSTOM"] == "yes" and env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["wsgi.url_scheme"] == "http" and env["SERVER_PORT"] == str(srv.port)
    assert env["wsgi.multithread"] is True and env["wsgi.input_terminated"] is True
    assert env["thread"].startswith("wsgi flask_site:app-")
    assert env["url"] == f"http://127.0.0.1:{srv.port}/app/environ?x=1"


def test_over_tls_the_url_scheme_is_https(srv):
    ctx = ssl.create_default_context(cafile=str(Path(str(srv.cwd)) / "site.pem"))
    with socket.create_connection(("127.0.0.1", srv.tls_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            host = f"127.0.0.1:{srv.tls_port}".encode()
            sock.sendall(
                b"GET /environ HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
            )
            answer = b""
            while data := sock.recv(65536):
                answer += data
    env = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert env["wsgi.url_scheme"] == "https"
    assert env["url"].startswith(f"https://127.0.0.1:{srv.tls_port}/")


def test_a_client_leaving_mid_response_closes_the_generator_and_frees_its_thread(srv):
    closed = state(srv)["closed"]
    for _ in range(3):
        with send_request(srv, "/endless") as sock:
            read_some(sock, 1 << 20)
    wait_state(srv, lambda s: s["closed"] == closed + 3)


def test_a_client_that_stops_reading_stops_the_generator(srv):
    with send_request(srv, "/endless") as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        received = read_some(sock, 1 << 20)
        assert quiet(lambda: state(srv)["produced"])  # the generator waits for the client
        ahead = state(srv)["produced"] - received
        assert ahead < 16 << 20, ahead  # socket buffers + the bounded queues, not the stream


def test_the_pool_is_bounded_extra_requests_wait_for_a_thread(srv):
    results: list[bytes] = []

    def call() -> None:
        results.append(srv.get("/wait?timeout=30").body)

    clients = [threading.Thread(target=call) for _ in range(14)]
    for client in clients:
        client.start()
    busy = wait_state(srv, lambda s: s["running"] == 10)
    assert busy["threads"] == 10  # no eleventh thread for the four waiting requests
    assert srv.request("POST", "/control/release").status == 200
    for client in clients:
        client.join(30)
    assert results == [b"released"] * 14
    assert state(srv)["threads"] == 10
