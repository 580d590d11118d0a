"""A small real upstream for the proxy tests: an asyncio HTTP/1.1 server (httptools) run as
a subprocess (``python proxy_backend.py PORT NAME [WS_PORT]``; prints ``ready`` once it
listens). Every answer says which backend and which connection served it.

- ``GET /anything``: JSON with name, conn (connection number), method, target, version,
  headers, body_len; keep-alive as HTTP/1.x says.
- ``/stats``: connections accepted and open, bytes of ``/stream`` written so far.
Endpoints are chosen by the last path segment (``/any/prefix/echo`` is ``/echo``).
- ``/stream?n=BYTES``: a chunked body of BYTES bytes, written with backpressure (drain).
- ``/length?n=BYTES``: the same with a Content-Length.
- ``/echo``: the request body streamed back (chunked) as it arrives.
- ``/discard``: the request body counted, not kept (``body_len``).
- ``/sleep?s=SECONDS``: answers after a while. ``/status?code=N``: that status.
- ``/truncate``: announces 100 bytes, sends 10 and closes. ``/garbage``: not HTTP.
- ``/stall``: reads no body and never answers. ``/stallbody``: announces 100 bytes, sends
  10, then stays silent.
- ``/close``: closes without answering. ``/dropnext``: answers (keep-alive), then closes
  the connection when the next request arrives on it (a stale kept-alive connection).
- ``/raw?r=NAME``: the canned bytes ``RAW[NAME]`` as they are (a malformed or surprising
  answer), connection kept open. ``/stats`` also counts the requests seen per path
  (``seen``).
- with WS_PORT: a ``websockets`` echo server there (the Upgrade tunnel's upstream).
"""

from __future__ import annotations

import asyncio
import json
import sys
from urllib.parse import parse_qs, urlsplit

import httptools

STATE = {"connections": 0, "open": 0, "stream_written": 0, "ws_open": 0}
SEEN: dict[str, int] = {}  # requests seen per path (the last segment)
RAW = {
    # a whole second answer right after the first one's Content-Length bytes
    "extra": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\nX-Smuggled: 1\r\n\r\nSECRET-FOR-YOU",
    # a bodiless status followed by another answer
    "204extra": b"HTTP/1.1 204 No Content\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Smuggled: 1\r\n\r\nbad",
    # trailer fields, one of them a Content-Length
    "trailers": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
    b"Set-Cookie: session=attacker\r\nLocation: http://evil/\r\nContent-Length: 1\r\n\r\n",
    "trailers2": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
    b"Set-Cookie: session=attacker\r\nX-Trailer: 1\r\n\r\n",
}


class _Request:
    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[str, str]] = []
        self.body: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.done = False


class _Protocol:
    def __init__(self) -> None:
        self.current: _Request | None = None
        self.ready: asyncio.Queue[_Request] = asyncio.Queue()

    def on_message_begin(self) -> None:
        self.current = _Request()

    def on_url(self, url: bytes) -> None:
        assert self.current is not None
        self.current.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.current is not None
        self.current.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        assert self.current is not None
        self.ready.put_nowait(self.current)

    def on_body(self, body: bytes) -> None:
        assert self.current is not None
        self.current.body.put_nowait(body)

    def on_message_complete(self) -> None:
        assert self.current is not None
        self.current.done = True
        self.current.body.put_nowait(None)


async def _body(request: _Request) -> bytes:
    parts = []
    while True:
        chunk = await request.body.get()
        if chunk is None:
            return b"".join(parts)
        parts.append(chunk)


def _head(status: int, headers: list[tuple[str, str]], keep: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} Answer\r\n"]
    lines += [f"{k}: {v}\r\n" for k, v in headers]
    lines.append("Server: backend\r\n")
    lines.append("Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n")
    lines.append(
        "X-Hop: yes\r\nConnection: "
        + ("keep-alive, X-Hop" if keep else "close, X-Hop")
        + "\r\n\r\n"
    )
    return "".join(lines).encode("latin-1")


