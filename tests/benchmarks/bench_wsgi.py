"""WSGI benchmark (issue 11): webserv's ``wsgi`` handler vs uvicorn running the same Flask app
through a2wsgi's stock ``WSGIMiddleware`` (the bridge webserv's is built on).

    python tests/benchmarks/bench_wsgi.py [--seconds 5] [--rounds 3] [--connections 20]

Workloads: ``/hello`` (5 bytes, Content-Length) and ``/lines`` (a generator of 100 short
lines: a streamed, chunked response). Same app module, one worker each, keep-alive, wrk,
servers measured in alternation; medians of requests/s and server CPU per request. No
target is set by the issue: the figures show what the bounded-pool bridge costs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from alternate import TABLE_HEAD, Server, alternate, fetch, ratio_row, running  # noqa: E402
from harness import free_port, webserv_cmd, wrk  # noqa: E402

APP = """
from a2wsgi import WSGIMiddleware
from flask import Flask, Response

app = Flask(__name__)


@app.get("/hello")
def hello():
    return Response(b"hello", mimetype="text/plain")


@app.get("/lines")
def lines():
    return Response((f"line {i}\\n" for i in range(100)), mimetype="text/plain")


asgi = WSGIMiddleware(app)
"""


def servers_for(tmp: Path) -> list[Server]:
    port = free_port()
    conf = tmp / "webserv_wsgi.conf"
    conf.write_text(
        textwrap.dedent(f"""
        event_loop uvloop;
        server {{
            listen 127.0.0.1:{port};
            access_log off;
            asgi_app_dir {tmp};
            location / {{ wsgi bench_wsgi_app:app; }}
        }}
    """)
    )
    uvicorn_port = free_port()
    uvicorn = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(tmp), "bench_wsgi_app:asgi",
        "--host", "127.0.0.1", "--port", str(uvicorn_port), "--loop", "uvloop",
        "--http", "httptools", "--log-level", "warning", "--no-access-log",
        "--lifespan", "off",
    ]  # fmt: skip
    return [
        Server("webserv (wsgi)", webserv_cmd(conf), port),
        Server("uvicorn + a2wsgi", uvicorn, uvicorn_port),
    ]


def check(server: Server) -> str | None:
    status, body = fetch(server.port, "/hello")
    return None if (status, body) == (200, b"hello") else f"/hello answered {status} {body!r}"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=20)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="webserv-bench-wsgi-"))
    try:
        (tmp / "bench_wsgi_app.py").write_text(APP)
        with running(servers_for(tmp), tmp, check) as up:
            results = {}
            for path in ("/hello", "/lines"):

                def measure(server: Server, path: str = path) -> tuple[float, int, int]:
                    url = f"http://127.0.0.1:{server.port}{path}"
                    r = wrk(url, connections=args.connections, seconds=args.seconds)
                    return r["rps"], int(r["requests"]), int(r["errors"])

                for server in up:  # warm-up
                    wrk(f"http://127.0.0.1:{server.port}{path}", connections=10, seconds=1)
                results[path] = alternate(up, measure, args.rounds, label=f"{path} ")
        print(
            f"\n## WSGI (Flask), 1 worker, wrk -c{args.connections} -d{args.seconds}s, "
            f"median of {args.rounds} alternating rounds\n"
        )
        print(TABLE_HEAD)
        for path, figures in results.items():
            if len(figures) == 2:
                ours, theirs = figures["webserv (wsgi)"], figures["uvicorn + a2wsgi"]
                if theirs.rate and ours.rate:
                    print(ratio_row(f"Flask {path}", ours, theirs, 1.0, "req/s"))
                else:
                    print(f"| Flask {path} | {ours.rate:.0f} req/s | {theirs.rate:.0f} req/s |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
