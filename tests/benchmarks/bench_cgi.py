"""CGI benchmark, webserv side by side with lighttpd's mod_cgi (not collected by pytest).

    python3 tests/benchmarks/bench_cgi.py [--seconds 10] [--size-mb 100] [--parallel 20]

1. a ``hello`` shell script under wrk: requests/s (SPEC 8 target: >= 0.8x lighttpd);
2. a 100 MB POST echoed by ``cat``: wall time (target <= 1.5x lighttpd) and the server's
   peak RSS above its idle size (target < 64 MiB);
3. 20 concurrent 100 MB chunked POSTs through the 42 ``cgi_tester`` stand-in: all correct,
   wall time, peak RSS.

The servers run on loopback on free ports, each process is stopped at the end. RSS is the
server process's own (its CGI children excluded), sampled from /proc every 20 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import free_port, process, webserv_cmd, wrk  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CGI_TESTER = REPO / "examples" / "42" / "cgi_tester"
LIGHTTPD = shutil.which("lighttpd") or "/usr/sbin/lighttpd"
BLOCK = 32 * 1024

HELLO = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nhello\\n'\n"
CAT = "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\r\\n\\r\\n'\nexec cat\n"


def make_site(base: Path) -> Path:
    www = base / "www"
    (www / "cgi-bin").mkdir(parents=True)
    for name, text in (("hello.sh", HELLO), ("cat.sh", CAT)):
        path = www / "cgi-bin" / name
        path.write_text(text)
        path.chmod(0o755)
    (www / "cgi-bin" / "youpi.bla").write_text("")  # lighttpd wants the file to exist
    return www


def webserv_config(base: Path, www: Path, port: int) -> Path:
    conf = base / "webserv.conf"
    conf.write_text(
        f"""
error_log {base}/webserv-error.log error;
server {{
    listen 127.0.0.1:{port};
    root {www};
    access_log off;
    client_max_body_size 0;
    location /cgi-bin/ {{
        cgi .sh;
        cgi .bla {CGI_TESTER} virtual;
        allow_methods GET POST;
        cgi_timeout 10m;
    }}
}}
"""
    )
    return conf


def lighttpd_config(base: Path, www: Path, port: int) -> Path:
    uploads = base / "lighttpd-uploads"
    uploads.mkdir()
    conf = base / "lighttpd.conf"
    conf.write_text(
        f"""
server.modules = ("mod_cgi")
server.document-root = "{www}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{base}/lighttpd-error.log"
server.upload-dirs = ("{uploads}")
server.max-request-size = 0
cgi.assign = (".sh" => "", ".bla" => "{CGI_TESTER}")
"""
    )
    return conf


class RssSampler:
    """Peak VmRSS (KiB) of one process while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.idle = rss(pid)
        self.peak = self.idle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.idle) / 1024


def rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pattern(size: int) -> bytes:
    """A reproducible block of printable lower-case text."""
    return (bytes(range(97, 123)) * (size // 26 + 1))[:size]


class StreamingResponse:
    """Reads one HTTP response, hashing the body as it arrives (no full copy in memory)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.status = 0
        self.length = 0
        self.digest = hashlib.sha256()

    def _fill(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("closed early")
        self.buf += data

    def read(self) -> StreamingResponse:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("latin-1").lower()
        del self.buf[: end + 4]
        self.status = int(head.split()[1])
        if "transfer-encoding: chunked" in head:
            self._chunked()
        elif "content-length:" in head:
            need = int(head.split("content-length:")[1].split()[0])
            self._take(need)
        else:
            while True:
                self._eat(len(self.buf))
                try:
                    self._fill()
                except ConnectionError:
                    break
        return self

    def _eat(self, n: int) -> None:
        self.digest.update(memoryview(self.buf)[:n])
        self.length += n
        del self.buf[:n]

    def _take(self, n: int) -> None:
        while n:
            if not self.buf:
                self._fill()
            k = min(n, len(self.buf))
            self._eat(k)
            n -= k

    def _chunked(self) -> None:
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            line_end = self.buf.index(b"\r\n")
            size = int(bytes(self.buf[:line_end]).split(b";")[0], 16)
            del self.buf[: line_end + 2]
            if size == 0:
                return
            self._take(size)
            while len(self.buf) < 2:
                self._fill()
            del self.buf[:2]


def post(port: int, target: str, size: int, *, chunked: bool) -> StreamingResponse:
    """POST ``size`` bytes of ``pattern`` (sent from a thread while the answer is read)."""
    block = pattern(BLOCK)
    sock = socket.create_connection(("127.0.0.1", port), timeout=600)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    sock.sendall(
        f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"{framing}\r\n\r\n".encode()
    )

    def send() -> None:
        left = size
        try:
            while left:
                part = block[: min(BLOCK, left)]
                sock.sendall(b"%x\r\n%b\r\n" % (len(part), part) if chunked else part)
                left -= len(part)
            if chunked:
                sock.sendall(b"0\r\n\r\n")  # the final chunk as a segment of its own
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        return StreamingResponse(sock).read()
    finally:
        sender.join()
        sock.close()


def expected_digest(size: int, transform) -> str:
    digest = hashlib.sha256()
    block = transform(pattern(BLOCK))
    full, rest = divmod(size, BLOCK)
    for _ in range(full):
        digest.update(block)
    digest.update(block[:rest])
    return digest.hexdigest()


def bench_hello(name: str, port: int, args: argparse.Namespace) -> float:
    url = f"http://127.0.0.1:{port}/cgi-bin/hello.sh"
    r = wrk(url, connections=args.connections, seconds=args.seconds)
    print(f"  {name}: hello.sh {r['rps']:.0f} req/s ({int(r['errors'])} errors)", flush=True)
    return r["rps"] if not r["errors"] else 0.0


def bench_echo(name: str, pid: int, port: int, args: argparse.Namespace) -> tuple[float, float]:
    size = args.size_mb * 1000 * 1000
    want = expected_digest(size, lambda b: b)
    with RssSampler(pid) as sampler:
        start = time.perf_counter()
        resp = post(port, "/cgi-bin/cat.sh", size, chunked=False)
        elapsed = time.perf_counter() - start
    ok = resp.status == 200 and resp.length == size and resp.digest.hexdigest() == want
    print(
        f"  {name}: {args.size_mb} MB echo through cat {elapsed:.2f} s, "
        f"correct={ok}, server RSS +{sampler.growth_mib:.1f} MiB",
        flush=True,
    )
    return (elapsed if ok else float("inf")), sampler.growth_mib


def bench_parallel(
    name: str, pid: int, port: int, args: argparse.Namespace
) -> tuple[float, int, float]:
    size = args.size_mb * 1000 * 1000
    want = expected_digest(size, bytes.upper)
    results: list[StreamingResponse | BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            res: StreamingResponse | BaseException = post(
                port, "/cgi-bin/youpi.bla", size, chunked=True
            )
        except Exception as exc:  # noqa: BLE001 - reported below
            res = exc
        with lock:
            results.append(res)

    with RssSampler(pid) as sampler:
        start = time.perf_counter()
        threads = [threading.Thread(target=one, daemon=True) for _ in range(args.parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
    good = sum(
        1
        for r in results
        if isinstance(r, StreamingResponse)
        and r.status == 200
        and r.length == size
        and r.digest.hexdigest() == want
    )
    print(
        f"  {name}: {args.parallel} x {args.size_mb} MB chunked through cgi_tester "
        f"{elapsed:.2f} s, {good}/{args.parallel} correct, "
        f"server RSS +{sampler.growth_mib:.1f} MiB",
        flush=True,
    )
    return elapsed, good, sampler.growth_mib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration")
    parser.add_argument("--connections", type=int, default=10, help="wrk connections")
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs; best kept")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-cgi-") as tmp, contextlib.ExitStack() as stack:
        base = Path(tmp)
        www = make_site(base)
        servers: dict[str, tuple[int, int]] = {}  # name -> (pid, port)
        port = free_port()
        proc = stack.enter_context(process(webserv_cmd(webserv_config(base, www, port)), port))
        servers["webserv"] = (proc.pid, port)
        port = free_port()
        proc = stack.enter_context(
            process([LIGHTTPD, "-D", "-f", str(lighttpd_config(base, www, port))], port)
        )
        servers["lighttpd"] = (proc.pid, port)

        # Both servers run side by side and the measurements alternate between them, so a
        # change in the machine's load hits both; the best of the rounds is kept.
        rps = {name: 0.0 for name in servers}
        echo = {name: (float("inf"), 0.0) for name in servers}
        for _name, (_, port) in servers.items():
            wrk(
                f"http://127.0.0.1:{port}/cgi-bin/hello.sh", connections=args.connections, seconds=2
            )  # warm-up
        for _ in range(args.rounds):
            for name, (_, port) in servers.items():
                rps[name] = max(rps[name], bench_hello(name, port, args))
            for name, (pid, port) in servers.items():
                t, grow = bench_echo(name, pid, port, args)
                best_t, best_grow = echo[name]
                echo[name] = (min(t, best_t), max(grow, best_grow))
        parallel = {
            name: bench_parallel(name, pid, port, args) for name, (pid, port) in servers.items()
        }

    w, lt = "webserv", "lighttpd"
    print("\n== webserv / lighttpd mod_cgi (best of the rounds)")
    print(
        f"hello.sh req/s            {rps[w]:.0f} vs {rps[lt]:.0f}: "
        f"x{rps[w] / rps[lt]:.2f}  (target >= 0.8)"
    )
    print(
        f"{args.size_mb} MB echo time         {echo[w][0]:.2f} s vs {echo[lt][0]:.2f} s: "
        f"x{echo[w][0] / echo[lt][0]:.2f}  (target <= 1.5)"
    )
    print(
        f"echo server RSS growth    {echo[w][1]:.1f} MiB (lighttpd {echo[lt][1]:.1f})  "
        "(target < 64)"
    )
    print(
        f"{args.parallel} x {args.size_mb} MB chunked     "
        f"{parallel[w][0]:.2f} s ({parallel[w][1]}/{args.parallel} correct, "
        f"RSS +{parallel[w][2]:.1f} MiB) vs {parallel[lt][0]:.2f} s "
        f"({parallel[lt][1]}/{args.parallel}, RSS +{parallel[lt][2]:.1f} MiB): "
        f"x{parallel[w][0] / parallel[lt][0]:.2f}"
    )


if __name__ == "__main__":
    main()
