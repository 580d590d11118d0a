"""100 MB chunked upload (issue 4): stored byte-exact, server RSS within 32 MiB of idle.

    python tests/benchmarks/bench_upload.py [--mib 100] [--chunk 32768]

Starts webserv on a free loopback port with an upload store in a temporary directory, PUTs
``--mib`` MiB in ``--chunk``-byte chunks with ``Transfer-Encoding: chunked``, samples the
server's VmRSS after every MiB, then checks the stored file's SHA-256. Exit status 1 when
the file differs or RSS grew by 32 MiB or more. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

from framework.testing import ServerProcess, read_response

CONFIG = """
server {
    listen 127.0.0.1:{port};
    root www;
    access_log off;
    location /upload {
        upload_store www/upload;
        client_max_body_size 0;
        allow_methods GET HEAD PUT POST DELETE;
    }
}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=32768)
    args = parser.parse_args()
    block = bytes(range(256)) * 4096  # 1 MiB
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "www" / "upload").mkdir(parents=True)
        with ServerProcess(CONFIG, cwd=root) as srv:
            srv.request("PUT", "/upload/warmup", b"warm")
            idle = peak = srv.rss_kib()
            digest = hashlib.sha256()
            started = time.monotonic()
            with srv.connect(timeout=120) as sock:
                sock.sendall(
                    b"PUT /upload/blob.bin HTTP/1.1\r\nHost: bench\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                )
                for i in range(args.mib):
                    piece = block[i % 256 :] + block[: i % 256]
                    digest.update(piece)
                    for off in range(0, len(piece), args.chunk):
                        chunk = piece[off : off + args.chunk]
                        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    peak = max(peak, srv.rss_kib())
                sock.sendall(b"0\r\n\r\n")
                status = read_response(sock).status
            elapsed = time.monotonic() - started
            peak = max(peak, srv.rss_kib())
            stored = hashlib.sha256((root / "www" / "upload" / "blob.bin").read_bytes())
    exact = stored.hexdigest() == digest.hexdigest()
    growth = (peak - idle) / 1024
    print(f"status {status}, {args.mib} MiB in {elapsed:.2f}s ({args.mib / elapsed:.1f} MiB/s)")
    print(
        f"byte-exact: {exact}; RSS idle {idle / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
        f"(+{growth:.1f} MiB)"
    )
    return 0 if status == 201 and exact and growth < 32 else 1


if __name__ == "__main__":
    sys.exit(main())
