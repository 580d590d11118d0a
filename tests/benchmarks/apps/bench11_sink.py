"""A small HTTP/1.1 upstream for the proxy benchmark: reads each request body (Content-Length
or chunked, parsed with httptools) at a capped rate, discards it and answers how many bytes
arrived (``received N``), keep-alive.

    python bench11_sink.py PORT [RATE_MIB_PER_S]

The cap (default 64 MiB/s; 0 = none) keeps the upstream slower than the client, so a proxy
between them must hold the client back instead of buffering the difference.
"""

from __future__ import annotations

import asyncio
import sys
import time

import httptools


class Sink(asyncio.Protocol):
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.parser = httptools.HttpRequestParser(self)
        self.received = 0
        self.window_start = time.monotonic()
        self.window_bytes = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()
            return
        if self.rate:
            self.window_bytes += len(data)
            ahead = self.window_bytes / self.rate - (time.monotonic() - self.window_start)
            if ahead > 0.001:
                assert self.transport is not None
                self.transport.pause_reading()
                asyncio.get_running_loop().call_later(ahead, self.transport.resume_reading)
            if self.window_bytes > 16 * self.rate:  # a fresh window now and then
                self.window_start, self.window_bytes = time.monotonic(), 0

    def on_message_begin(self) -> None:
        self.received = 0
        self.window_start, self.window_bytes = time.monotonic(), 0

    def on_body(self, body: bytes) -> None:
        self.received += len(body)

    def on_message_complete(self) -> None:
        body = f"received {self.received}\n".encode()
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        if not self.parser.should_keep_alive():
            self.transport.close()


async def main(port: int, rate: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Sink(rate), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    mib_s = float(sys.argv[2]) if len(sys.argv) > 2 else 64.0
    asyncio.run(main(int(sys.argv[1]), mib_s * 2**20))
