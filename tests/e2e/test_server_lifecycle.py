"""`webserv run`: exit codes, the default config, signals (TERM, QUIT, HUP) and memory under
a stalled reader."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from http_fixtures import CONFIG, start_server

from framework.testing import (
    ServerProcess,
    free_port,
    process_gone,
    read_response,
    read_until_close,
    wait_until,
)


def _run(args: list[str], cwd: Path, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "framework", "run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_invalid_config_exits_1_with_diagnostics(tmp_path):
    (tmp_path / "bad.conf").write_text("server { listen 127.0.0.1:1; bogus_directive on; }\n")
    proc = _run(["bad.conf"], tmp_path)
    assert proc.returncode == 1
    assert "bogus_directive" in proc.stderr
    assert "listening" not in proc.stdout


def test_port_in_use_exits_3_with_a_clear_message(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        (tmp_path / "c.conf").write_text(f"server {{ listen 127.0.0.1:{port}; }}\n")
        proc = _run(["c.conf"], tmp_path)
    assert proc.returncode == 3
    assert f"127.0.0.1:{port}" in proc.stderr and "in use" in proc.stderr


def test_check_validates_without_serving(tmp_path):
    (tmp_path / "c.conf").write_text(f"server {{ listen 127.0.0.1:{free_port()}; }}\n")
    proc = _run(["c.conf", "--check"], tmp_path)
    assert proc.returncode == 0
    assert "listening" not in proc.stdout


def test_run_without_config_serves_the_current_directory_with_autoindex(tmp_path):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 8080))
        except OSError:
            pytest.skip("port 8080 is busy on this machine")
    (tmp_path / "hello.txt").write_text("hi\n")
    srv = ServerProcess(None, cwd=tmp_path, port=8080).start()
    try:
        assert "http://127.0.0.1:8080" in srv.stdout
        listing = srv.get("/")
        assert listing.status == 200 and "hello.txt" in listing.text
        assert srv.get("/hello.txt").body == b"hi\n"
    finally:
        assert srv.stop() == 0


def test_sigterm_lets_an_in_flight_response_finish_then_exits_0(tmp_path):
    srv = start_server(tmp_path)
    with srv.connect() as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        head = sock.recv(1)  # the response has started
        assert head
        srv.proc.send_signal(signal.SIGTERM)
        rest = read_response_after(sock, head)
    assert rest.status == 200 and rest.body == b"part0;part1;part2;"
    assert srv.proc.wait(10) == 0


def read_response_after(sock, first: bytes):
    from framework.testing import ResponseReader

    reader = ResponseReader(sock)
    reader.buf += first
    return reader.read()


def test_sigterm_refuses_new_connections_and_closes_idle_ones(tmp_path):
    srv = start_server(tmp_path)
    idle = srv.connect()
    idle.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
    assert read_response(idle).status == 200
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(10) == 0
    idle.settimeout(5)
    assert idle.recv(100) == b""
    idle.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()


def test_sigquit_stops_at_once(tmp_path):
    srv = start_server(tmp_path)
    sock = srv.connect()
    sock.sendall(b"GET /hang HTTP/1.1\r\nHost: a\r\n\r\n")
    assert srv.stop(signal.SIGQUIT, timeout=10) == 0
    sock.close()


def test_sighup_with_a_valid_config_switches_without_refusing_connections(tmp_path):
    srv = start_server(tmp_path)
    keep = srv.connect()
    keep.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
    assert read_response(keep).status == 200
    (tmp_path / "www2").mkdir()
    (tmp_path / "www2" / "index.html").write_text("second\n")
    srv.config_path.write_text(
        CONFIG.replace("{port}", str(srv.port)).replace("root www;", "root www2;")
    )
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    body = b""
    while time.monotonic() < deadline and body != b"second\n":
        r = srv.get("/index.html")  # every connect is accepted during the switch
        assert r.status == 200
        body = r.body
    assert body == b"second\n"
    keep.close()
    assert srv.stop() == 0


def test_sighup_closes_idle_keep_alive_connections_but_not_fresh_ones(tmp_path):
    """Like nginx, a reload closes connections idle between keep-alive requests at once
    instead of holding them for the old keepalive_timeout; a connection that has not sent its
    first request yet is left alone (its request may be on the way) and is served."""
    config = CONFIG.replace("keepalive_timeout 2s;", "keepalive_timeout 60s;")
    srv = start_server(tmp_path, config=config)
    idle = srv.connect(timeout=30)
    idle.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
    assert read_response(idle).status == 200
    fresh = srv.connect(timeout=30)
    (tmp_path / "www2").mkdir()
    (tmp_path / "www2" / "index.html").write_text("second\n")
    srv.config_path.write_text(
        config.replace("{port}", str(srv.port)).replace("root www;", "root www2;")
    )
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: srv.get("/index.html").body == b"second\n")
    idle.settimeout(10)  # well before the 60s keepalive_timeout: a timeout fails the test
    assert idle.recv(1) == b""
    fresh.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    r = read_response(fresh)
    assert (r.status, r.body) == (200, b"second\n")
    for sock in (idle, fresh):
        sock.close()
    assert srv.stop() == 0


def test_sighup_lets_a_request_in_progress_finish(tmp_path):
    srv = start_server(tmp_path)
    sock = srv.connect(timeout=30)
    sock.sendall(b"GET /slow HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert sock.recv(12) == b"HTTP/1.1 200"  # the handler is streaming its parts
    srv.proc.send_signal(signal.SIGHUP)
    rest = read_until_close(sock, 10)
    assert rest.endswith(b"part0;\r\n6\r\npart1;\r\n6\r\npart2;\r\n0\r\n\r\n")
    sock.close()
    assert srv.stop() == 0


def test_sighup_with_an_invalid_config_keeps_the_old_one_and_logs_why(tmp_path):
    srv = start_server(tmp_path)
    srv.config_path.write_text("server { listen 127.0.0.1:{port}; nonsense; }\n")
    srv.proc.send_signal(signal.SIGHUP)
    assert srv.wait_for_log("nonsense")
    r = srv.get("/index.html")
    assert (r.status, r.body) == (200, b"<h1>home</h1>\n")
    assert srv.stop() == 0


def test_pid_file_is_written_and_removed(tmp_path):
    config = CONFIG.replace("access_log off;", "access_log off;\npid run.pid;")
    srv = start_server(tmp_path, config=config)
    pid_file = tmp_path / "run.pid"
    assert pid_file.read_text().strip() == str(srv.pid)
    assert srv.stop() == 0
    assert not pid_file.exists()


def test_stalled_reader_keeps_memory_flat_while_others_are_served(tmp_path):
    srv = start_server(tmp_path)
    with open(tmp_path / "www" / "sparse.bin", "wb") as f:
        f.truncate(100 * 1024 * 1024)  # 100 MB, sparse
    base = srv.rss_kib()
    stalled = srv.connect()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b"GET /sparse.bin HTTP/1.1\r\nHost: a\r\n\r\n")
    assert stalled.recv(100).startswith(b"HTTP/1.1 200")
    for _ in range(50):
        assert srv.get("/index.html").status == 200
    assert srv.rss_kib() - base < 16 * 1024
    stalled.close()
    assert srv.stop() == 0


def test_workers_share_the_port_and_stop_together(tmp_path):
    srv = start_server(
        tmp_path, config=CONFIG.replace("access_log off;", "access_log off;\nworkers 2;")
    )
    try:
        workers = srv.children()
        assert len(workers) == 2
        for _ in range(20):
            assert srv.get("/index.html").status == 200
    finally:
        assert srv.stop() == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def test_max_connections_defers_accepting_until_a_connection_closes(tmp_path):
    config = CONFIG.replace("access_log off;", "access_log off;\nmax_connections 2;")
    srv = start_server(tmp_path, config=config)
    first, second = srv.connect(), srv.connect()
    for sock in (first, second):
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
        assert read_response(sock).status == 200
    third = srv.connect()  # queued by the kernel, not yet accepted by the server
    third.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
    first.close()
    assert read_response(third).status == 200
    second.close()
    third.close()
    assert srv.stop() == 0


def test_running_out_of_fds_pauses_accepting_without_spinning_and_recovers(tmp_path):
    from http_fixtures import make_site

    make_site(tmp_path)
    port = free_port()
    (tmp_path / "c.conf").write_text(
        f"access_log off; server {{ listen 127.0.0.1:{port}; root www; }}\n"
    )
    launcher = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)); "
        "from framework.cli import main; sys.exit(main(['run', 'c.conf']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", launcher],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert f":{port}" in proc.stdout.readline()
        clients = []
        for _ in range(80):  # more than the server has fds for
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        clients[0].sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
        assert read_response(clients[0]).status in (200, 404, 500, 503)  # no fd for the file
        for sock in clients:
            sock.close()
        # accepting resumed: a new connection is served
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            assert read_response(sock).status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    pauses = err.count("pausing accepting")
    assert 1 <= pauses < 50  # paused, and did not spin on accept()
    assert proc.returncode == 0


def test_sighup_opens_new_listeners_and_closes_removed_ones(tmp_path):
    srv = start_server(tmp_path)
    other = free_port()
    srv.config_path.write_text(
        CONFIG.replace("listen 127.0.0.1:{port};", f"listen 127.0.0.1:{other};")
    )
    srv.proc.send_signal(signal.SIGHUP)
    assert srv.wait_for_log(rf"listening on http://127\.0\.0\.1:{other}", stream="stdout")
    with socket.create_connection(("127.0.0.1", other), timeout=5) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert read_response(sock).status == 200
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
    assert srv.stop() == 0


def test_sighup_reaches_every_worker(tmp_path):
    config = CONFIG.replace("access_log off;", "access_log off;\nworkers 2;")
    srv = start_server(tmp_path, config=config)
    (tmp_path / "www2").mkdir()
    (tmp_path / "www2" / "index.html").write_text("second\n")
    srv.config_path.write_text(
        config.replace("{port}", str(srv.port)).replace("root www;", "root www2;")
    )
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    streak = 0
    while time.monotonic() < deadline and streak < 20:  # 20 new connections in a row
        streak = streak + 1 if srv.get("/index.html").body == b"second\n" else 0
    assert streak == 20
    assert srv.stop() == 0


CGI_CONFIG = """shutdown_timeout 1s;
server {
    listen 127.0.0.1:{port};
    root www;
    location /cgi/ { cgi .sh; cgi_timeout 60s; }
}
"""

CGI_SCRIPTS = {
    "slow.sh": "echo $$ > slow.pid\nsleep 0.5\nprintf 'Content-Type: text/plain\\n\\ndone'\n",
    # ignores SIGTERM, and so does its child: only a SIGKILL ends them
    "stubborn.sh": "trap '' TERM\nsleep 300 &\necho $! > child.pid\necho $$ > stubborn.pid\nwait\n",
}


def _cgi_server(tmp_path: Path) -> tuple[ServerProcess, Path]:
    cgi = tmp_path / "www" / "cgi"
    cgi.mkdir(parents=True)
    for name, body in CGI_SCRIPTS.items():
        (cgi / name).write_text("#!/bin/sh\n" + body)
        (cgi / name).chmod(0o755)
    return ServerProcess(CGI_CONFIG, cwd=tmp_path).start(), cgi


def _pid(path: Path) -> int:
    assert wait_until(lambda: path.exists() and path.read_text().strip() != "")
    return int(path.read_text())


def test_sigterm_lets_an_in_flight_cgi_response_finish(tmp_path):
    srv, cgi = _cgi_server(tmp_path)
    with srv.connect() as sock:
        sock.sendall(b"GET /cgi/slow.sh HTTP/1.1\r\nHost: a\r\n\r\n")
        _pid(cgi / "slow.pid")  # the script runs
        srv.proc.send_signal(signal.SIGTERM)
        r = read_response(sock)
    assert (r.status, r.body) == (200, b"done")
    assert srv.proc.wait(10) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGQUIT])
def test_no_cgi_process_survives_the_server_stopping(tmp_path, sig):
    srv, cgi = _cgi_server(tmp_path)
    sock = srv.connect()
    try:
        sock.sendall(b"GET /cgi/stubborn.sh HTTP/1.1\r\nHost: a\r\n\r\n")
        script, child = _pid(cgi / "stubborn.pid"), _pid(cgi / "child.pid")
        # SIGTERM: the 1s shutdown_timeout passes, then the worker exits before its
        # SIGTERM-then-SIGKILL grace could; SIGQUIT: at once
        assert srv.stop(sig, timeout=10) == 0
    finally:
        sock.close()
    assert wait_until(lambda: process_gone(script) and process_gone(child), timeout=5)
