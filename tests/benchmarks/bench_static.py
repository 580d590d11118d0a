"""Small static file benchmark (SPEC 8): webserv vs nginx (1 worker) and Python peers.

    python tests/benchmarks/bench_static.py [--seconds 10] [--connections 50] [--rounds 3]

Serves one 1 KiB file with keep-alive, 1 worker, access log off everywhere, and prints
requests/s with ratios to nginx and to the fastest Python peer. Loopback only. The servers
run side by side and are measured in alternation over ``--rounds`` rounds (each one's best
round kept), so load from elsewhere on the machine hits them alike. Each server's CPU time
per request is printed too. ``--baseline DIR`` also runs webserv from DIR (a copy of an
older tree, put first on PYTHONPATH) for a same-run before/after comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import cpu_seconds, free_port, nginx_cmd, process, report, webserv_cmd, wrk  # noqa: E402

AIOHTTP_APP = """
import sys
from aiohttp import web
app = web.Application()
app.router.add_static("/", sys.argv[1])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=None, print=None)
"""

STARLETTE_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles
app = Starlette()
app.mount("/", StaticFiles(directory=sys.argv[1]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=False, log_level="error",
            loop="uvloop", http="httptools")
"""

TWISTED_APP = """
import sys
from twisted.internet import reactor
from twisted.web.server import Site
from twisted.web.static import File
reactor.listenTCP(int(sys.argv[2]), Site(File(sys.argv[1])), interface="127.0.0.1")
reactor.run()
"""


def port_of(conf: Path) -> int:
    """The port of the first ``listen 127.0.0.1:PORT;`` in a config file."""
    return int(conf.read_text().split("listen 127.0.0.1:", 1)[1].split(";", 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3, help="alternate runs; best one kept")
    ap.add_argument("--only", nargs="*", help="servers to run (default: all available)")
    ap.add_argument(
        "--baseline",
        type=Path,
        help="also run 'webserv (baseline)' from this copy of an older tree",
    )
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="webserv-bench-"))
    www = tmp / "www"
    www.mkdir()
    (www / "small.html").write_bytes(b"x" * 1024)
    results: dict[str, dict[str, float]] = {}
    servers: list[tuple[str, list[str], int, dict[str, str] | None]] = []

    def run(name: str, cmd: list[str], port: int, env: dict[str, str] | None = None) -> None:
        if not args.only or name in args.only:
            servers.append((name, cmd, port, env))

    port = free_port()
    conf = tmp / "webserv.conf"
    conf.write_text(
        textwrap.dedent(f"""
        workers 1;
        server {{
            listen 127.0.0.1:{port};
            root www;
            access_log off;
            location / {{ allow_methods GET HEAD; }}
        }}
    """)
    )
    run("webserv", webserv_cmd(conf), port)
    if args.baseline is not None:
        port = free_port()
        bconf = tmp / "baseline.conf"
        bconf.write_text(conf.read_text().replace(f":{port_of(conf)};", f":{port};"))
        run(
            "webserv (baseline)",
            webserv_cmd(bconf),
            port,
            {"PYTHONPATH": str(args.baseline.resolve())},
        )

    port = free_port()
    nginx = nginx_cmd(tmp, port, www)
    if nginx is not None:
        run("nginx (1 worker)", nginx, port)

    for name, code in (
        ("aiohttp", AIOHTTP_APP),
        ("starlette+uvicorn", STARLETTE_APP),
        ("twisted", TWISTED_APP),
    ):
        script = tmp / f"{name.split('+')[0]}_app.py"
        script.write_text(code)
        port = free_port()
        run(name, [sys.executable, str(script), str(www), str(port)], port)

    with contextlib.ExitStack() as stack:
        up: list[tuple[str, int, int]] = []
        for name, cmd, port, env in servers:  # all up at once, idle unless measured
            try:
                proc = stack.enter_context(process(cmd, port, cwd=tmp, env=env))
            except RuntimeError as exc:
                print(f"{name}: skipped ({exc})")
                continue
            wrk(f"http://127.0.0.1:{port}/small.html", connections=args.connections, seconds=2)
            up.append((name, port, proc.pid))
        cpu_us: dict[str, float] = {}  # best server CPU time per request, microseconds
        for round_no in range(args.rounds):
            for name, port, pid in up:
                before = cpu_seconds(pid)
                r = wrk(
                    f"http://127.0.0.1:{port}/small.html",
                    connections=args.connections,
                    seconds=args.seconds,
                )
                used = (cpu_seconds(pid) - before) / max(r["requests"], 1) * 1e6
                print(
                    f"round {round_no + 1}: {name}: {r['rps']:.0f} req/s, "
                    f"{used:.1f} us CPU/request",
                    flush=True,
                )
                if name not in results or r["rps"] > results[name]["rps"]:
                    results[name] = r
                cpu_us[name] = min(cpu_us.get(name, used), used)

    if "nginx (1 worker)" in results:
        report("1 KiB static file, keep-alive", results, "nginx (1 worker)")
    peers = [n for n in ("aiohttp", "starlette+uvicorn", "twisted") if n in results]
    if peers and "webserv" in results:
        best = max(peers, key=lambda n: results[n]["rps"])
        print(
            f"\nwebserv / fastest Python peer ({best}): "
            f"{results['webserv']['rps'] / results[best]['rps']:.2f}x (target >= 5x)"
        )
    if "nginx (1 worker)" in results and "webserv" in results:
        ratio = results["webserv"]["rps"] / results["nginx (1 worker)"]["rps"]
        print(f"webserv / nginx: {ratio:.2f}x (target >= 1x)")
    if cpu_us:
        print(
            "\nserver CPU per request (best round; lower is better): "
            + ", ".join(f"{name} {us:.1f} us" for name, us in cpu_us.items())
        )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
