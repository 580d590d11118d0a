"""Micro-benchmark of the static hot path, without sockets: target normalisation, location
matching and the static handler's work for a 1 KiB file, against the bare syscalls it needs
(open, fstat, close). Run: ``python3 tests/benchmarks/bench_static_hotpath.py``."""

from __future__ import annotations

import os
import tempfile
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
        location = LocationConfig(pattern="/", root=root, types={"html": "text/html"})
        matcher = LocationMatcher(ServerConfig(locations=[location, LocationConfig(pattern="/a/")]))
        handler = StaticHandler.from_location(location)
        headers = Headers([("Host", "x"), ("User-Agent", "wrk"), ("Accept", "*/*")])
        request = Request("GET", "/1k.html", "/1k.html", "", headers)
        file = str(root / "1k.html")

        def syscalls() -> None:
            fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
            os.fstat(fd)
            os.close(fd)

        def static() -> None:
            coro = handler.handle(request, None)  # type: ignore[arg-type]
            try:
                coro.send(None)
            except StopIteration as done:
                done.value.body.file.close()

        rows = [
            ("normalize_target (plain)", best(lambda: normalize_target("/1k.html"))),
            ("normalize_target (dots, %)", best(lambda: normalize_target("/a/./%62/../1k.html"))),
            ("LocationMatcher.match", best(lambda: matcher.match("/1k.html"))),
            ("open+fstat+close syscalls", best(syscalls)),
            ("static handler, 1 KiB file", best(static)),
        ]
        for name, micros in rows:
            print(f"{name:30s} {micros:7.2f} us")
        print(f"{'static overhead over syscalls':30s} {rows[-1][1] - rows[-2][1]:7.2f} us")


if __name__ == "__main__":
    main()
