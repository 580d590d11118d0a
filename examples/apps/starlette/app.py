"""A Starlette app that webserv serves at /api/ (see webserv.conf): JSON routes, a request
body, a streamed response (server-sent events) and a lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

notes: list[str] = []


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.ready = True  # open database pools here; runs once per webserv worker
    yield


async def hello(request: Request) -> Response:
    return JSONResponse(
        {
            "hello": "world",
            "path": request.url.path,
            "root_path": request.scope["root_path"],
            "ready": request.app.state.ready,
        }
    )


async def notes_view(request: Request) -> Response:
    if request.method == "POST":
        text = (await request.json()).get("text", "")
        notes.append(str(text))
        return JSONResponse({"id": len(notes)}, status_code=201)
    return JSONResponse(notes)


async def ticks(request: Request) -> Response:
    count = min(int(request.query_params.get("n", "5")), 1000)

    async def events() -> AsyncIterator[str]:
        for i in range(count):
            yield f"data: tick {i}\n\n"
            await asyncio.sleep(0.05)

    return StreamingResponse(events(), media_type="text/event-stream")


async def upper(request: Request) -> Response:
    """Streams the request body back in upper case, chunk by chunk."""

    async def body() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            yield chunk.upper()

    return StreamingResponse(body(), media_type="application/octet-stream")


app = Starlette(
    routes=[
        Route("/hello", hello),
        Route("/notes", notes_view, methods=["GET", "POST"]),
        Route("/ticks", ticks),
        Route("/upper", upper, methods=["POST"]),
    ],
    lifespan=lifespan,
)
