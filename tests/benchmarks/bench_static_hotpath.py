"""Micro-benchmark of the static hot path, without sockets: target normalisation, location
matching and the static handler's work for a 1 KiB file -- from the small-file cache (one
lstat) and uncached (open, fstat, close) -- against the bare syscalls each needs.
Run: ``python3 tests/benchmarks/bench_static_hotpath.py``."""

from __future__ import annotations

import os
import tempfile
import time
import timeit
from pathlib import Path

from framework.config.models import LocationConfig, ServerConfig
from framework.http.headers import Headers
from framework.http.request import Request
from framework.routing.locations import LocationMatcher
from framework.routing.paths import normalize_target
from handlers.static import StaticHandler

N = 20_000


def best(fn) -> float:
    """Best per-call time in microseconds over five runs."""
    return min(timeit.repeat(fn, number=N, repeat=5)) / N * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        (root / "1k.html").write_bytes(b"x" * 1024)
        old = time.time_ns() - 3600 * 1_000_000_000
        os.utime(root / "1k.html", ns=(old, old))  # settled: cacheable
        (root / "fresh.html").write_bytes(b"x" * 1024)  # just written: never cached
        location = LocationConfig(pattern="/", root=root, types={"html": "text/html"})
        matcher = LocationMatcher(ServerConfig(locations=[location, LocationConfig(pattern="/a/")]))
        handler = StaticHandler.from_location(location)
        headers = Headers([("Host", "x"), ("User-Agent", "wrk"), ("Accept", "*/*")])
        request = Request("GET", "/1k.html", "/1k.html", "", headers)
        fresh = Request("GET", "/fresh.html", "/fresh.html", "", headers)
        file = str(root / "1k.html")

        def syscalls() -> None:
            fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
            os.fstat(fd)
            os.close(fd)

        def lstat() -> None:
            os.lstat(file)

        def static(req: Request = request) -> None:
            coro = handler.handle(req, None)  # type: ignore[arg-type]
            try:
                coro.send(None)
            except StopIteration as done:
                body = done.value.body
                if not isinstance(body, bytes):
                    body.file.close()

        def uncached() -> None:
            static(fresh)

        rows = [
            ("normalize_target (plain)", best(lambda: normalize_target("/1k.html"))),
            ("normalize_target (dots, %)", best(lambda: normalize_target("/a/./%62/../1k.html"))),
            ("LocationMatcher.match", best(lambda: matcher.match("/1k.html"))),
            ("open+fstat+close syscalls", best(syscalls)),
            ("static handler, uncached 1 KiB", best(uncached)),
            ("lstat syscall", best(lstat)),
            ("static handler, cached 1 KiB", best(static)),
        ]
        for name, micros in rows:
            print(f"{name:32s} {micros:7.2f} us")
        print(f"{'uncached overhead over syscalls':32s} {rows[-3][1] - rows[-4][1]:7.2f} us")
        print(f"{'cached overhead over lstat':32s} {rows[-1][1] - rows[-2][1]:7.2f} us")


if __name__ == "__main__":
    main()
