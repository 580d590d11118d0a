"""Reverse proxy benchmark (issue 11): webserv ``proxy_pass`` vs nginx ``proxy_pass``.

    python tests/benchmarks/bench_proxy.py [--seconds 5] [--rounds 5] [--connections 50]
        [--workers 1] [--big-rounds 2] [--read-rate 64] [--sink-rate 64] [--profile]

One upstream for both fronts, so the fronts differ only in the proxy:
- a fast upstream: nginx (1 worker) answering ``GET /`` with ``return 200 "hello"`` and
  serving a 100 MiB file, keep-alive requests unlimited;
- a body sink: ``apps/bench11_sink.py``, which reads request bodies at ``--sink-rate``
  MiB/s, discards them and answers the byte count.
Fronts (``--workers`` each, access log off): nginx and webserv, each with ``upstream``
blocks holding a keep-alive pool (``keepalive 32``), ``proxy_http_version 1.1`` and
``proxy_set_header Connection ""``, as nginx needs for upstream keep-alive.

Workloads:
1. ``GET /`` through each front with wrk (keep-alive, fixed duration), the fronts measured in
   alternation over ``--rounds`` rounds: median requests/s and the front's CPU time per
   request (from /proc; the upstream's CPU is not counted). Target: webserv >= 0.6x nginx.
2. 100 MiB each way, ``--big-rounds`` times per front: a POST of 100 MiB (Content-Length,
   then chunked) sent as fast as the client can into the sink, and a GET of the 100 MiB
   file read by a client capped at ``--read-rate`` MiB/s, so the proxy must apply
   backpressure both ways.
   The front's RSS (VmRSS of its processes) is sampled every 10 ms during each transfer;
   the figure is the peak minus the RSS just before. Target: < +32 MiB for webserv.
``--reference`` adds webserv answering ``hello`` from a native plugin (no upstream) to the
req/s rounds: the engine's own cost, to tell it from the proxy's. ``--profile`` then runs a
webserv front under cProfile with wrk and prints its top functions.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import socket
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import httptools

sys.path.insert(0, str(Path(__file__).parent))

from alternate import (  # noqa: E402
    TABLE_HEAD,
    Server,
    alternate,
    fetch,
    profile_summary,
    profiled,
    ratio_row,
    running,
    start_profile,
)
from harness import free_port, process, rss_kib, webserv_cmd, wrk  # noqa: E402

HERE = Path(__file__).parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BIG = 100 * 2**20
RSS_LIMIT_MIB = 32
REFERENCE = "webserv, plugin hello (no upstream)"
PLUGIN = """
from framework import Handler, Response

class Hello(Handler):
    name = "bench11_hello"
    async def handle(self, request, call_next):
        return Response(200, b"hello", headers={"Content-Type": "text/plain"})
"""


def nginx_server(tmp: Path, name: str, port: int, workers: int, http: str) -> Server:
    """An nginx run as this user from its own prefix ``tmp/name`` with ``http`` inside http."""
    base = tmp / name
    base.mkdir()
    temp = " ".join(
        f"{kind}_temp_path {base};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = base / "nginx.conf"
    # as root, nginx's workers would switch to nobody, who cannot read the temporary files
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{user}worker_processes {workers}; daemon off; pid {base}/nginx.pid;\n"
        f"error_log {base}/error.log;\n"
        "events { worker_connections 4096; }\n"
        f"http {{ access_log off; {temp}\n{http}\n}}\n"
    )
    return Server(
        name, [NGINX, "-c", str(conf), "-p", str(base), "-e", str(base / "error.log")], port
    )


def upstream_blocks(fast: int, sink: int) -> str:
    return (
        f"upstream fast {{ server 127.0.0.1:{fast}; keepalive 32; }}\n"
        f"upstream sink {{ server 127.0.0.1:{sink}; keepalive 8; }}\n"
    )


PROXY_LOCATIONS = """
    location / { proxy_pass http://fast; proxy_http_version 1.1;
                 proxy_set_header Connection ""; }
    location /sink { proxy_pass http://sink; proxy_http_version 1.1;
                     proxy_set_header Connection ""; client_max_body_size 0; }
"""


def webserv_conf(tmp: Path, name: str, port: int, workers: int, fast: int, sink: int) -> Path:
    conf = tmp / f"{name}.conf"
    conf.write_text(
        f"workers {workers};\nevent_loop uvloop;\n{upstream_blocks(fast, sink)}"
        f"server {{\n    listen 127.0.0.1:{port};\n    access_log off;\n"
        f"{textwrap.indent(PROXY_LOCATIONS, '    ')}}}\n"
    )
    return conf


class RssSampler:
    """Samples the RSS of ``pid`` (and its children) every 10 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = rss_kib(pid)
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_kib(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))

    @property
    def grown_mib(self) -> float:
        return (self.peak - self.before) / 1024


