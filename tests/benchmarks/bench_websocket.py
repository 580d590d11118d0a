"""WebSocket echo benchmark (issue 11): webserv vs uvicorn + websockets, small messages.

    python tests/benchmarks/bench_websocket.py [--seconds 5] [--rounds 5] [--connections 50]
        [--size 32] [--impl raw|websockets] [--workers 1] [--profile]

Servers, 1 worker each (``--workers``), access logs off, loopback:
- webserv, a native plugin echoing through ``request.accept_websocket`` (wsproto);
- webserv, the raw ASGI echo app of ``apps/bench11_apps.py`` through ``asgi`` (the
  ``websocket`` scope), when the ASGI handler supports it;
- uvicorn ``--ws websockets --loop uvloop --http httptools`` with the same ASGI app.

The load client is ``ws_load.py`` (a separate process, the same for every server): it opens
``--connections`` WebSocket connections and each keeps one ``--size``-byte text message in
flight (send, receive the echo, check it, repeat) for ``--seconds``; no compression is
negotiated. Servers are measured in alternation over ``--rounds`` rounds; the figures are
medians of messages/s and of the server's CPU time per echoed message (from /proc; the fair
figure when the client shares the 2 cores). The client's own CPU per message is printed
too, to show whether it was the bottleneck. Target: webserv >= 1.0x uvicorn msgs/s.
``--profile`` then runs the native webserv echo under cProfile and prints its top functions.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from alternate import (  # noqa: E402
    TABLE_HEAD,
    Server,
    alternate,
    profile_summary,
    profiled,
    ratio_row,
    running,
    start_profile,
)
from harness import free_port, process, webserv_cmd  # noqa: E402

HERE = Path(__file__).parent
APPS = HERE / "apps"

PLUGIN = """
import inspect
from framework import Handler

class Echo(Handler):
    name = "bench11_ws_echo"

    async def handle(self, request, call_next):
        async def session(ws):
            async for message in ws:
                await ws.send(message)
        response = request.accept_websocket(session)
        if inspect.isawaitable(response):
            response = await response
        return response
"""

CLIENT_CPU: dict[str, list[float]] = {}


def ws_load(
    port: int, args: argparse.Namespace, seconds: float, connections: int | None = None
) -> dict:
    """Run the load client against ``port``; its JSON result plus its CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "ws_load.py"),
            f"ws://127.0.0.1:{port}/",
            "--connections",
            str(connections or args.connections),
            "--seconds",
            str(seconds),
            "--size",
            str(args.size),
            "--impl",
            args.impl,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 90,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0 or not out.stdout.strip():
        return {
            "messages": 0,
            "rate": 0.0,
            "errors": 1,
            "first_errors": [out.stderr.strip()[-300:]],
            "client_cpu": 0.0,
        }
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["client_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def webserv_conf(tmp: Path, name: str, port: int, workers: int, body: str) -> Path:
    conf = tmp / f"{name}.conf"
    conf.write_text(
        textwrap.dedent(f"""
        workers {workers};
        event_loop uvloop;
        load_module bench11_ws_plugin;
        server {{
            listen 127.0.0.1:{port};
            access_log off;
            location / {{ {body} }}
        }}
    """)
    )
    return conf


NATIVE = "handler bench11_ws_echo;"
ASGI = f"asgi bench11_apps:raw_ws_echo; asgi_app_dir {APPS}; asgi_lifespan off;"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--size", type=int, default=32, help="message size in bytes")
    ap.add_argument(
        "--impl",
        choices=("raw", "websockets"),
        default="raw",
        help="load client implementation (see ws_load.py)",
    )
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", nargs="*", help="server names to run (default: all)")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, profile the native webserv echo under load",
    )
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="webserv-bench-ws-"))
    try:
        (tmp / "bench11_ws_plugin.py").write_text(PLUGIN)
        env = {"PYTHONPATH": str(tmp)}
        servers = []
        for name, body in (("webserv (native)", NATIVE), ("webserv (ASGI)", ASGI)):
            port = free_port()
            slug = name.split("(")[1].rstrip(")").lower()
            conf = webserv_conf(tmp, f"webserv_{slug}", port, args.workers, body)
            servers.append(Server(name, webserv_cmd(conf), port, env))
        port = free_port()
        servers.append(
            Server(
                "uvicorn + websockets",
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--app-dir",
                    str(APPS),
                    "bench11_apps:raw_ws_echo",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--loop",
                    "uvloop",
                    "--http",
                    "httptools",
                    "--ws",
                    "websockets",
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    "--lifespan",
                    "off",
                    "--workers",
                    str(args.workers),
                ],
                port,
            )
        )
        servers = [s for s in servers if not args.only or s.name in args.only]

        def check(server: Server) -> str | None:
            r = ws_load(server.port, args, 1, connections=2)
            if r["errors"] or not r["messages"]:
                return f"echo check failed: {r['first_errors']}"
            return None

        def measure(server: Server) -> tuple[float, int, int]:
            r = ws_load(server.port, args, args.seconds)
            CLIENT_CPU.setdefault(server.name, []).append(
                r["client_cpu"] / max(r["messages"], 1) * 1e6
            )
            return r["rate"], int(r["messages"]), int(r["errors"])

        with running(servers, tmp, check) as up:
            for server in up:  # warm-up
                ws_load(server.port, args, 2)
            figures = alternate(up, measure, args.rounds, unit="msgs/s", per="message")

        print(
            f"\n## WebSocket echo, {args.size}-byte text messages, {args.connections} "
            f"connections, {args.workers} worker(s), {args.impl} client, "
            f"median of {args.rounds} alternating rounds of {args.seconds} s\n"
        )
        print(
            "| server | msgs/s (median) | rounds | server CPU us/message (system part) | "
            "client CPU us/message | errors |"
        )
        print("|---|---|---|---|---|---|")
        for name, f in figures.items():
            rounds = " / ".join(f"{r:.0f}" for r in f.rates)
            client = sorted(CLIENT_CPU.get(name, [float("nan")]))
            print(
                f"| {name} | {f.rate:.0f} | {rounds} | {f.cpu:.1f} ({f.sys:.1f}) | "
                f"{client[len(client) // 2]:.1f} | {f.errors} |"
            )
        print("\n" + TABLE_HEAD)
        peer = figures.get("uvicorn + websockets")
        for name in ("webserv (native)", "webserv (ASGI)"):
            if name in figures and peer is not None:
                print(ratio_row(f"WebSocket echo, {name}", figures[name], peer, 1.0, "msgs/s"))

        if args.profile:
            for name, body in (("native", NATIVE), ("asgi", ASGI)):
                port = free_port()
                conf = webserv_conf(tmp, f"profile_{name}", port, 1, body)
                cmd, prof = profiled(webserv_cmd(conf))
                with process(cmd, port, cwd=tmp, env=env) as proc:
                    ws_load(port, args, 1)
                    start_profile(proc.pid)
                    r = ws_load(port, args, args.seconds)
                if r["errors"]:
                    print(f"\n(profile of {name} skipped: {r['first_errors']})")
                    continue
                print(
                    f"\n### cProfile of webserv ({name} echo), {r['rate']:.0f} msgs/s under "
                    f"the profiler, {r['messages']} messages\n"
                )
                print(profile_summary(prof))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
