"""CPU per route, and per whole request, for small and large location sets.

    python3 tests/benchmarks/bench_routing.py [--routes 20000] [--requests 20000]
                                              [--only route|request]

``route``: ``LocationMatcher.lookup`` alone, for 10 prefix locations, 1000 prefix locations
and 1000 regex locations; "miss" routes random distinct paths (every lookup misses the
memo), "hot-64" cycles over 64 paths (every lookup after the first round hits), "set-5000"
cycles over 5000 paths (a site's working set: more than main's memo held before it was
flushed whole at 4096 entries).

``request``: the whole in-process engine path of ``bench_engine_inprocess.py`` (parser,
routing, pipeline, a 5-byte handler, the send), for 10 and for 1000 prefix locations, with
random distinct paths ("miss": every per-path memo misses) and with a working set of 5000
paths -- issue 13's target is that 1000 locations cost within 10% of 10.

Prints CPU time (``process_time``) per operation, best of 5 runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench_engine_inprocess import PLUGIN, REQUEST, FakeSocket, Owner

from framework.config.build import load_config
from framework.config.models import Config
from framework.http.connection import Connection
from framework.pipeline import Application
from framework.registry import registry
from framework.routing.locations import matcher_for

HOT_SET = 64
WORKING_SET = 5000
RUNS = 5


def _prefix_config(count: int) -> str:
    # sections with a nested sub-location each tenth, as a large site's config might have
    body = []
    for i in range(count):
        inner = f"location /s{i}/sub/ {{ handler bench_hello; }}" if i % 10 == 0 else ""
        body.append(f"location /s{i}/ {{ handler bench_hello; {inner} }}")
    return "location / { handler bench_hello; }\n" + "\n".join(body)


def _regex_config(count: int) -> str:
    body = [f"location ~ ^/r{i}/(.*)$ {{ handler bench_hello; }}" for i in range(count)]
    return "location / { handler bench_hello; }\n" + "\n".join(body)


def _paths(rng: random.Random, stem: str, sections: int, count: int) -> list[str]:
    """``count`` distinct paths spread over ``sections`` sections."""
    return [
        f"/{stem}{rng.randrange(sections)}/{'sub/' if rng.random() < 0.1 else ''}"
        f"{rng.getrandbits(48):012x}-{n}.html"
        for n in range(count)
    ]


def _load(tmp: Path, name: str, locations: str) -> Config:
    conf = tmp / f"{name}.conf"
    conf.write_text(
        "load_module bench_plugins;\n"
        f"server {{ listen 127.0.0.1:8080; access_log off; root {tmp};\n{locations}\n}}\n"
    )
    result = load_config(conf, registry=registry)
    assert result.config is not None, result.diagnostics
    return result.config


def _best(measure: Callable[[], float]) -> tuple[float, list[float]]:
    runs = [measure() for _ in range(RUNS)]
    return min(runs), runs


def _route_cpu(
    lookup: Callable[[str], object],
    rng: random.Random,
    stem: str,
    sections: int,
    distinct: int,
    count: int,
) -> float:
    """CPU per lookup over ``count`` lookups cycling through ``distinct`` fresh paths
    (looked up once beforehand when they repeat, so that each then hits the memo)."""
    paths = _paths(rng, stem, sections, distinct) * max(1, count // distinct)
    if distinct < count:
        for path in paths[:distinct]:
            lookup(path)
    start = time.process_time()
    for path in paths:
        lookup(path)
    return (time.process_time() - start) / len(paths) * 1e6


def bench_routes(configs: dict[str, tuple[Config, str, int]], count: int) -> None:
    """CPU per ``lookup`` for memo misses and memo hits."""
    for name, (config, stem, sections) in configs.items():
        lookup = matcher_for(config.servers[0]).lookup
        rng = random.Random(1)
        for kind, size in (("miss", count), ("hot-64", HOT_SET), ("set-5000", WORKING_SET)):
            best, runs = _best(partial(_route_cpu, lookup, rng, stem, sections, size, count))
            print(
                f"route   {name:12s} {kind:8s} {best:7.2f} us  (all: "
                + ", ".join(f"{r:.2f}" for r in runs)
                + ")"
            )


class _RotatingSocket(FakeSocket):
    """A ``FakeSocket`` that hands out the next of many prepared requests per call."""

    def __init__(self, real: socket.socket, requests: list[bytes]) -> None:
        super().__init__(real, requests[0])
        self._requests = requests
        self._next = 0

    def recv_into(self, buf: bytearray) -> int:  # type: ignore[override]
        request = self._requests[self._next]
        self._next = (self._next + 1) % len(self._requests)
        n = len(request)
        buf[:n] = request
        return n


async def _serve(app: Application, requests: list[bytes], warm: int) -> float:
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    fake = _RotatingSocket(a, requests)
    conn = Connection(Owner(app), loop, fake, ("127.0.0.1", 40000), ("127.0.0.1", 8080))  # type: ignore[arg-type]
    for _ in range(warm):  # the first requests' paths, measured again only when they repeat
        conn._on_readable()
        while fake.sent == 0:
            await asyncio.sleep(0)
        fake.sent = 0
    assert fake.last.startswith(b"HTTP/1.1 200"), fake.last[:200]
    count = len(requests) - warm
    start = time.process_time()
    for _ in range(count):
        conn._on_readable()
        while not fake.sent:
            await asyncio.sleep(0)
        fake.sent = 0
    elapsed = time.process_time() - start
    conn.abort()
    await asyncio.sleep(0)
    fake.close()
    b.close()
    return elapsed / count * 1e6


def _request_cpu(
    app: Application, stem: str, sections: int, distinct: int | None, count: int
) -> float:
    """CPU per request over ``count`` requests: distinct paths (``distinct`` None, after
    100 warm-up requests), or ``distinct`` paths cycled (after one warm-up round)."""
    if distinct is None:
        warm = 100
        paths = _paths(random.Random(), stem, sections, count + warm)
    else:
        warm = distinct
        paths = _paths(random.Random(), stem, sections, distinct) * (1 + max(1, count // distinct))
    return asyncio.run(_serve(app, [REQUEST % path.encode() for path in paths], warm))


def bench_requests(configs: dict[str, tuple[Config, str, int]], count: int) -> None:
    """CPU per whole request with random distinct paths (every per-path memo misses)."""
    results: dict[tuple[str, str], float] = {}
    for kind, distinct in (("miss", None), ("set-5000", WORKING_SET)):
        for name, (config, stem, sections) in configs.items():
            app = Application(config)
            best, runs = _best(partial(_request_cpu, app, stem, sections, distinct, count))
            results[name, kind] = best
            print(
                f"request {name:12s} {kind:8s} {best:7.2f} us  (all: "
                + ", ".join(f"{r:.2f}" for r in runs)
                + ")"
            )
        if (ratio := _ratio(results, kind)) is not None:
            print(f"request prefix-1000 / prefix-10 {kind}: {ratio:.3f} (target <= 1.10)")


def _ratio(results: dict[tuple[str, str], float], kind: str) -> float | None:
    large, small = results.get(("prefix-1000", kind)), results.get(("prefix-10", kind))
    return large / small if large is not None and small is not None else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--routes", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--only", choices=("route", "request"))
    args = ap.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "bench_plugins.py").write_text(PLUGIN)
        sys.path.insert(0, name)
        configs = {
            "prefix-10": (_load(tmp, "p10", _prefix_config(10)), "s", 10),
            "prefix-1000": (_load(tmp, "p1000", _prefix_config(1000)), "s", 1000),
            "regex-1000": (_load(tmp, "r1000", _regex_config(1000)), "r", 1000),
        }
        if args.only != "request":
            bench_routes(configs, args.routes)
        if args.only != "route":
            del configs["regex-1000"]
            bench_requests(configs, args.requests)


if __name__ == "__main__":
    main()