class _Counter:
    """httptools callbacks: the status, the body length, the end."""

    def __init__(self) -> None:
        self.body = 0
        self.tail = b""
        self.complete = False

    def on_body(self, body: bytes) -> None:
        self.body += len(body)
        self.tail = (self.tail + body)[-64:]

    def on_message_complete(self) -> None:
        self.complete = True


def upload(port: int, chunked: bool = False) -> tuple[float, str]:
    """POST 100 MiB to /sink as fast as possible, with Content-Length or chunked (1 MiB
    chunks): (seconds, problem)."""
    block = memoryview(bytes(range(256)) * 4096)  # 1 MiB
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BIG}"
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(
            f"POST /sink HTTP/1.1\r\nHost: bench\r\n{framing}\r\n"
            "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n".encode()
        )
        for _ in range(BIG // len(block)):
            if chunked:
                s.sendall(b"100000\r\n")
            s.sendall(block)
            if chunked:
                s.sendall(b"\r\n")
        if chunked:
            s.sendall(b"0\r\n\r\n")
        counter = _Counter()
        parser = httptools.HttpResponseParser(counter)
        while not counter.complete:
            data = s.recv(65536)
            if not data:
                break
            parser.feed_data(data)
    took = time.perf_counter() - start
    status = parser.get_status_code()
    if status != 200 or counter.tail.strip() != f"received {BIG}".encode():
        return took, f"answered {status} {counter.tail!r}"
    return took, ""


def download(port: int, rate: float) -> tuple[float, str]:
    """GET the 100 MiB file, reading at most ``rate`` bytes/s: (seconds, problem)."""
    start = time.perf_counter()
    counter = _Counter()
    parser = httptools.HttpResponseParser(counter)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        got = 0
        while not counter.complete:
            data = s.recv(65536)
            if not data:
                break
            got += len(data)
            parser.feed_data(data)
            ahead = got / rate - (time.perf_counter() - start) if rate else 0
            if ahead > 0:
                time.sleep(ahead)  # the slow reader: backpressure must reach the upstream
    took = time.perf_counter() - start
    if parser.get_status_code() != 200 or counter.body != BIG:
        return took, f"answered {parser.get_status_code()} with {counter.body} body bytes"
    return took, ""


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--big-rounds", type=int, default=2)
    ap.add_argument("--read-rate", type=float, default=64, help="download reader, MiB/s")
    ap.add_argument("--sink-rate", type=float, default=64, help="upload sink, MiB/s (0: no cap)")
    ap.add_argument("--skip-big", action="store_true", help="only the req/s workload")
    ap.add_argument(
        "--reference",
        action="store_true",
        help="also measure webserv answering from a plugin (the engine's floor, no proxy)",
    )
    ap.add_argument(
        "--profile", action="store_true", help="afterwards, profile a webserv front under wrk"
    )
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="webserv-bench-proxy-"))
    try:
        www = tmp / "www"
        www.mkdir()
        (www / "big.bin").write_bytes(bytes(range(256)) * (BIG // 256))
        fast_port, sink_port = free_port(), free_port()
        upstreams = [
            nginx_server(
                tmp,
                "upstream-nginx",
                fast_port,
                1,
                f"keepalive_requests 1000000; server {{ listen 127.0.0.1:{fast_port}; "
                f"root {www}; location = / {{ default_type text/plain; "
                'return 200 "hello"; } }',
            ),
            Server(
                "sink",
                [
                    sys.executable,
                    str(HERE / "apps" / "bench11_sink.py"),
                    str(sink_port),
                    str(args.sink_rate),
                ],
                sink_port,
            ),
        ]
        front_port = free_port()
        webserv_port = free_port()
        fronts = [
            Server(
                "webserv",
                webserv_cmd(
                    webserv_conf(tmp, "webserv", webserv_port, args.workers, fast_port, sink_port)
                ),
                webserv_port,
            ),
            nginx_server(
                tmp,
                "nginx",
                front_port,
                args.workers,
                f"keepalive_requests 1000000;\n{upstream_blocks(fast_port, sink_port)}"
                f"server {{ listen 127.0.0.1:{front_port};\n{PROXY_LOCATIONS} }}",
            ),
        ]
        if args.reference:
            (tmp / "bench11_hello_plugin.py").write_text(PLUGIN)
            port = free_port()
            conf = tmp / "reference.conf"
            conf.write_text(
                f"workers {args.workers};\nevent_loop uvloop;\nload_module bench11_hello_plugin;\n"
                f"server {{ listen 127.0.0.1:{port}; access_log off; "
                "location / { handler bench11_hello; } }\n"
            )
            fronts.append(Server(REFERENCE, webserv_cmd(conf), port, {"PYTHONPATH": str(tmp)}))
        threads = 2 if args.workers > 1 else 1

        def check(server: Server) -> str | None:
            status, body = fetch(server.port)
            if status != 200 or body != b"hello":
                return f"GET / answered {status} {body[:200]!r}, not 200 hello"
            return None

        def measure(server: Server) -> tuple[float, int, int]:
            r = wrk(
                f"http://127.0.0.1:{server.port}/",
                connections=args.connections,
                threads=threads,
                seconds=args.seconds,
            )
            return r["rps"], int(r["requests"]), int(r["errors"])

        big: dict[str, dict[str, list]] = {}
        with running(upstreams, tmp) as up_started:
            if len(up_started) != len(upstreams):
                raise SystemExit("the upstreams did not start")
            with running(fronts, tmp, check) as up:
                for server in up:  # warm-up, and the pools filled
                    wrk(f"http://127.0.0.1:{server.port}/", connections=args.connections, seconds=2)
                figures = alternate(up, measure, args.rounds)
                for round_no in range(0 if args.skip_big else args.big_rounds):
                    for server in (s for s in up if s.name != REFERENCE):
                        for kind, run in (
                            ("POST 100 MiB", lambda p: upload(p)),
                            ("POST 100 MiB chunked", lambda p: upload(p, chunked=True)),
                            ("GET 100 MiB", lambda p: download(p, args.read_rate * 2**20)),
                        ):
                            with RssSampler(server.pid) as rss:
                                took, problem = run(server.port)
                            row = big.setdefault(server.name, {}).setdefault(kind, [])
                            row.append((took, rss.grown_mib, problem))
                            print(
                                f"round {round_no + 1}: {server.name}: {kind}: {took:.2f} s "
                                f"({BIG / took / 2**20:.0f} MiB/s), RSS +{rss.grown_mib:.1f} "
                                f"MiB at peak (from {rss.before / 1024:.1f} MiB)"
                                + (f", PROBLEM: {problem}" if problem else ""),
                                flush=True,
                            )

            print(
                f"\n## proxy_pass to a fast upstream, {args.workers} worker(s), wrk "
                f"-c{args.connections} -d{args.seconds}s, median of {args.rounds} alternating "
                "rounds\n"
            )
            print(
                "| front | req/s (median) | rounds | front CPU us/request (median; system) "
                "| errors |"
            )
            print("|---|---|---|---|---|")
            for name, f in figures.items():
                rounds = " / ".join(f"{r:.0f}" for r in f.rates)
                print(
                    f"| {name} | {f.rate:.0f} | {rounds} | {f.cpu:.1f} ({f.sys:.1f}) | {f.errors} |"
                )
            print("\n" + TABLE_HEAD)
            if "webserv" in figures and "nginx" in figures:
                print(
                    ratio_row(
                        "proxy_pass, fast upstream",
                        figures["webserv"],
                        figures["nginx"],
                        0.6,
                        "req/s",
                    )
                )
            if big:
                print(
                    f"\n## 100 MiB through the proxy (download read at {args.read_rate:g} "
                    f"MiB/s, upload sink at {args.sink_rate:g} MiB/s), RSS growth at peak\n"
                )
                print(
                    "| front | transfer | seconds (median) | RSS growth, worst round | "
                    "target | status |"
                )
                print("|---|---|---|---|---|---|")
                for name, kinds in big.items():
                    for kind, rows in kinds.items():
                        worst = max(r[1] for r in rows)
                        problems = [r[2] for r in rows if r[2]]
                        ok = worst < RSS_LIMIT_MIB and not problems
                        status = ("met" if ok else "**missed**") if name == "webserv" else "-"
                        if problems:
                            status += f" ({problems[0]})"
                        print(
                            f"| {name} | {kind} | {statistics.median(r[0] for r in rows):.2f}"
                            f" | +{worst:.1f} MiB | < +{RSS_LIMIT_MIB} MiB | {status} |"
                        )

            if args.profile:
                port = free_port()
                conf = webserv_conf(tmp, "profile", port, 1, fast_port, sink_port)
                cmd, prof = profiled(webserv_cmd(conf))
                with process(cmd, port, cwd=tmp) as proc:
                    wrk(f"http://127.0.0.1:{port}/", connections=args.connections, seconds=1)
                    start_profile(proc.pid)
                    r = wrk(
                        f"http://127.0.0.1:{port}/",
                        connections=args.connections,
                        seconds=args.seconds,
                    )
                print(
                    f"\n### cProfile of the webserv front, {r['rps']:.0f} req/s under the "
                    f"profiler, {int(r['requests'])} requests\n"
                )
                print(profile_summary(prof))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
