"""In-process micro-benchmark of the whole engine path for one keep-alive request, without
the kernel's TCP work: ``Connection._on_readable`` -> httptools callbacks -> head check ->
routing -> pipeline -> handler -> ``_send`` -> ``WriteQueue.write``, on a fake socket.

    python3 tests/benchmarks/bench_engine_inprocess.py [--requests 50000] [--profile]
                                                      [--only static|plugin]

``static`` GETs a cached 1 KiB file; ``plugin`` a handler returning 5 bytes. Prints the
CPU time (process_time, steadier than wall time on a shared machine) per request
(best of 5 runs); ``--profile`` prints the top of a cProfile run.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import socket
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from framework.config.build import load_config
from framework.http.connection import Connection
from framework.pipeline import Application
from framework.registry import registry

REQUEST = b"GET %s HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"

PLUGIN = """
from framework import Handler, Response

class Hello(Handler):
    name = "bench_hello"
    async def handle(self, request, call_next):
        return Response(200, b"hello", headers={"Content-Type": "text/plain"})
"""


class FakeSocket(socket.socket):
    """A real (quiet) socket whose ``recv_into`` hands out one prepared request per call
    and whose ``send`` only counts."""

    def __init__(self, real: socket.socket, request: bytes) -> None:
        super().__init__(fileno=real.detach())
        self._request = request
        self.sent = 0
        self.last = b""

    def recv_into(self, buf: bytearray) -> int:
        n = len(self._request)
        buf[:n] = self._request
        return n

    def send(self, data: bytes) -> int:
        self.sent += 1
        self.last = data
        return len(data)


class Owner:
    """The bits of ``Server`` a connection uses."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.stopping = False

    def connection_closed(self, conn: Connection) -> None:
        pass


async def run(app: Application, request: bytes, count: int, prof: cProfile.Profile | None) -> float:
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    fake = FakeSocket(a, request)
    conn = Connection(Owner(app), loop, fake, ("127.0.0.1", 40000), ("127.0.0.1", 8080))  # type: ignore[arg-type]
    for _ in range(200):  # warm caches (file cache, routing memos)
        conn._on_readable()
        while fake.sent == 0:
            await asyncio.sleep(0)
        fake.sent = 0
    assert fake.last.startswith(b"HTTP/1.1 200"), fake.last[:200]
    if prof is not None:
        prof.enable()
    start = time.process_time()
    for _ in range(count):
        conn._on_readable()
        while not fake.sent:
            await asyncio.sleep(0)
        fake.sent = 0
    elapsed = time.process_time() - start
    if prof is not None:
        prof.disable()
    conn.abort()
    await asyncio.sleep(0)
    fake.close()
    b.close()
    return elapsed / count * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=50_000)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--only", choices=("static", "plugin"))
    args = ap.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "1k.html").write_bytes(b"x" * 1024)
        old = time.time_ns() - 3600 * 1_000_000_000
        os.utime(root / "1k.html", ns=(old, old))  # settled: cacheable
        (root / "bench_plugins.py").write_text(PLUGIN)
        sys.path.insert(0, tmp)
        conf = root / "webserv.conf"
        conf.write_text(
            textwrap.dedent(f"""
                load_module bench_plugins;
                server {{
                    listen 127.0.0.1:8080;
                    access_log off;
                    root {root};
                    location / {{ }}
                    location /plugin {{ handler bench_hello; }}
                }}
            """)
        )
        result = load_config(conf, registry=registry)
        assert result.config is not None, result.diagnostics
        app = Application(result.config)
        cases = {"static": REQUEST % b"/1k.html", "plugin": REQUEST % b"/plugin"}
        for name, request in cases.items():
            if args.only and name != args.only:
                continue
            if args.profile:
                prof = cProfile.Profile()
                us = asyncio.run(run(app, request, args.requests, prof))
                print(f"{name}: {us:.2f} us/request (profiled)")
                pstats.Stats(prof).sort_stats("tottime").print_stats(25)
                continue
            runs = [asyncio.run(run(app, request, args.requests, None)) for _ in range(5)]
            print(
                f"{name:8s} {min(runs):6.2f} us/request (best of 5; all: "
                + ", ".join(f"{r:.2f}" for r in runs)
                + ")"
            )


if __name__ == "__main__":
    main()
