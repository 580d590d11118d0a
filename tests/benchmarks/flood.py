"""Pipelined flood without reading (issue 9 item 1): webserv vs nginx, peak server RSS.

    python tests/benchmarks/flood.py [--requests 50000] [--size 1024] [--hold 10]

One connection sends ``--requests`` pipelined ``GET /small-file`` and reads nothing for
``--hold`` seconds while the server's RSS is sampled (the server and its workers); then the
client reads every response and checks it is complete. Prints the idle RSS, the peak and the
growth per server. nginx (1 worker) runs when installed. Loopback only; each server is
stopped when the script ends.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from framework.testing import ResponseReader  # noqa: E402
from tests.benchmarks.harness import free_port, nginx_cmd, process, rss_kib, webserv_cmd  # noqa: E402


def flood(port: int, pid: int, requests: int, hold: float) -> tuple[int, int, int]:
    """(idle RSS, peak RSS, responses read whole): RSS sampled while the client reads
    nothing, then while it reads every response."""
    idle = rss_kib(pid)
    data = b"GET /small-file HTTP/1.1\r\nHost: bench\r\n\r\n" * requests
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)

    def send() -> None:
        try:
            sock.sendall(data)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    peak = idle
    end = time.monotonic() + hold
    while time.monotonic() < end:
        peak = max(peak, rss_kib(pid))
        time.sleep(0.1)  # sampling pace of the measurement
    reader = ResponseReader(sock)
    whole = 0
    try:
        for i in range(requests):
            response = reader.read()
            whole += response.status == 200 and len(response.body) > 0
            if i % 1000 == 0:
                peak = max(peak, rss_kib(pid))
    except (OSError, ConnectionError):
        pass
    sock.close()
    sender.join(5)
    return idle, peak, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=1024, help="bytes of the small file")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds of not reading")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="webserv-flood-"))
    www = tmp / "www"
    www.mkdir()
    (www / "small-file").write_bytes(b"x" * args.size)
    results: dict[str, tuple[int, int, int]] = {}

    port = free_port()
    conf = tmp / "webserv.conf"
    conf.write_text(
        textwrap.dedent(f"""
        access_log off;
        server {{ listen 127.0.0.1:{port}; root {www}; send_timeout 120s; }}
    """)
    )
    with process(webserv_cmd(conf), port) as proc:
        results["webserv"] = flood(port, proc.pid, args.requests, args.hold)

    port = free_port()
    # keepalive_requests: nginx's default (1000) would close mid-flood
    nginx = nginx_cmd(tmp, port, www, "send_timeout 120s; keepalive_requests 1000000;")
    if nginx is not None:
        with process(nginx, port) as proc:
            results["nginx (1 worker)"] = flood(port, proc.pid, args.requests, args.hold)
    else:
        print("nginx not installed: webserv only")

    print(
        f"\n== pipelined flood: {args.requests} x GET of {args.size} B, unread for "
        f"{args.hold:g} s, one connection"
    )
    for name, (idle, peak, whole) in results.items():
        print(
            f"{name:<18} idle {idle / 1024:7.1f} MiB  peak {peak / 1024:7.1f} MiB  "
            f"growth {(peak - idle) / 1024:7.1f} MiB  responses {whole}/{args.requests}"
        )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
