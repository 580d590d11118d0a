"""Shared pieces of the benchmark scripts: start servers on free ports, run wrk, report.

Not collected by pytest. Every server runs on loopback only; every load run is bounded in
time (wrk -d) and each started process is stopped when the script ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from framework.testing import free_port  # noqa: F401  (re-exported)

WRK = shutil.which("wrk")


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 15.0) -> None:
    """Block until something accepts on 127.0.0.1:port (or raise)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # benchmark harness only: waiting for a foreign server to bind
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


@contextlib.contextmanager
def process(
    cmd: Sequence[str], port: int, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """Run ``cmd`` (a server listening on ``port``) for the duration of the block."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_port(port, proc)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wrk(
    url: str,
    *,
    connections: int = 50,
    threads: int = 1,
    seconds: int = 10,
    script: str | None = None,
) -> dict[str, float]:
    """Run wrk and return {'rps': ..., 'errors': ..., 'latency_ms': ...}."""
    if WRK is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    cmd = [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    lat = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = float(lat.group(1)) * scale[lat.group(2)] if lat else float("nan")
    done = re.search(r"(\d+) requests in", out)
    requests = int(done.group(1)) if done else rps * seconds
    return {"rps": rps, "errors": errors, "latency_ms": latency, "requests": requests}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants so far, from /proc: per
    request, a steadier measure than requests/s on a machine shared with other load."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` plus its descendants' (KiB), from /proc."""
    total = 0
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                kids.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def nginx_cmd(tmp: Path, port: int, root: Path, http_extra: str = "") -> list[str] | None:
    """Write a 1-worker nginx config serving ``root`` on ``port`` into ``tmp`` (temp paths
    and logs there too, access log off, ``http_extra`` directives added) and return the
    command that runs it in the foreground; None when nginx is not installed."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        return None
    temp = " ".join(
        f"{kind}_temp_path {tmp};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"worker_processes 1; daemon off; pid {tmp}/nginx.pid;\n"
        f"error_log {tmp}/nginx-error.log;\n"
        "events { worker_connections 1024; }\n"
        f"http {{ access_log off; {temp}\n{http_extra}\n"
        f"server {{ listen 127.0.0.1:{port}; root {root}; }} }}\n"
    )
    return [nginx, "-c", str(conf), "-p", str(tmp)]


def webserv_cmd(config: Path) -> list[str]:
    return [sys.executable, "-m", "framework", "run", str(config)]


def report(title: str, results: dict[str, dict[str, float]], baseline: str) -> None:
    """Print a table of requests/s and each server's ratio to ``baseline``."""
    print(f"\n== {title}")
    base = results.get(baseline, {}).get("rps") or float("nan")
    for name, r in results.items():
        print(
            f"{name:<28} {r['rps']:>12.0f} req/s  errors {int(r['errors']):>5}  "
            f"p50-ish {r['latency_ms']:.2f} ms  x{r['rps'] / base:.2f} of {baseline}"
        )
