"""ASGI hello-route benchmark (issue 11): webserv's ``asgi`` handler vs uvicorn, same apps.

    python tests/benchmarks/bench_asgi.py [--seconds 5] [--rounds 5] [--connections 50]
                                          [--workers 1] [--profile]

The apps are ``tests/benchmarks/apps/bench11_apps.py``: a raw ASGI 3 app and a Starlette
route, both answering ``hello`` (5 bytes). Served by:
- webserv, ``asgi bench11_apps:APP;`` with ``event_loop uvloop``, access log off;
- uvicorn ``--loop uvloop --http httptools --no-access-log --log-level warning``;
- webserv with a native plugin giving the same answer (the engine's floor, for reference).

Same worker count for all (``--workers``), keep-alive, loopback, wrk with a fixed duration.
The servers run side by side and are measured in alternation over ``--rounds`` rounds; the
figures are medians: requests/s and the server's CPU time per request (from /proc, the
steadier figure on a shared machine). Targets: raw ASGI >= 1.3x uvicorn with less CPU per
request, Starlette >= 1.2x. ``--profile`` then runs each webserv ASGI server once more
under cProfile (``workers 1`` forced) and prints its top functions.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

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
from harness import free_port, process, webserv_cmd, wrk  # noqa: E402

APPS = Path(__file__).parent / "apps"

PLUGIN = """
from framework import Handler, Response

class Hello(Handler):
    name = "bench11_hello"
    async def handle(self, request, call_next):
        return Response(200, b"hello", headers={"Content-Type": "text/plain"})
"""

TARGETS = (  # workload, webserv server, uvicorn server, target ratio
    ("hello, raw ASGI app", "webserv (raw ASGI)", "uvicorn (raw ASGI)", 1.3),
    ("hello, Starlette app", "webserv (Starlette)", "uvicorn (Starlette)", 1.2),
)


def webserv_conf(tmp: Path, name: str, port: int, workers: int, body: str) -> Path:
    conf = tmp / f"{name}.conf"
    conf.write_text(
        textwrap.dedent(f"""
        workers {workers};
        event_loop uvloop;
        load_module bench11_plugin;
        server {{
            listen 127.0.0.1:{port};
            access_log off;
            location / {{ {body} }}
        }}
    """)
    )
    return conf


def servers_for(tmp: Path, workers: int) -> list[Server]:
    env = {"PYTHONPATH": str(tmp)}
    out = []
    for name, body in (
        (
            "webserv (raw ASGI)",
            f"asgi bench11_apps:raw_hello; asgi_app_dir {APPS}; asgi_lifespan off;",
        ),
        ("webserv (Starlette)", f"asgi bench11_apps:starlette_hello; asgi_app_dir {APPS};"),
        ("webserv (native plugin)", "handler bench11_hello;"),
    ):
        port = free_port()
        slug = name.split("(")[1].rstrip(")").replace(" ", "_").lower()
        conf = webserv_conf(tmp, f"webserv_{slug}", port, workers, body)
        out.append(Server(name, webserv_cmd(conf), port, env))
    for name, target, extra in (
        ("uvicorn (raw ASGI)", "bench11_apps:raw_hello", ["--lifespan", "off"]),
        ("uvicorn (Starlette)", "bench11_apps:starlette_hello", []),
    ):
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(APPS),
            target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(workers),
            *extra,
        ]
        out.append(Server(name, cmd, port))
    return out


def check_hello(server: Server) -> str | None:
    status, body = fetch(server.port)
    if status != 200 or body != b"hello":
        return f"GET / answered {status} {body[:200]!r}, not 200 hello"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", nargs="*", help="server names to run (default: all)")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, profile each webserv ASGI server under wrk",
    )
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="webserv-bench-asgi-"))
    try:
        (tmp / "bench11_plugin.py").write_text(PLUGIN)
        servers = [
            s for s in servers_for(tmp, args.workers) if not args.only or s.name in args.only
        ]
        threads = 2 if args.workers > 1 else 1

        def measure(server: Server) -> tuple[float, int, int]:
            r = wrk(
                f"http://127.0.0.1:{server.port}/",
                connections=args.connections,
                threads=threads,
                seconds=args.seconds,
            )
            return r["rps"], int(r["requests"]), int(r["errors"])

        with running(servers, tmp, check_hello) as up:
            for server in up:  # warm-up
                wrk(f"http://127.0.0.1:{server.port}/", connections=args.connections, seconds=2)
            figures = alternate(up, measure, args.rounds)

        print(
            f"\n## ASGI hello route, {args.workers} worker(s), wrk -c{args.connections} "
            f"-d{args.seconds}s, median of {args.rounds} alternating rounds\n"
        )
        print(
            "| server | req/s (median) | rounds | CPU us/request (median; system part) | errors |"
        )
        print("|---|---|---|---|---|")
        for name, f in figures.items():
            rounds = " / ".join(f"{r:.0f}" for r in f.rates)
            print(f"| {name} | {f.rate:.0f} | {rounds} | {f.cpu:.1f} ({f.sys:.1f}) | {f.errors} |")
        print("\n" + TABLE_HEAD)
        for workload, ours, theirs, target in TARGETS:
            if ours in figures and theirs in figures:
                print(ratio_row(workload, figures[ours], figures[theirs], target, "req/s"))

        if args.profile:
            for name, body in (
                ("raw", f"asgi bench11_apps:raw_hello; asgi_app_dir {APPS}; asgi_lifespan off;"),
                ("starlette", f"asgi bench11_apps:starlette_hello; asgi_app_dir {APPS};"),
            ):
                port = free_port()
                conf = webserv_conf(tmp, f"profile_{name}", port, 1, body)
                cmd, prof = profiled(webserv_cmd(conf))
                with process(cmd, port, cwd=tmp, env={"PYTHONPATH": str(tmp)}) as proc:
                    wrk(f"http://127.0.0.1:{port}/", connections=args.connections, seconds=1)
                    start_profile(proc.pid)
                    r = wrk(
                        f"http://127.0.0.1:{port}/",
                        connections=args.connections,
                        seconds=args.seconds,
                    )
                print(
                    f"\n### cProfile of webserv ({name} ASGI), {r['rps']:.0f} req/s under "
                    f"the profiler, {int(r['requests'])} requests\n"
                )
                print(profile_summary(prof))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
