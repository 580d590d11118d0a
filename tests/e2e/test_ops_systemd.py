"""systemd: sd_notify datagrams to ``$NOTIFY_SOCKET`` (READY/MAINPID once serving,
RELOADING/MONOTONIC_USEC then READY again on SIGHUP, STOPPING on SIGTERM; an abstract
``@`` socket here), and socket activation: a listening socket passed as fd 3 with
``LISTEN_FDS``/``LISTEN_PID`` is used instead of binding."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from framework.testing import ServerProcess, free_port, read_until_close


def receive(sock: socket.socket, timeout: float = 10.0) -> dict[str, str]:
    """The next notification as a dict (raises on timeout)."""
    sock.settimeout(timeout)
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.splitlines())


@pytest.fixture
def notify_socket() -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(f"\0webserv-test-{uuid.uuid4().hex}")  # abstract: no path, no cleanup
    yield sock
    sock.close()


def test_ready_reloading_ready_stopping_go_to_the_notify_socket(tmp_path, notify_socket):
    name = notify_socket.getsockname()
    address = "@" + (name[1:].decode() if isinstance(name, bytes) else name[1:])
    (tmp_path / "www").mkdir()
    srv = ServerProcess(
        "server { listen 127.0.0.1:{port}; root www; }\n",
        cwd=tmp_path,
        env={"NOTIFY_SOCKET": address},
    ).start()
    try:
        ready = receive(notify_socket)
        assert ready["READY"] == "1" and ready["MAINPID"] == str(srv.pid)
        assert "serving" in ready["STATUS"]
        assert srv.get("/").status in (200, 403, 404)

        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        srv.proc.send_signal(signal.SIGHUP)
        reloading = receive(notify_socket)
        assert reloading["RELOADING"] == "1"
        assert before <= int(reloading["MONOTONIC_USEC"])
        assert int(reloading["MONOTONIC_USEC"]) <= time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        assert receive(notify_socket)["READY"] == "1"  # the new generation serves

        # an invalid config: refused, and systemd is still told the reload is over
        srv.config_path.write_text("server { nonsense; }\n")
        srv.proc.send_signal(signal.SIGHUP)
        assert receive(notify_socket)["RELOADING"] == "1"
        again = receive(notify_socket)
        assert again["READY"] == "1" and "reload failed" in again["STATUS"]
        assert srv.get("/").status in (200, 403, 404)

        srv.proc.send_signal(signal.SIGTERM)
        assert receive(notify_socket)["STOPPING"] == "1"
        assert srv.stop() == 0
    finally:
        srv.stop()


WRAPPER = """
import os, sys
fds = [int(fd) for fd in sys.argv[1].split(",")]
for target, fd in enumerate(fds, 3):
    os.dup2(fd, target)
for fd in fds:
    if fd >= 3 + len(fds):
        os.close(fd)
os.environ["LISTEN_FDS"] = str(len(fds))
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.executable, [sys.executable, "-m", "framework", "run", *sys.argv[2:]])
"""


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


def test_socket_activation_serves_on_the_inherited_socket_and_binds_the_rest(tmp_path):
    """fd 3 matches a listen address and is used (the test holds the port without
    SO_REUSEADDR, so webserv could not have bound it); the second one is bound as usual;
    fd 4 matches nothing and is closed with a warning."""
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("activated\n")
    passed, stray = listening_socket(), listening_socket()
    port, stray_port = passed.getsockname()[1], stray.getsockname()[1]
    other = free_port()
    conf = tmp_path / "c.conf"
    conf.write_text(f"server {{ listen 127.0.0.1:{port}; listen 127.0.0.1:{other}; root www; }}\n")
    fds = (passed.fileno(), stray.fileno())
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, ",".join(map(str, fds)), str(conf)],
        cwd=tmp_path,
        env={**os.environ, "LISTEN_FDNAMES": "http:stray", "PYTHONUNBUFFERED": "1"},
        pass_fds=fds,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    passed.close()  # webserv holds the only copies now
    stray.close()
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert any(f":{port}" in line for line in lines), lines
        for p in (port, other):
            with socket.create_connection(("127.0.0.1", p), timeout=5) as client:
                client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                reply = read_until_close(client)
            assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"activated\n")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", stray_port), timeout=5).close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert f"inherited socket http://127.0.0.1:{stray_port} matches no listen directive" in err


# -- the pieces, in-process --------------------------------------------------------------------


def test_notifier_sends_to_a_socket_path_and_ignores_what_is_not_a_unix_socket(tmp_path):
    from framework.systemd import Notifier

    short = Path(tempfile.mkdtemp(prefix="sd"))  # AF_UNIX paths are limited to 107 bytes
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(short / "notify"))
            assert Notifier(str(short / "notify")).ready("up")
            assert receive(sock) == {"READY": "1", "MAINPID": str(os.getpid()), "STATUS": "up"}
    finally:
        shutil.rmtree(short)
    assert not Notifier("localhost:1234").enabled
    assert not Notifier(None).send("READY=1")


def test_listen_fds_meant_for_another_process_are_left_alone(monkeypatch):
    from framework.systemd import inherited_listeners

    monkeypatch.setenv("LISTEN_FDS", "1")
    monkeypatch.setenv("LISTEN_PID", str(os.getpid() + 1))
    monkeypatch.setenv("LISTEN_FDNAMES", "http")
    assert inherited_listeners() == []
    assert not {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"} & set(os.environ)
