"""Soak test: SPEC 8 reliability under sustained load on loopback.

Not collected by pytest. Run ``python3 tests/benchmarks/soak.py [--requests N]``; it starts
webserv (1 worker, access log off, keepalive_timeout 2s) on a free loopback port and checks:

  a. siege on a small file: 100% availability, every response 2xx;
  b. after 100k requests (keep-alive and connection-per-request), the server's fd count and
     RSS come back to (near) their pre-load values;
  c. once the load stops and keepalive_timeout passes, no client connection is left open
     (including idle keep-alive connections the script leaves behind on purpose);
  b'. a second identical round adds no RSS and no fd (a leak grows every round);
  d. 60 sequential + 200 concurrent CGI requests, siege on the CGI, 100 clients that reset
     a streaming CGI mid-response: all 200, no zombie, no fd growth;
  e. SIGHUP reloads while siege runs: no failed transaction.

Every step is bounded (request counts, siege/loop deadlines) and the server is stopped at the
end. Prints a PASS/FAIL table; exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from framework.testing import ServerProcess

SIEGE = shutil.which("siege")
KEEPALIVE_S = 2
RSS_SLACK_KIB = 8 * 1024  # allocator arenas may keep a few MiB after a burst
RSS_ROUND2_SLACK_KIB = 2 * 1024

CONFIG = f"""
access_log off;
error_log stderr error;
server {{
    listen 127.0.0.1:{{port}};
    root www;
    keepalive_timeout {KEEPALIVE_S}s;
    client_header_timeout 5s;
    location / {{ allow_methods GET HEAD; }}
    location /cgi-bin/ {{ cgi .sh; allow_methods GET POST; }}
}}
"""

HELLO_SH = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nhello from cgi\\n'\n"
# answers at once, then keeps streaming for a while: clients reset it mid-response
SLOW_SH = (
    "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
    "while :; do echo tick; sleep 0.2; done\n"
)
SMALL = "<html><body>" + "x" * 1000 + "</body></html>\n"  # ~1 KiB, no links to follow


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


RESULTS: list[Check] = []


def check(name: str, ok: bool, detail: str) -> None:
    RESULTS.append(Check(name, ok, detail))
    print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}", flush=True)


# -- observation of the server process -----------------------------------------------------
def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def established(port: int) -> list[str]:
    """Established (or close-wait) TCP connections whose local port is the server's."""
    out = subprocess.run(
        ["ss", "-Htn", "state", "established", "state", "close-wait", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [line for line in out.splitlines() if line.strip()]


def zombies_and_children(pid: int) -> tuple[list[int], list[int]]:
    """(all children of ``pid``, those in state Z)."""
    kids, zombies = [], []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            kids.append(int(entry))
            if fields[0] == "Z":
                zombies.append(int(entry))
    return kids, zombies


def settle(predicate, timeout: float) -> bool:
    """Poll ``predicate`` until true or ``timeout`` passes (the script is the client side)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


# -- clients -------------------------------------------------------------------------------
def siege(url: str, *, concurrency: int, reps: int, keep_alive: bool, rc_dir: Path) -> dict:
    """Run siege in benchmark mode; return its JSON summary."""
    rc = rc_dir / f"siegerc-{'ka' if keep_alive else 'close'}"
    rc.write_text(
        "verbose = false\nquiet = true\njson_output = true\nparser = false\n"
        "logging = false\nprotocol = HTTP/1.1\nbenchmark = true\nlimit = 255\nchunked = true\n"
        f"connection = {'keep-alive' if keep_alive else 'close'}\n"
        "timeout = 30\nfailures = 1000000\n"
    )
    cmd = [SIEGE, "-R", str(rc), "-b", "-c", str(concurrency), "-r", str(reps), url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    text = proc.stdout.strip() or proc.stderr.strip()
    start = text.find("{")
    if start < 0:
        raise RuntimeError(f"siege gave no JSON summary:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(text[start : text.rfind("}") + 1])


def get_raw(port: int, path: str, *, keep_open: bool = False) -> tuple[int, socket.socket | None]:
    """One GET; returns (status, the open socket when ``keep_open``)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = "keep-alive" if keep_open else "close"
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: soak\r\nConnection: {conn}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    if keep_open:
        return status, sock
    while sock.recv(65536):
        pass
    sock.close()
    return status, None


def concurrent_gets(port: int, path: str, count: int, timeout: float = 60.0) -> list[int]:
    """``count`` simultaneous HTTP/1.0 GETs (close-delimited); returns their statuses."""
    sel = selectors.DefaultSelector()
    bufs: dict[socket.socket, bytearray] = {}
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: soak\r\n\r\n".encode())
        s.setblocking(False)
        bufs[s] = bytearray()
        sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    open_socks = set(bufs)
    while open_socks and time.monotonic() < deadline:
        for key, _ in sel.select(1.0):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if chunk:
                bufs[s] += chunk
            else:
                sel.unregister(s)
                open_socks.discard(s)
    statuses = []
    for s, buf in bufs.items():
        statuses.append(int(buf.split(b" ", 2)[1]) if buf.startswith(b"HTTP/") else 0)
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(s)
        s.close()
    sel.close()
    return statuses


def reset_clients(port: int, path: str, count: int) -> int:
    """``count`` concurrent clients that read the first bytes of the response, then RST."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: soak\r\n\r\n".encode())
        socks.append(s)
    done = 0
    for s in socks:
        with contextlib.suppress(OSError):
            if s.recv(16).startswith(b"HTTP/1.1 "):
                done += 1
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    return done


# -- the phases ----------------------------------------------------------------------------
def phase_static(srv: ServerProcess, total: int, rc_dir: Path) -> None:
    url = f"{srv.url}/small.html"
    pid, port = srv.pid, srv.port
    # warm up (imports, caches) so the baseline is a steady state
    siege(url, concurrency=10, reps=100, keep_alive=True, rc_dir=rc_dir)
    settle(lambda: not established(port), KEEPALIVE_S + 5)
    fd0, rss0 = fd_count(pid), rss_kib(pid)
    print(f"  baseline: {fd0} fds, {rss0 / 1024:.1f} MiB RSS", flush=True)

    conc = 50
    close_total = min(10_000, total // 10)  # connection-per-request; bounded by TIME_WAIT
    ka_total = total - close_total
    t0 = time.monotonic()
    ka = siege(url, concurrency=conc, reps=max(1, ka_total // conc), keep_alive=True, rc_dir=rc_dir)
    t1 = time.monotonic()
    cl = siege(
        url, concurrency=conc, reps=max(1, close_total // conc), keep_alive=False, rc_dir=rc_dir
    )
    t2 = time.monotonic()
    for label, r, secs in (("keep-alive", ka, t1 - t0), ("connection: close", cl, t2 - t1)):
        ok = (
            float(r.get("availability", 0)) == 100.0
            and r.get("failed_transactions", 1) == 0
            and r.get("successful_transactions") == r.get("transactions")
        )
        check(
            f"(a) siege -c {conc} {label}",
            ok,
            f"{r.get('transactions')} transactions in {secs:.1f}s "
            f"({r.get('transactions', 0) / max(secs, 1e-9):.0f} req/s), availability "
            f"{r.get('availability')}%, failed {r.get('failed_transactions')}, "
            f"2xx/3xx {r.get('successful_transactions')}",
        )
    done = int(ka.get("transactions", 0)) + int(cl.get("transactions", 0))

    # (c) leave idle keep-alive connections behind; the server must close them itself
    idle = []
    for _ in range(20):
        status, sock = get_raw(port, "/small.html", keep_open=True)
        idle.append(sock)
    t_idle = time.monotonic()
    closed = settle(lambda: not established(port), KEEPALIVE_S + 5)
    waited = time.monotonic() - t_idle
    left = established(port)
    check(
        "(c) no client connection left after keepalive_timeout",
        closed and not left,
        f"{len(left)} open {waited:.1f}s after the load (keepalive_timeout {KEEPALIVE_S}s, "
        f"20 idle keep-alive clients left behind)",
    )
    # the server closed them: each client sees EOF
    eof = 0
    for sock in idle:
        sock.settimeout(1)
        with contextlib.suppress(OSError):
            if sock.recv(1) == b"":
                eof += 1
        sock.close()
    check(
        "(c) idle keep-alive clients see the server's FIN",
        eof == len(idle),
        f"{eof}/{len(idle)} got EOF",
    )

    settle(lambda: fd_count(pid) <= fd0, 5)
    fd1, rss1 = fd_count(pid), rss_kib(pid)
    check("(b) fd count back to baseline", fd1 <= fd0, f"{fd0} before, {fd1} after {done} requests")
    check(
        "(b) RSS back near baseline",
        rss1 - rss0 <= RSS_SLACK_KIB,
        f"{rss0 / 1024:.1f} MiB before, {rss1 / 1024:.1f} MiB after "
        f"(+{(rss1 - rss0) / 1024:.1f} MiB, slack {RSS_SLACK_KIB // 1024} MiB)",
    )
    check("(b) 100k requests reached", done >= total, f"{done} requests (target {total})")

    # a leak grows with every round; allocator slack does not: run the keep-alive load again
    siege(url, concurrency=conc, reps=max(1, ka_total // conc), keep_alive=True, rc_dir=rc_dir)
    settle(lambda: not established(port), KEEPALIVE_S + 5)
    rss2 = rss_kib(pid)
    check(
        "(b) second round: no further RSS growth",
        rss2 - rss1 <= RSS_ROUND2_SLACK_KIB,
        f"{rss1 / 1024:.1f} MiB after round 1, {rss2 / 1024:.1f} MiB after round 2 "
        f"(+{(rss2 - rss1) / 1024:.1f} MiB, slack {RSS_ROUND2_SLACK_KIB // 1024} MiB)",
    )
    check(
        "(b) second round: fd count at baseline",
        fd_count(pid) <= fd0,
        f"{fd0} before, {fd_count(pid)} after",
    )


def phase_cgi(srv: ServerProcess, rc_dir: Path) -> None:
    pid, port = srv.pid, srv.port
    get_raw(port, "/cgi-bin/hello.sh")  # warm up
    settle(lambda: not zombies_and_children(pid)[0], 5)
    fd0 = fd_count(pid)
    seq = [get_raw(port, "/cgi-bin/hello.sh")[0] for _ in range(60)]
    check(
        "(d) 60 sequential CGI requests",
        all(s == 200 for s in seq),
        f"{sum(s == 200 for s in seq)}/60 got 200; others {sorted(set(seq) - {200})}",
    )
    par = concurrent_gets(port, "/cgi-bin/hello.sh", 200)
    check(
        "(d) 200 concurrent CGI requests",
        all(s == 200 for s in par),
        f"{sum(s == 200 for s in par)}/200 got 200; others {sorted(set(par) - {200})}",
    )
    r = siege(
        f"{srv.url}/cgi-bin/hello.sh", concurrency=25, reps=40, keep_alive=True, rc_dir=rc_dir
    )
    check(
        "(d) siege -c 25 on a CGI script",
        float(r.get("availability", 0)) == 100.0
        and r.get("failed_transactions") == 0
        and r.get("successful_transactions") == r.get("transactions"),
        f"{r.get('transactions')} transactions, availability {r.get('availability')}%, "
        f"failed {r.get('failed_transactions')}",
    )
    resets = reset_clients(port, "/cgi-bin/slow.sh", 100)
    check(
        "(d) 100 CGI clients resetting mid-response",
        resets == 100,
        f"{resets}/100 connections reset after the first response bytes",
    )
    gone = settle(lambda: not zombies_and_children(pid)[0], 10)
    kids, zombies = zombies_and_children(pid)
    check(
        "(d) no zombie, no child left",
        gone and not zombies,
        f"{len(kids)} children, {len(zombies)} zombies after the CGI load",
    )
    settle(lambda: fd_count(pid) <= fd0, 5)
    fd1 = fd_count(pid)
    check("(d) no fd growth after CGI load", fd1 <= fd0, f"{fd0} before, {fd1} after")
    check("(d) server still serves", get_raw(port, "/small.html")[0] == 200, "GET /small.html")


def phase_signals(srv: ServerProcess, rc_dir: Path) -> None:
    """(e) SIGHUP reloads while siege runs: no failed transaction."""
    rc = rc_dir / "siegerc-reload"
    rc.write_text(
        "verbose = false\nquiet = true\njson_output = true\nparser = false\n"
        "logging = false\nbenchmark = true\nchunked = true\nconnection = keep-alive\n"
    )
    load = subprocess.Popen(
        [SIEGE, "-R", str(rc), "-b", "-c", "20", "-r", "1500", f"{srv.url}/small.html"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reloads = 0
    try:
        while load.poll() is None and reloads < 10:
            time.sleep(0.3)
            srv.proc.send_signal(signal.SIGHUP)
            reloads += 1
        out, err = load.communicate(timeout=300)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    text = out.strip() or err.strip()
    r = json.loads(text[text.find("{") : text.rfind("}") + 1]) if "{" in text else {}
    ok = (
        r.get("failed_transactions") == 0
        and float(r.get("availability", 0)) == 100.0
        and r.get("successful_transactions") == r.get("transactions")
    )
    check(
        "(e) SIGHUP reloads during load",
        ok and reloads > 0,
        f"{reloads} reloads, {r.get('transactions')} transactions, availability "
        f"{r.get('availability')}%, failed {r.get('failed_transactions')}",
    )
    check(
        "(e) server serves after the reloads",
        get_raw(srv.port, "/small.html")[0] == 200,
        "GET /small.html",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="static requests total")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    args = parser.parse_args()
    if SIEGE is None:
        raise SystemExit("siege is not installed")
    with tempfile.TemporaryDirectory(prefix="webserv-soak-") as tmp:
        root = Path(tmp)
        files = {
            "www/small.html": SMALL,
            "www/cgi-bin/hello.sh": HELLO_SH,
            "www/cgi-bin/slow.sh": SLOW_SH,
        }
        config = CONFIG if args.loop == "auto" else f"event_loop {args.loop};\n" + CONFIG
        srv = ServerProcess(config, cwd=root, files=files)
        for script in ("hello.sh", "slow.sh"):
            (root / "www/cgi-bin" / script).chmod(0o755)
        srv.start()
        try:
            print(f"webserv pid {srv.pid} on {srv.url} (loop {args.loop})", flush=True)
            print("static load:", flush=True)
            phase_static(srv, args.requests, root)
            print("cgi load:", flush=True)
            phase_cgi(srv, root)
            print("reload and stop under load:", flush=True)
            phase_signals(srv, root)
            check("server alive at the end", srv.proc.poll() is None, "process still running")
        finally:
            code = srv.stop()
        check("clean shutdown", code == 0, f"exit code {code}")
    width = max(len(c.name) for c in RESULTS)
    print("\n" + "=" * (width + 60))
    for c in RESULTS:
        print(f"{'PASS' if c.ok else 'FAIL'}  {c.name:<{width}}  {c.detail}")
    failed = [c for c in RESULTS if not c.ok]
    print(f"\n{len(RESULTS) - len(failed)}/{len(RESULTS)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
