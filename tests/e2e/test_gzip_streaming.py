"""Compression of bodies that are never whole in memory, over real sockets: a CGI writing
20 MB slowly, a plugin stream (each chunk reaches the client before the next is produced)
and a 100 MiB file, each decoded incrementally by the client while the server's RSS stays
flat."""

from __future__ import annotations

import os
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.testing import ServerProcess, wait_until

PLUGIN = '''
import asyncio
from pathlib import Path

from framework import Handler, Response


class Trickle(Handler):
    """Yields one chunk, then waits (bounded) for the test to create a go-file."""

    name = "gz_trickle"

    async def handle(self, request, call_next):
        go = Path("go")

        async def parts():
            yield b"first chunk;"
            for _ in range(1000):
                if go.exists():
                    break
                await asyncio.sleep(0.01)
            yield b"second chunk;"

        return Response(200, parts(), {"Content-Type": "text/plain"})
'''

CGI = """import sys, time
words = b" the same words, compressible but not trivially so\\n"
line = b"".join(b"%06d" % i + words for i in range(1000))
out = sys.stdout.buffer
out.write(b"Content-Type: text/plain\\r\\n\\r\\n")
for i in range(20 * 1024 * 1024 // len(line) + 1):
    out.write(line)
    out.flush()
    if i % 16 == 0:
        time.sleep(0.005)
"""

CONFIG = """load_module gz_plugins;
access_log off;
server {
    listen 127.0.0.1:{port};
    root www;
    gzip on; gzip_types text/plain;
    location /cgi/ { cgi .py /usr/bin/python3; }
    location /plugin/ { handler gz_trickle; }
}
"""
BIG = 100 * 1024 * 1024
BLOCK = b"".join(b"%08d lorem ipsum dolor sit amet, consectetur\n" % i for i in range(20000))


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("gzip-stream")
    (base / "www/cgi").mkdir(parents=True)
    (base / "www/cgi/slow.py").write_text(CGI)
    (base / "gz_plugins.py").write_text(PLUGIN)
    with open(base / "www/big.txt", "wb") as f:
        for _ in range(BIG // len(BLOCK)):
            f.write(BLOCK)
        f.write(BLOCK[: BIG % len(BLOCK)])
    srv = ServerProcess(CONFIG, cwd=base, pythonpath=[base]).start()
    try:
        yield srv
    finally:
        srv.stop()


def stream_decoded(srv: ServerProcess, path: str) -> Iterator[bytes]:
    """The decoded body of ``GET path`` (gzip, chunked), piece by piece as it arrives."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, _, buf = buf.partition(b"\r\n\r\n")
    assert b"Content-Encoding: gzip" in head and b"Transfer-Encoding: chunked" in head, head
    inflate = zlib.decompressobj(31)
    with sock:
        while True:
            while b"\r\n" not in buf:
                buf += sock.recv(65536)
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            while len(buf) < size + 2:
                more = sock.recv(max(65536, size + 2 - len(buf)))
                assert more, "connection closed mid-chunk"
                buf += more
            yield inflate.decompress(buf[:size])
            buf = buf[size + 2 :]
    yield inflate.flush()
    assert inflate.eof


def test_plugin_stream_chunks_reach_the_client_as_produced(server):
    go = Path(server.cwd) / "go"
    pieces = stream_decoded(server, "/plugin/")
    got = b""
    while b"first chunk;" not in got:
        got += next(pieces)  # arrives while the plugin still waits for the go-file
    assert not go.exists()
    go.write_text("")
    got += b"".join(pieces)
    assert got == b"first chunk;second chunk;"
    go.unlink()


def _fetch_with_flat_rss(srv: ServerProcess, path: str) -> tuple[int, int, int]:
    """(decoded length, crc32, peak RSS growth in KiB) of a streamed gzip answer."""
    srv.get("/missing")  # warm the worker up before taking its baseline
    baseline = srv.rss_kib()
    peak = baseline
    total = crc = 0
    for i, piece in enumerate(stream_decoded(srv, path)):
        total += len(piece)
        crc = zlib.crc32(piece, crc)
        if i % 64 == 0:
            peak = max(peak, srv.rss_kib())
    return total, crc, peak - baseline


def test_cgi_output_is_compressed_as_it_streams(server):
    line = b"".join(
        b"%06d the same words, compressible but not trivially so\n" % i for i in range(1000)
    )
    count = 20 * 1024 * 1024 // len(line) + 1
    total, crc, growth = _fetch_with_flat_rss(server, "/cgi/slow.py")
    assert total == len(line) * count
    expected = 0
    for _ in range(count):
        expected = zlib.crc32(line, expected)
    assert crc == expected
    assert growth < 32 * 1024, f"RSS grew {growth} KiB"
    assert wait_until(lambda: not server.children())


def test_100_mib_file_is_compressed_with_flat_memory(server):
    total, crc, growth = _fetch_with_flat_rss(server, "/big.txt")
    assert total == BIG
    expected = 0
    with open(os.path.join(server.cwd, "www/big.txt"), "rb") as f:
        while block := f.read(1 << 20):
            expected = zlib.crc32(block, expected)
    assert crc == expected
    assert growth < 32 * 1024, f"RSS grew {growth} KiB"


def test_client_leaving_mid_stream_ends_the_compressed_cgi(server):
    pieces = stream_decoded(server, "/cgi/slow.py")
    assert next(pieces)  # the script is running and its output is coming compressed
    assert server.children()
    pieces.close()  # closes the socket mid-body
    assert wait_until(lambda: not server.children(), timeout=15)
    assert server.get("/missing").status == 404  # and the worker serves on
