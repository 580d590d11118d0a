"""Process supervision of `webserv run` (issue 9 item 9, and the respawn storm of item 11):
SIGUSR1 reopens the logs, a second instance cannot take a share of a busy port, respawned
workers run the current config, workers die with their master, `workers` changes on reload,
an invalid reload is logged once, unwritable pid/error_log paths fail cleanly, and a worker
failing at startup is not respawned in a tight loop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from nginx_reference import NGINX, requires_nginx, wait_port

from framework.testing import (
    ServerProcess,
    free_port,
    process_gone,
    read_response,
    wait_until,
)

SITE = """
shutdown_timeout 5s;
{extra}
server {{
    listen 127.0.0.1:{{port}};
    root {root};
    keepalive_timeout 30s;
}}
"""


def site(tmp_path: Path, extra: str = "", root: str = "www", text: str = "first\n") -> str:
    (tmp_path / root).mkdir(exist_ok=True)
    (tmp_path / root / "index.html").write_text(text)
    return SITE.format(extra=extra, root=root)


def start(tmp_path: Path, config: str, **kwargs) -> ServerProcess:
    return ServerProcess(config, cwd=tmp_path, **kwargs).start()


def rewrite(srv: ServerProcess, config: str) -> None:
    assert srv.config_path is not None
    srv.config_path.write_text(config.replace("{port}", str(srv.port)))


def body_of(srv: ServerProcess) -> bytes:
    return srv.get("/index.html").body


def settled_children(srv: ServerProcess, count: int) -> list[int]:
    """The workers once exactly ``count`` of them run (retiring ones have left)."""
    assert wait_until(lambda: len(live_children(srv)) == count, timeout=20)
    return live_children(srv)


def live_children(srv: ServerProcess) -> list[int]:
    return [pid for pid in srv.children() if not process_gone(pid)]


def run_cli(
    args: list[str], cwd: Path, timeout: float = 30, pythonpath: Path | None = None
) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "framework", "run", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # it serves instead of failing: stop it, then fail
        proc.send_signal(signal.SIGQUIT)
        out, err = proc.communicate(timeout=15)
        pytest.fail(f"`webserv run` kept running (stdout: {out!r})")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# -- 1. SIGUSR1 reopens the logs ---------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2])
def test_sigusr1_reopens_the_error_log_and_every_access_log_after_a_rename(tmp_path, workers):
    (tmp_path / "logs").mkdir()
    extra = (
        f"workers {workers}; pid run.pid; error_log logs/error.log info;\n"
        "access_log logs/access.log;"
    )
    srv = start(tmp_path, site(tmp_path, extra))
    logs = tmp_path / "logs"
    assert srv.get("/index.html?before").status == 200
    assert wait_until(lambda: "before" in (logs / "access.log").read_text())
    (logs / "access.log").rename(logs / "access.log.1")
    (logs / "error.log").rename(logs / "error.log.1")

    srv.proc.send_signal(signal.SIGUSR1)
    # the master (when there is one) and every worker say so in the new error log
    assert wait_until(
        lambda: (
            (logs / "error.log").exists()
            and (logs / "error.log").read_text().count("reopened") == workers + (workers > 1)
        )
    )
    assert (logs / "access.log").exists()
    for i in range(2 * workers):
        assert srv.get(f"/index.html?after{i}").status == 200
    assert wait_until(lambda: (logs / "access.log").read_text().count("after") == 2 * workers)
    assert "after" not in (logs / "access.log.1").read_text()
    assert srv.proc.poll() is None
    assert len(live_children(srv)) == (workers if workers > 1 else 0)
    assert srv.stop() == 0
    assert not (tmp_path / "run.pid").exists()


# -- 2. a second instance on a busy port ------------------------------------------------------
@pytest.mark.parametrize(("first", "second"), [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_a_second_instance_on_a_busy_port_exits_3_and_takes_no_traffic(tmp_path, first, second):
    srv = start(tmp_path, site(tmp_path, f"workers {first};"))
    other = tmp_path / "other"
    other.mkdir()
    config = site(other, f"workers {second};", text="hijacked\n").replace("{port}", str(srv.port))
    (other / "c.conf").write_text(config)
    proc = run_cli(["c.conf"], other)
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{srv.port}" in lines[0] and "in use" in lines[0]
    assert "listening" not in proc.stdout
    assert all(body_of(srv) == b"first\n" for _ in range(20))
    assert srv.stop() == 0


@requires_nginx
def test_nginx_also_refuses_a_second_instance_on_a_busy_port(tmp_path):
    """The differential: nginx (without `reuseport`) cannot bind a port in use either."""
    assert NGINX is not None
    port = free_port()

    def nginx(name: str) -> subprocess.Popen:
        base = tmp_path / name
        base.mkdir()
        (base / "nginx.conf").write_text(
            f"daemon off; worker_processes 2; pid {base / 'nginx.pid'};\n"
            f"error_log {base / 'error.log'};\n"
            "events { worker_connections 64; }\n"
            f"http {{ access_log off; client_body_temp_path {base}; "
            f"server {{ listen 127.0.0.1:{port}; return 200 '{name}'; }} }}\n"
        )
        return subprocess.Popen(
            [NGINX, "-c", str(base / "nginx.conf"), "-p", str(base), "-e", str(base / "e.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = nginx("first")
    try:
        wait_port(port, first)
        second = nginx("second")
        try:
            _, err = second.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait()
            pytest.fail("a second nginx started on a busy port")
        assert second.returncode != 0 and "in use" in err
    finally:
        first.terminate()
        first.wait(timeout=10)


# -- 3. a respawned worker runs the current config ---------------------------------------------
def test_a_worker_respawned_after_a_reload_serves_the_current_config(tmp_path):
    config = site(tmp_path, "workers 2;")
    srv = start(tmp_path, config)
    before = set(settled_children(srv, 2))
    rewrite(srv, site(tmp_path, "workers 2;", root="www2", text="second\n"))
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: body_of(srv) == b"second\n")
    assert wait_until(lambda: not before & set(live_children(srv)), timeout=20)
    workers = settled_children(srv, 2)

    os.kill(workers[0], signal.SIGKILL)
    assert wait_until(lambda: len(set(live_children(srv)) - set(workers)) == 1, timeout=20)
    assert srv.wait_for_log("starting a new one")
    bodies = [body_of(srv) for _ in range(40)]
    assert bodies == [b"second\n"] * 40
    assert srv.stop() == 0


def test_a_reload_with_workers_binds_a_new_address_in_the_master_and_closes_a_removed_one(
    tmp_path,
):
    srv = start(tmp_path, site(tmp_path, "workers 2;"))
    other = free_port()
    rewrite(srv, site(tmp_path, "workers 2;").replace("{port}", str(other)))
    srv.proc.send_signal(signal.SIGHUP)
    assert srv.wait_for_log(rf"listening on http://127\.0\.0\.1:{other}", stream="stdout")
    settled_children(srv, 2)
    for _ in range(10):
        with socket.create_connection(("127.0.0.1", other), timeout=5) as sock:
            sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            assert read_response(sock).status == 200
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
    assert srv.stop() == 0


# -- 4. workers die with their master ----------------------------------------------------------
def test_workers_stop_when_the_master_is_killed(tmp_path):
    srv = start(tmp_path, site(tmp_path, "workers 2;"))
    workers = settled_children(srv, 2)
    srv.kill()  # SIGKILL: no chance to tell anybody
    assert wait_until(lambda: all(process_gone(pid) for pid in workers), timeout=20)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()


# -- 5. `workers` changed by a reload ------------------------------------------------------
def test_a_reload_applies_a_changed_workers_value(tmp_path):
    srv = start(tmp_path, site(tmp_path, "workers 2;"))
    settled_children(srv, 2)
    rewrite(srv, site(tmp_path, "workers 3;", root="www2", text="second\n"))
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: body_of(srv) == b"second\n")
    settled_children(srv, 3)
    rewrite(srv, site(tmp_path, "workers 1;", root="www3", text="third\n"))
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: body_of(srv) == b"third\n")
    settled_children(srv, 1)
    assert all(body_of(srv) == b"third\n" for _ in range(10))
    assert srv.stop() == 0


def test_a_single_process_logs_once_that_more_workers_need_a_restart(tmp_path):
    srv = start(tmp_path, site(tmp_path))
    rewrite(srv, site(tmp_path, "workers 2;", root="www2", text="second\n"))
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: body_of(srv) == b"second\n")
    assert srv.wait_for_log("workers 2 needs a restart")
    assert srv.stderr.count("needs a restart") == 1
    assert srv.stop() == 0


# -- 6. an invalid reload is logged once ---------------------------------------------------
def test_an_invalid_reload_is_logged_once_by_the_master_and_the_old_config_serves(tmp_path):
    config = site(tmp_path, "workers 2;")
    srv = start(tmp_path, config)
    rewrite(srv, "workers 2; server { listen 127.0.0.1:{port}; nonsense_directive; }\n")
    srv.proc.send_signal(signal.SIGHUP)
    assert srv.wait_for_log("nonsense_directive")
    assert all(body_of(srv) == b"first\n" for _ in range(10))
    # a valid reload after it: by the time it serves, any other logger would have logged
    rewrite(srv, site(tmp_path, "workers 2;", root="www2", text="second\n"))
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: body_of(srv) == b"second\n")
    settled_children(srv, 2)
    assert srv.stderr.count("invalid configuration") == 1
    assert srv.stop() == 0


# -- 7. pid / error_log where they cannot be written ----------------------------------------
def refuses_to_start(tmp_path: Path, directive: str) -> tuple[list[str], int]:
    """Run with ``directive``; check it exits 1 before serving, with no traceback."""
    port = free_port()
    config = site(tmp_path, directive).replace("{port}", str(port))
    (tmp_path / "c.conf").write_text(config)
    proc = run_cli(["c.conf"], tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "listening" not in proc.stdout
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    return proc.stderr.strip().splitlines(), port


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("directive", ["pid", "error_log"])
def test_pid_or_error_log_in_a_missing_directory_refuses_to_start(tmp_path, workers, directive):
    lines, _ = refuses_to_start(tmp_path, f"workers {workers}; {directive} missing/x.log;")
    assert any("missing" in line for line in lines)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("directive", ["pid", "error_log"])
def test_pid_or_error_log_that_fails_to_open_at_start_is_one_line_and_exit_1(
    tmp_path, workers, directive
):
    """A path the config check cannot see through (a dangling symlink into a missing
    directory) fails when `run` opens it: one line naming it, exit 1."""
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "out").symlink_to(tmp_path / "gone" / "out")
    lines, _ = refuses_to_start(tmp_path, f"workers {workers}; {directive} var/out;")
    assert len(lines) == 1, lines
    assert "var/out" in lines[0] and "No such file or directory" in lines[0]


# -- 9 (issue item 11). startup failures are not respawned in a tight loop ------------------
PLUGIN = '''
import os
from framework import Handler


class Fragile(Handler):
    """Its startup fails while the file "fail" exists; every attempt is counted."""
    name = "fragile"

    async def startup(self):
        with open("attempts.txt", "a") as f:
            f.write("x")
        if os.path.exists("fail"):
            raise RuntimeError("fragile cannot start for the test")

    async def handle(self, request, call_next):
        return await call_next(request)
'''


def fragile(tmp_path: Path, workers: int) -> str:
    (tmp_path / "webserv_fragile_plugin.py").write_text(PLUGIN)
    return site(tmp_path, f"workers {workers}; load_module webserv_fragile_plugin;").replace(
        "keepalive_timeout 30s;", "keepalive_timeout 30s; location / { handler fragile; }"
    )


def test_workers_failing_at_startup_back_off_then_the_master_gives_up_with_exit_1(tmp_path):
    srv = start(tmp_path, fragile(tmp_path, 2), env={"PYTHONPATH": str(tmp_path)})
    assert body_of(srv) == b"first\n"
    (tmp_path / "fail").touch()
    os.kill(settled_children(srv, 2)[0], signal.SIGKILL)  # it served: replaced at once
    assert srv.proc.wait(60) == 1
    srv.stop()
    from framework.supervisor import MAX_STARTUP_FAILURES

    attempts = (tmp_path / "attempts.txt").read_text().count("x")
    assert attempts == 2 + MAX_STARTUP_FAILURES  # the two first workers, then the failures
    assert srv.stderr.count("before accepting; starting a new one in") == MAX_STARTUP_FAILURES - 1
    assert f"workers keep failing at startup ({MAX_STARTUP_FAILURES} in a row" in srv.stderr
    assert "Traceback" not in srv.stderr
    assert all(process_gone(pid) for pid in srv.children())


def test_a_worker_that_served_and_crashed_is_respawned(tmp_path):
    srv = start(tmp_path, fragile(tmp_path, 2), env={"PYTHONPATH": str(tmp_path)})
    workers = settled_children(srv, 2)
    os.kill(workers[0], signal.SIGKILL)
    assert wait_until(lambda: len(set(live_children(srv)) - set(workers)) == 1, timeout=20)
    assert all(body_of(srv) == b"first\n" for _ in range(10))
    assert srv.stop() == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_a_plugin_startup_that_always_fails_exits_1_without_a_traceback(tmp_path, workers):
    (tmp_path / "fail").touch()
    config = fragile(tmp_path, workers).replace("{port}", str(free_port()))
    (tmp_path / "c.conf").write_text(config)
    proc = run_cli(["c.conf"], tmp_path, timeout=60, pythonpath=tmp_path)
    assert proc.returncode == 1
    assert "fragile cannot start for the test" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "listening" not in proc.stdout
    assert "c.conf:" in proc.stderr and 'handler "fragile": startup() failed' in proc.stderr
    # the first workers cannot start: the master stops at once, no respawn
    assert "starting a new one" not in proc.stderr
    assert 1 <= (tmp_path / "attempts.txt").read_text().count("x") <= workers
