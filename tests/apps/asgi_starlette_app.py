"""A real Starlette app for the ASGI end-to-end tests: streaming request and response
bodies, an endless SSE stream that records when it stops, lifespan state, and a shutdown
that leaves a marker file (in the server's working directory)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

SSE_LOG = Path("sse-events.log")  # relative: the server runs in the test's directory


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
    yield {"greeting": "hello from lifespan", "worker": os.getpid()}
    with Path("lifespan-shutdown.txt").open("a") as log:
        log.write(f"shutdown {os.getpid()}\n")


async def state(request: Request) -> JSONResponse:
    return JSONResponse({"greeting": request.state.greeting, "worker": request.state.worker})


async def echo(request: Request) -> StreamingResponse:
    """The request body back, chunk by chunk as it arrives (never all in memory)."""

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            yield chunk

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def count(request: Request) -> PlainTextResponse:
    """The size of the request body, read as a stream."""
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
    return PlainTextResponse(str(total))


async def numbers(request: Request) -> StreamingResponse:
    n = int(request.query_params.get("n", "10"))

    async def lines() -> AsyncIterator[bytes]:
        for i in range(n):
            yield f"line {i}\n".encode()

    return StreamingResponse(lines(), media_type="text/plain")


async def sse(request: Request) -> StreamingResponse:
    """One event every 20 ms, forever; the log says when the generator stops."""
    tag = request.query_params.get("tag", "x")

    async def events() -> AsyncIterator[bytes]:
        i = 0
        try:
            while True:
                yield f"data: {tag} {i}\n\n".encode()
                i += 1
                await asyncio.sleep(0.02)
        finally:
            with SSE_LOG.open("a") as log:
                log.write(f"{tag} stopped\n")

    return StreamingResponse(events(), media_type="text/event-stream")


async def wait_disconnect(request: Request) -> Response:
    """Waits for http.disconnect without answering, then records it."""
    tag = request.query_params.get("tag", "x")
    message = await request.receive()
    while message["type"] != "http.disconnect":
        message = await request.receive()
    with SSE_LOG.open("a") as log:
        log.write(f"{tag} disconnected\n")
    return Response(status_code=204)


async def sse_log(request: Request) -> PlainTextResponse:
    return PlainTextResponse(SSE_LOG.read_text() if SSE_LOG.exists() else "")


async def boom(request: Request) -> Response:
    raise RuntimeError("starlette boom")


def sync_route(request: Request) -> PlainTextResponse:
    """A sync endpoint: Starlette runs it in its thread pool (anyio)."""
    return PlainTextResponse("from a thread")


app = Starlette(
    lifespan=lifespan,
    routes=[
        Route("/app/state", state),
        Route("/app/echo", echo, methods=["POST", "PUT"]),
        Route("/app/count", count, methods=["POST"]),
        Route("/small/count", count, methods=["POST"]),
        Route("/app/numbers", numbers),
        Route("/app/sse", sse),
        Route("/app/wait", wait_disconnect),
        Route("/app/sse-log", sse_log),
        Route("/app/boom", boom),
        Route("/app/sync", sync_route),
    ],
)


@asynccontextmanager
async def failing_lifespan(app: Starlette) -> AsyncIterator[None]:
    raise RuntimeError("database unreachable")
    yield


failing = Starlette(lifespan=failing_lifespan, routes=[Route("/", state)])
