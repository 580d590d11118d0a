"""gzip benchmark (issue 10): a 100 KiB text file compressed per request, webserv vs nginx.

    python tests/benchmarks/bench_gzip.py [--seconds 10] [--connections 50] [--rounds 3]
                                          [--level 1]

Both servers: 1 worker, keep-alive, access log off, ``gzip on`` at the same
``gzip_comp_level``, the client sending ``Accept-Encoding: gzip``. Three servers run side
by side and are measured in alternation (each one's best round kept):

- ``nginx (1 worker)``: compresses the file on every request;
- ``webserv (no cache)``: the same, every request reads and compresses the file (the
  compressed-content cache is switched off by a bench-only module given to ``load_module``);
- ``webserv``: as shipped, small files' compressed bytes are cached per file version
  (inode, size, mtime, ctime, level), so a hit does no compression.

Each answer is checked to be gzip that decodes to the file before measuring. Prints req/s,
ratios to nginx and each server's CPU time per request. Loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import random
import shutil
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import cpu_seconds, free_port, nginx_cmd, process, report, webserv_cmd, wrk  # noqa: E402

NO_CACHE_MODULE = "from handlers import gzip_bodies\ngzip_bodies.cache.max_item = 0\n"
WRK_SCRIPT = 'wrk.headers["Accept-Encoding"] = "gzip"\n'
WORDS = (
    "alpha beta gamma delta server request response header body chunk stream window "
    "compress deflate level token value cache file static index html text plain"
).split()


def make_text(size: int) -> bytes:
    """Text like a page or a script: words from a small vocabulary, in lines."""
    rng = random.Random(42)
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))) + "\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def check(port: int, data: bytes) -> None:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/page.txt", headers={"Accept-Encoding": "gzip"}
    )
    with urllib.request.urlopen(req, timeout=10) as answer:
        assert answer.headers["Content-Encoding"] == "gzip", dict(answer.headers)
        assert gzip.decompress(answer.read()) == data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3, help="alternate runs; best one kept")
    ap.add_argument("--level", type=int, default=1, help="gzip_comp_level for both")
    ap.add_argument("--size", type=int, default=100 * 1024)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="webserv-bench-gzip-"))
    www = tmp / "www"
    www.mkdir()
    data = make_text(args.size)
    (www / "page.txt").write_bytes(data)
    old = 1_600_000_000 * 10**9  # a settled file (the cache skips files modified just now)
    os.utime(www / "page.txt", ns=(old, old))
    (tmp / "bench_gzip_no_cache.py").write_text(NO_CACHE_MODULE)
    script = tmp / "gzip.lua"
    script.write_text(WRK_SCRIPT)
    gz = f"gzip on; gzip_comp_level {args.level}; gzip_types text/plain;"

    servers: list[tuple[str, list[str], int, dict[str, str] | None]] = []
    for name, extra in (
        ("webserv", ""),
        ("webserv (no cache)", "load_module bench_gzip_no_cache;"),
    ):
        port = free_port()
        conf = tmp / f"webserv-{port}.conf"
        conf.write_text(
            textwrap.dedent(f"""
            workers 1;
            {extra}
            server {{
                listen 127.0.0.1:{port};
                root www;
                access_log off;
                {gz}
                location / {{ allow_methods GET HEAD; }}
            }}
        """)
        )
        servers.append((name, webserv_cmd(conf), port, {"PYTHONPATH": str(tmp)}))
    port = free_port()
    nginx = nginx_cmd(tmp, port, www, gz)
    if nginx is not None:
        servers.append(("nginx (1 worker)", nginx, port, None))

    results: dict[str, dict[str, float]] = {}
    cpu_us: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        up: list[tuple[str, int, int]] = []
        for name, cmd, port, env in servers:
            proc = stack.enter_context(process(cmd, port, cwd=tmp, env=env))
            check(port, data)
            wrk(
                f"http://127.0.0.1:{port}/page.txt",
                connections=args.connections,
                seconds=2,
                script=str(script),
            )
            up.append((name, port, proc.pid))
        for round_no in range(args.rounds):
            for name, port, pid in up:
                before = cpu_seconds(pid)
                r = wrk(
                    f"http://127.0.0.1:{port}/page.txt",
                    connections=args.connections,
                    seconds=args.seconds,
                    script=str(script),
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

    title = f"gzip of a {args.size // 1024} KiB text file, level {args.level}, keep-alive"
    if "nginx (1 worker)" in results:
        report(title, results, "nginx (1 worker)")
        for name in ("webserv (no cache)", "webserv"):
            ratio = results[name]["rps"] / results["nginx (1 worker)"]["rps"]
            print(f"{name} / nginx: {ratio:.2f}x (target >= 0.8x)")
    print(
        "\nserver CPU per request (best round; lower is better): "
        + ", ".join(f"{name} {us:.1f} us" for name, us in cpu_us.items())
    )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
