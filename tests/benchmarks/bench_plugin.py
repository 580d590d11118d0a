"""Plugin overhead benchmark (SPEC 8): a handler returning 5 bytes under webserv, beside an
aiohttp hello world and uvicorn (uvloop + httptools) with a raw ASGI app, same run.

    python tests/benchmarks/bench_plugin.py [--seconds 10] [--connections 50]

Keep-alive, 1 worker/process, access logs off, loopback only. The servers are measured in
alternation over ``--rounds`` rounds (best round kept, to even out load from elsewhere).
Prints requests/s, the ratios (target: webserv >= 1.5x uvicorn) and each server's CPU time
per request. ``--baseline DIR`` also runs webserv from DIR (a copy of an older tree) for a
same-run before/after comparison.
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

from harness import cpu_seconds, free_port, process, report, webserv_cmd, wrk  # noqa: E402

PLUGIN = """
from framework import Handler, Response

class Hello(Handler):
    name = "bench_hello"
    async def handle(self, request, call_next):
        return Response(200, b"hello", headers={"Content-Type": "text/plain"})
"""

AIOHTTP_APP = """
import sys
from aiohttp import web

async def hello(request):
    return web.Response(body=b"hello", content_type="text/plain")

app = web.Application()
app.router.add_get("/", hello)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""

ASGI_APP = """
import sys
import uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": b"hello"})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False,
            log_level="error", loop="uvloop", http="httptools", lifespan="off")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3, help="alternate runs; best one kept")
    ap.add_argument("--only", nargs="*", help="servers to run (default: all)")
    ap.add_argument(
        "--baseline",
        type=Path,
        help="also run 'webserv (baseline)' from this copy of an older tree",
    )
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="webserv-bench-plugin-"))
    (tmp / "bench_plugins.py").write_text(PLUGIN)
    servers: list[tuple[str, list[str], int, dict[str, str] | None]] = []
    port = free_port()
    conf = tmp / "webserv.conf"
    conf.write_text(
        textwrap.dedent(f"""
            workers 1;
            load_module bench_plugins;
            server {{
                listen 127.0.0.1:{port};
                access_log off;
                location / {{ handler bench_hello; }}
            }}
        """)
    )
    servers.append(("webserv (plugin)", webserv_cmd(conf), port, {"PYTHONPATH": str(tmp)}))
    if args.baseline is not None:
        bport = free_port()
        bconf = tmp / "baseline.conf"
        bconf.write_text(conf.read_text().replace(f":{port};", f":{bport};"))
        path = f"{tmp}:{args.baseline.resolve()}"
        servers.append(("webserv (baseline)", webserv_cmd(bconf), bport, {"PYTHONPATH": path}))
    for name, code in (("aiohttp", AIOHTTP_APP), ("uvicorn (raw ASGI)", ASGI_APP)):
        script = tmp / f"{name.split()[0]}_app.py"
        script.write_text(code)
        port = free_port()
        servers.append((name, [sys.executable, str(script), str(port)], port, None))
    servers = [s for s in servers if not args.only or s[0] in args.only]

    results: dict[str, dict[str, float]] = {}
    with contextlib.ExitStack() as stack:
        pids: dict[str, int] = {}
        for name, cmd, port, env in servers:  # all up at once, idle unless measured
            pids[name] = stack.enter_context(process(cmd, port, cwd=tmp, env=env)).pid
            wrk(f"http://127.0.0.1:{port}/", connections=args.connections, seconds=2)
        # alternate the servers over several rounds so that load from elsewhere on the
        # machine hits them alike; keep each one's best round. The server's CPU time per
        # request varies much less with that load than requests/s does.
        cpu_us: dict[str, float] = {}
        for round_no in range(args.rounds):
            for name, _, port, _ in servers:
                url = f"http://127.0.0.1:{port}/"
                before = cpu_seconds(pids[name])
                r = wrk(url, connections=args.connections, seconds=args.seconds)
                used = (cpu_seconds(pids[name]) - before) / max(r["requests"], 1) * 1e6
                print(
                    f"round {round_no + 1}: {name}: {r['rps']:.0f} req/s, "
                    f"{used:.1f} us CPU/request",
                    flush=True,
                )
                if name not in results or r["rps"] > results[name]["rps"]:
                    results[name] = r
                cpu_us[name] = min(cpu_us.get(name, used), used)

    if "uvicorn (raw ASGI)" in results:
        report("5-byte plugin response, keep-alive", results, "uvicorn (raw ASGI)")
    if "webserv (plugin)" in results:
        for peer in ("uvicorn (raw ASGI)", "aiohttp"):
            if peer in results:
                ratio = results["webserv (plugin)"]["rps"] / results[peer]["rps"]
                target = " (target >= 1.5x)" if peer.startswith("uvicorn") else ""
                print(f"webserv / {peer}: {ratio:.2f}x{target}")
    if cpu_us:
        print(
            "\nserver CPU per request (best round; lower is better): "
            + ", ".join(f"{name} {us:.1f} us" for name, us in cpu_us.items())
        )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