async def serve(
    name: str, conn_id: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    proto = _Protocol()
    parser = httptools.HttpRequestParser(proto)

    async def feed() -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                parser.feed_data(data)
        except (httptools.HttpParserError, ConnectionError):
            pass
        proto.ready.put_nowait(None)  # type: ignore[arg-type]
        if proto.current is not None and not proto.current.done:
            proto.current.body.put_nowait(None)

    feeder = asyncio.create_task(feed())
    drop_next = False
    try:
        while True:
            request = await proto.ready.get()
            if request is None:
                return
            keep = parser.should_keep_alive()
            url = urlsplit(request.url.decode("latin-1"))
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            path = "/" + url.path.rsplit("/", 1)[-1]  # /any/prefix/echo is /echo
            SEEN[path] = SEEN.get(path, 0) + 1  # a request dropped below was seen too
            if drop_next:
                return
            if path == "/close":
                return
            if path == "/raw":
                await _body(request)
                writer.write(RAW[query["r"]])
                await writer.drain()
                continue
            if path == "/garbage":
                writer.write(b"this is not http\r\n\r\n")
                await writer.drain()
                return
            if path == "/sleep":
                await asyncio.sleep(float(query.get("s", "1")))
            if path == "/stall":  # never reads the request body, never answers
                feeder.cancel()
                await asyncio.sleep(60)
                return
            if path == "/stallbody":  # half a body, then silence
                await _body(request)
                writer.write(_head(200, [("Content-Length", "100")], False) + b"0123456789")
                await writer.drain()
                await asyncio.sleep(60)
                return
            if path == "/truncate":
                await _body(request)
                writer.write(_head(200, [("Content-Length", "100")], False) + b"0123456789")
                await writer.drain()
                return
            if path == "/echo":
                writer.write(_head(200, [("Transfer-Encoding", "chunked")], keep))
                while True:
                    chunk = await request.body.get()
                    if chunk is None:
                        break
                    writer.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
                if not keep:
                    return
                continue
            if path in ("/stream", "/length"):
                await _body(request)
                total = int(query.get("n", "0"))
                block = bytes(range(256)) * 256  # 64 KiB
                framing = (
                    ("Transfer-Encoding", "chunked")
                    if path == "/stream"
                    else ("Content-Length", str(total))
                )
                writer.write(
                    _head(200, [framing, ("Content-Type", "application/octet-stream")], keep)
                )
                left = total
                while left:
                    piece = block[: min(left, len(block))]
                    writer.write(
                        b"%x\r\n%b\r\n" % (len(piece), piece) if path == "/stream" else piece
                    )
                    await writer.drain()
                    left -= len(piece)
                    STATE["stream_written"] += len(piece)
                if path == "/stream":
                    writer.write(b"0\r\n\r\n")
                await writer.drain()
                if not keep:
                    return
                continue
            if path == "/discard":
                size = 0
                while (chunk := await request.body.get()) is not None:
                    size += len(chunk)
                body = b""
                payload = json.dumps({"name": name, "body_len": size}).encode()
                head = _head(200, [("Content-Length", str(len(payload)))], keep)
                writer.write(head + payload)
                await writer.drain()
                if not keep:
                    return
                continue
            body = await _body(request)
            drop_next = path == "/dropnext"  # answered; the next request on it is dropped
            if path == "/stats":
                payload = json.dumps({**STATE, "seen": SEEN}).encode()
                status = 200
            else:
                status = int(query.get("code", "200")) if path == "/status" else 200
                payload = json.dumps(
                    {
                        "name": name,
                        "conn": conn_id,
                        "method": parser.get_method().decode(),
                        "target": request.url.decode("latin-1"),
                        "version": parser.get_http_version(),
                        "headers": request.headers,
                        "body_len": len(body),
                    }
                ).encode()
            head = _head(
                status,
                [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
                keep,
            )
            writer.write(head + (b"" if parser.get_method() == b"HEAD" else payload))
            await writer.drain()
            if not keep:
                return
    except ConnectionError:
        pass
    finally:
        feeder.cancel()
        writer.close()


async def main() -> None:
    port, name = int(sys.argv[1]), sys.argv[2]
    counter = 0

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal counter
        counter += 1
        STATE["connections"] = counter
        STATE["open"] += 1
        try:
            await serve(name, counter, reader, writer)
        finally:
            STATE["open"] -= 1

    server = await asyncio.start_server(accept, "127.0.0.1", port)
    if len(sys.argv) > 3:
        import websockets

        async def echo(ws) -> None:  # type: ignore[no-untyped-def]
            STATE["ws_open"] += 1
            try:
                async for message in ws:
                    await ws.send(message)
            finally:
                STATE["ws_open"] -= 1

        await websockets.serve(echo, "127.0.0.1", int(sys.argv[3]), max_size=None)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
