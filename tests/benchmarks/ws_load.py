"""WebSocket echo load client: N connections, each doing send/receive round trips.

    python tests/benchmarks/ws_load.py ws://127.0.0.1:PORT/ [--connections 50]
        [--seconds 5] [--size 32] [--impl raw|websockets] [--binary]

All connections are opened (handshakes done) first; then every connection keeps exactly one
message in flight (send, wait for its echo, check it, send the next) until the duration
ends. Prints one JSON line: messages echoed, seconds, messages/s, errors, connections.

``--impl raw`` (default) speaks RFC 6455 frames directly on an asyncio protocol (masked
client frames prepared once, no compression offered): a cheap client, so on a 2-core
machine the server rather than the client is the bottleneck. ``--impl websockets`` uses the
``websockets`` library's client (compression off), the heavier, more ordinary client.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import os
import struct
import sys
import time
from typing import cast
from urllib.parse import urlsplit


def client_frame(payload: bytes, opcode: int) -> bytes:
    """A final, masked client frame carrying ``payload``."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


class Stats:
    def __init__(self) -> None:
        self.messages = 0
        self.errors: list[str] = []
        self.start = asyncio.Event()
        self.stop_at = 0.0
        self.measuring = False


class RawEcho(asyncio.Protocol):
    """One WebSocket connection of the raw client."""

    def __init__(
        self,
        host: str,
        path: str,
        payload: bytes,
        opcode: int,
        stats: Stats,
        ready: asyncio.Future[None],
        done: asyncio.Future[None],
    ) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n\r\n"
        ).encode()
        self.payload = payload
        self.opcode = opcode
        self.frame = client_frame(payload, opcode)
        self.stats = stats
        self.ready = ready
        self.done = done
        self.buf = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def begin(self) -> None:
        assert self.transport is not None
        self.transport.write(self.frame)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            del self.buf[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.fail(f"handshake answered {head[:80]!r}")
                return
            self.upgraded = True
            if not self.ready.done():
                self.ready.set_result(None)
        self.parse()

    def parse(self) -> None:
        buf = self.buf
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            if b1 & 0x80:
                self.fail("server frame masked")
                return
            n, at = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, at = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, at = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < at + n:
                return
            payload = bytes(buf[at : at + n])
            del buf[: at + n]
            opcode = b0 & 0x0F
            if opcode == 0x8:
                self.finish()
                return
            if opcode == 0x9:
                assert self.transport is not None
                self.transport.write(client_frame(payload, 0xA))
                continue
            if opcode == 0xA:
                continue
            if opcode != self.opcode or not b0 & 0x80 or payload != self.payload:
                self.fail(f"unexpected frame {b0:#x} {payload[:40]!r}")
                return
            self.on_echo()

    def on_echo(self) -> None:
        stats = self.stats
        if stats.measuring:
            stats.messages += 1
        if time.monotonic() < stats.stop_at:
            assert self.transport is not None
            self.transport.write(self.frame)
        else:
            self.close()

    def close(self) -> None:
        assert self.transport is not None
        self.transport.write(client_frame(struct.pack("!H", 1000), 0x8))
        self.finish()

    def finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)
        if self.transport is not None:
            self.transport.close()

    def fail(self, why: str) -> None:
        self.stats.errors.append(why)
        if not self.ready.done():
            self.ready.set_result(None)
        self.finish()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            if self.stats.measuring and time.monotonic() < self.stats.stop_at:
                self.stats.errors.append(f"connection lost early: {exc!r}")
            self.done.set_result(None)
        if not self.ready.done():
            self.stats.errors.append(f"connection lost before the handshake: {exc!r}")
            self.ready.set_result(None)


async def run_raw(
    url: str, connections: int, seconds: float, payload: bytes, opcode: int
) -> tuple[Stats, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    stats = Stats()
    stats.stop_at = float("inf")
    clients = []
    for _ in range(connections):
        ready: asyncio.Future[None] = loop.create_future()
        done: asyncio.Future[None] = loop.create_future()
        _, proto = await loop.create_connection(
            functools.partial(
                RawEcho, f"{host}:{port}", parts.path or "/", payload, opcode, stats, ready, done
            ),
            host,
            port,
        )
        clients.append((proto, ready, done))
    await asyncio.wait_for(asyncio.gather(*(r for _, r, _ in clients)), 30)
    started = time.monotonic()
    stats.stop_at = started + seconds
    stats.measuring = True
    for proto, _, _ in clients:
        if proto.upgraded:
            proto.begin()
    await asyncio.wait_for(asyncio.gather(*(d for _, _, d in clients)), seconds + 30)
    return stats, time.monotonic() - started


async def run_websockets(
    url: str, connections: int, seconds: float, payload: bytes, opcode: int
) -> tuple[Stats, float]:
    from websockets.asyncio.client import connect

    stats = Stats()
    message: str | bytes = payload.decode() if opcode == 1 else payload
    sockets = [await connect(url, compression=None, max_queue=None) for _ in range(connections)]
    started = time.monotonic()
    stop_at = started + seconds

    async def loop_one(ws) -> None:  # type: ignore[no-untyped-def]
        try:
            while time.monotonic() < stop_at:
                await ws.send(message)
                if await ws.recv() != message:
                    stats.errors.append("echo differs")
                    return
                stats.messages += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported
            stats.errors.append(repr(exc))
        finally:
            await ws.close()

    await asyncio.gather(*(loop_one(ws) for ws in sockets))
    return stats, time.monotonic() - started


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("url")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--size", type=int, default=32, help="message size in bytes")
    ap.add_argument("--binary", action="store_true", help="binary messages (default: text)")
    ap.add_argument("--impl", choices=("raw", "websockets"), default="raw")
    args = ap.parse_args()
    payload = b"x" * args.size
    opcode = 2 if args.binary else 1
    run = run_raw if args.impl == "raw" else run_websockets
    try:
        import uvloop

        uvloop.install()  # the client's own cost stays low
    except ImportError:
        pass
    stats, took = asyncio.run(run(args.url, args.connections, args.seconds, payload, opcode))
    print(
        json.dumps(
            {
                "messages": stats.messages,
                "seconds": round(took, 3),
                "rate": stats.messages / took if took else 0.0,
                "errors": len(stats.errors),
                "first_errors": stats.errors[:3],
            }
        )
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
