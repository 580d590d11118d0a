"""TLS benchmark (SPEC 8, issue 10): webserv vs nginx, 1 worker each, the same certificate.

    python tests/benchmarks/bench_tls.py [--seconds 5] [--rounds 3] [--connections 50]

Workloads, each as requests/s (or MiB/s) with the ratio to nginx and the server's CPU time
per request (from /proc, steadier than throughput on a shared machine):
- 1 KiB static over TLS, keep-alive (wrk, 50 connections): target >= 0.8x;
- new TLS handshakes per second: wrk with ``Connection: close`` (one handshake per request,
  16 connections; wrk resumes its TLS session on reconnecting) and ``openssl s_time -new``
  (full handshakes, one connection at a time): target >= 0.8x;
- 100 MiB file over TLS (curl to /dev/null, one transfer at a time): target >= 0.6x.
The servers run side by side and are measured in alternation over ``--rounds`` rounds,
each one's best round kept. ``--profile`` runs webserv under cProfile (slower) and prints
its top functions at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pstats
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from harness import (  # noqa: E402
    cpu_seconds,
    free_port,
    nginx_cmd,
    process,
    rss_kib,
    webserv_cmd,
    wrk,
)
from tls_certs import make_cert  # noqa: E402

BIG = 100 * 1024 * 1024
TARGETS = {
    "1 KiB keep-alive": 0.8,
    "new handshakes": 0.8,
    "full handshakes (s_time)": 0.8,
    "100 MiB": 0.6,
}


def curl_seconds(url: str, pid: int) -> tuple[float, int]:
    """Seconds to fetch ``url`` with curl, and the server's peak RSS growth (KiB) meanwhile."""
    curl = shutil.which("curl")
    if curl is None:
        raise SystemExit("curl is not installed")
    before = peak = rss_kib(pid)
    start = time.perf_counter()
    proc = subprocess.Popen([curl, "-sk", "-o", "/dev/null", "--fail", url])
    while proc.poll() is None:
        peak = max(peak, rss_kib(pid))
        time.sleep(0.02)  # benchmark sampling interval, not a wait for the server
    if proc.returncode:
        raise SystemExit(f"curl failed with {proc.returncode}")
    return time.perf_counter() - start, peak - before


