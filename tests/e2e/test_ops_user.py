"""``user NAME [GROUP];``: started as root, the master keeps root (it binds a port below
1024, writes the pid file) and the workers, their CGI scripts and the files they upload run
as the user; log files are handed to the user so a USR1 after logrotate still works. Not
root: nginx's warning, and the directive is ignored."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.testing import ServerProcess, free_port, wait_until, write_files

IS_ROOT = os.geteuid() == 0
try:
    NOBODY = pwd.getpwnam("nobody")
except KeyError:
    NOBODY = None

needs_root = pytest.mark.skipif(
    not IS_ROOT or NOBODY is None, reason="privilege drop needs root and a 'nobody' user"
)

CONFIG = """
user nobody;
pid {base}/run/webserv.pid;
error_log {base}/logs/error.log info;
server {{
    listen 127.0.0.1:{port};
    root {base}/www;
    access_log {base}/logs/access.log;
    location /cgi-bin/ {{
        cgi .sh;
    }}
    location /upload/ {{
        upload_store {base}/www/upload;
        allow_methods GET PUT;
    }}
}}
"""


def privileged_free_port() -> int:
    """A free port below 1024 (only root may bind it)."""
    for port in range(1000, 1024):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 1000-1023")


def ids_of(pid: int) -> tuple[list[int], list[int], list[int]]:
    """Real/effective/saved/fs uids, gids and supplementary groups of ``pid``."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            fields[key] = [int(v) for v in value.split()]
    return fields["Uid"], fields["Gid"], fields["Groups"]


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[ServerProcess, Path]]:
    if not IS_ROOT or NOBODY is None:
        pytest.skip("privilege drop needs root and a 'nobody' user")
    # outside pytest's 0700 tmp directory, so that nobody can reach the files
    base = Path(tempfile.mkdtemp(prefix="webserv-user-"))
    base.chmod(0o755)
    write_files(
        base,
        {
            "www/index.html": "hello\n",
            "www/cgi-bin/id.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nid -u\n",
            "www/upload/.keep": "",
            "logs/.keep": "",
            "run/.keep": "",
        },
    )
    (base / "www/cgi-bin/id.sh").chmod(0o755)
    os.chown(base / "www/upload", NOBODY.pw_uid, NOBODY.pw_gid)
    port = privileged_free_port()
    srv = ServerProcess(CONFIG.format(base=base, port=port), cwd=base, port=port)
    srv.start()
    try:
        yield srv, base
    finally:
        srv.stop()
        shutil.rmtree(base, ignore_errors=True)


def worker_pids(srv: ServerProcess) -> list[int]:
    assert wait_until(lambda: len(srv.children()) >= 1)
    return srv.children()


@needs_root
def test_the_master_keeps_root_and_binds_below_1024_while_the_worker_runs_as_nobody(site):
    srv, base = site
    assert srv.port < 1024 and srv.get("/").status == 200
    uids, gids, _ = ids_of(srv.pid)
    assert uids == [0, 0, 0, 0]
    assert int((base / "run/webserv.pid").read_text()) == srv.pid
    for pid in worker_pids(srv):
        uids, gids, groups = ids_of(pid)
        assert uids == [NOBODY.pw_uid] * 4
        assert gids == [NOBODY.pw_gid] * 4
        assert 0 not in groups


@needs_root
def test_a_cgi_script_runs_as_the_user(site):
    srv, _ = site
    reply = srv.get("/cgi-bin/id.sh")
    assert reply.status == 200
    assert reply.text.strip() == str(NOBODY.pw_uid)


@needs_root
def test_an_uploaded_file_belongs_to_the_user(site):
    srv, base = site
    reply = srv.request("PUT", "/upload/owned.txt", body=b"mine\n")
    assert reply.status in (201, 204)
    assert (base / "www/upload/owned.txt").stat().st_uid == NOBODY.pw_uid


@needs_root
def test_usr1_after_logrotate_reopens_a_log_file_the_user_can_write(site):
    srv, base = site
    log = base / "logs/access.log"
    assert wait_until(lambda: log.exists() and log.stat().st_uid == NOBODY.pw_uid)
    log.rename(base / "logs/access.log.1")
    os.kill(srv.pid, signal.SIGUSR1)
    assert wait_until(lambda: log.exists())
    assert log.stat().st_uid == NOBODY.pw_uid
    assert srv.get("/?after-rotate").status == 200
    assert wait_until(lambda: "after-rotate" in log.read_text())


@needs_root
def test_after_a_reload_the_new_workers_run_as_the_user_too(site):
    srv, _ = site
    before = set(worker_pids(srv))
    os.kill(srv.pid, signal.SIGHUP)
    assert wait_until(lambda: set(srv.children()) and not set(srv.children()) & before)
    for pid in srv.children():
        assert ids_of(pid)[0] == [NOBODY.pw_uid] * 4
    assert srv.get("/cgi-bin/id.sh").text.strip() == str(NOBODY.pw_uid)


@needs_root
def test_root_without_user_and_with_cgi_warns_at_start(serve):
    srv = serve("server { listen 127.0.0.1:{port}; location /cgi-bin/ { cgi .sh; } }\n")
    assert srv.wait_for_log(r'running as root without a "user" directive: CGI scripts')


def test_user_while_not_root_is_ignored_with_nginx_s_one_line_warning():
    """As an unprivileged user (setpriv when the tests run as root) the directive is
    ignored: one warning line, and the server runs as whoever started it."""
    tmp_path = Path(tempfile.mkdtemp(prefix="webserv-user-"))
    tmp_path.chmod(0o755)
    port = free_port()
    (tmp_path / "www").mkdir()
    conf = tmp_path / "c.conf"
    conf.write_text(f"user nobody;\nserver {{ listen 127.0.0.1:{port}; root www; }}\n")
    # as root, drop to nobody for the whole run (setpriv keeps the process, no PAM)
    setpriv = shutil.which("setpriv")
    if IS_ROOT and (setpriv is None or NOBODY is None):
        pytest.skip("needs setpriv to run unprivileged")
    prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if IS_ROOT else []
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "framework", "run", str(conf)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "listening" in proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        shutil.rmtree(tmp_path, ignore_errors=True)
    warnings = [line for line in err.splitlines() if '"user" directive' in line]
    assert len(warnings) == 1 and "super-user" in warnings[0] and "c.conf:1" in warnings[0]