def s_time(port: int, seconds: int) -> int:
    """Full handshakes (no resumption) fetching the 1 KiB file in ``seconds``."""
    out = subprocess.run(
        [
            "openssl",
            "s_time",
            "-connect",
            f"127.0.0.1:{port}",
            "-new",
            "-time",
            str(seconds),
            "-www",
            "/small.html",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"(\d+) connections in [\d.]+s", out)
    return int(match.group(1)) if match else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--profile", action="store_true", help="run webserv under cProfile")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="webserv-bench-tls-"))
    www = tmp / "www"
    www.mkdir()
    (www / "small.html").write_bytes(b"x" * 1024)
    (www / "big.bin").write_bytes(os.urandom(1024 * 1024) * (BIG // (1024 * 1024)))
    cert, key = make_cert(tmp, ["localhost", "127.0.0.1"])

    port = free_port()
    conf = tmp / "webserv.conf"
    conf.write_text(
        textwrap.dedent(f"""
        workers 1;
        server {{
            listen 127.0.0.1:{port} ssl;
            ssl_certificate {cert};
            ssl_certificate_key {key};
            root www;
            access_log off;
            location / {{ allow_methods GET HEAD; }}
        }}
    """)
    )
    cmd = webserv_cmd(conf)
    if args.profile:
        cmd = [sys.executable, "-m", "cProfile", "-o", str(tmp / "webserv.prof"), *cmd[1:]]
    servers = [("webserv", cmd, port)]
    nginx_port = free_port()
    nginx = nginx_cmd(
        tmp,
        free_port(),
        www,
        f"server {{ listen 127.0.0.1:{nginx_port} ssl; ssl_certificate {cert}; "
        f"ssl_certificate_key {key}; root {www}; }}",
    )
    if nginx is not None:
        servers.append(("nginx", nginx, nginx_port))

    results: dict[str, dict[str, float]] = {}  # workload -> server -> best throughput
    cpu_us: dict[str, dict[str, float]] = {}  # workload -> server -> best CPU us/request
    with contextlib.ExitStack() as stack:
        up = []
        for name, command, p in servers:
            proc = stack.enter_context(process(command, p, cwd=tmp))
            wrk(f"https://127.0.0.1:{p}/small.html", connections=args.connections, seconds=1)
            up.append((name, p, proc))
        for round_no in range(args.rounds):
            for name, p, proc in up:
                pid = proc.pid
                for workload, url, conns, headers in (
                    ("1 KiB keep-alive", "/small.html", args.connections, None),
                    ("new handshakes", "/small.html", 16, "Connection: close"),
                ):
                    before = cpu_seconds(pid)
                    script = None
                    if headers:
                        script = str(tmp / "close.lua")
                        Path(script).write_text('wrk.headers["Connection"] = "close"\n')
                    r = wrk(
                        f"https://127.0.0.1:{p}{url}",
                        connections=conns,
                        seconds=args.seconds,
                        script=script,
                    )
                    used = (cpu_seconds(pid) - before) / max(r["requests"], 1) * 1e6
                    _keep(results, cpu_us, workload, name, r["rps"], used)
                    print(
                        f"round {round_no + 1}: {name}: {workload}: {r['rps']:.0f} req/s "
                        f"(errors {int(r['errors'])}), {used:.1f} us CPU/request",
                        flush=True,
                    )
                before = cpu_seconds(pid)
                started = time.perf_counter()
                count = s_time(p, args.seconds)
                rate = count / (time.perf_counter() - started)
                used = (cpu_seconds(pid) - before) / max(count, 1) * 1e6
                _keep(results, cpu_us, "full handshakes (s_time)", name, rate, used)
                print(
                    f"round {round_no + 1}: {name}: full handshakes: {rate:.0f}/s, "
                    f"{used:.1f} us CPU/connection",
                    flush=True,
                )
                before = cpu_seconds(pid)
                seconds, grown = curl_seconds(f"https://127.0.0.1:{p}/big.bin", pid)
                used = (cpu_seconds(pid) - before) * 1e6
                mib_s = BIG / seconds / 2**20
                _keep(results, cpu_us, "100 MiB", name, mib_s, used)
                print(
                    f"round {round_no + 1}: {name}: 100 MiB: {mib_s:.0f} MiB/s, "
                    f"{used / 1000:.0f} ms CPU/transfer, RSS +{grown / 1024:.1f} MiB at peak",
                    flush=True,
                )
        if args.profile:
            os.kill(up[0][2].pid, signal.SIGTERM)
            up[0][2].wait(15)

    print("\n| workload | webserv | nginx | ratio | target | CPU/request webserv | nginx |")
    print("|---|---|---|---|---|---|---|")
    for workload, target in TARGETS.items():
        got = results.get(workload, {})
        ours, theirs = got.get("webserv", float("nan")), got.get("nginx", float("nan"))
        unit = "MiB/s" if workload == "100 MiB" else "req/s"
        cpu = cpu_us.get(workload, {})
        scale, cpu_unit = (1000, "ms") if workload == "100 MiB" else (1, "us")
        print(
            f"| {workload} | {ours:.0f} {unit} | {theirs:.0f} {unit} | {ours / theirs:.2f}x | "
            f">= {target}x | {cpu.get('webserv', float('nan')) / scale:.1f} {cpu_unit} | "
            f"{cpu.get('nginx', float('nan')) / scale:.1f} {cpu_unit} |"
        )
    if args.profile and (tmp / "webserv.prof").exists():
        pstats.Stats(str(tmp / "webserv.prof")).sort_stats("tottime").print_stats(25)
    shutil.rmtree(tmp, ignore_errors=True)


def _keep(results, cpu_us, workload: str, name: str, value: float, used: float) -> None:
    per = results.setdefault(workload, {})
    per[name] = max(per.get(name, 0.0), value)
    cpu = cpu_us.setdefault(workload, {})
    cpu[name] = min(cpu.get(name, used), used)


if __name__ == "__main__":
    main()
