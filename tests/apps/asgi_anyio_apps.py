"""ASGI apps that lean on anyio and background work, for the tests of running the app in
a task of its own: a Starlette background task after the response, a body streamed
from a child task of a task group (with the app waiting on the group), a timeout scope,
and the pre-2.4 pattern of listening for http.disconnect in a task group while streaming.
Events go to ``anyio-events.log`` in the server's working directory."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

LOG = Path("anyio-events.log")


def record(line: str) -> None:
    with LOG.open("a") as log:
        log.write(line + "\n")


async def later(tag: str) -> None:
    await anyio.sleep(0.05)
    record(f"background {tag}")


async def with_background(request: Request) -> PlainTextResponse:
    tag = request.query_params["tag"]
    return PlainTextResponse("answered", background=BackgroundTask(later, tag))


async def events(request: Request) -> PlainTextResponse:
    return PlainTextResponse(LOG.read_text() if LOG.exists() else "")


background_app = Starlette(routes=[Route("/bg/run", with_background), Route("/bg/events", events)])


async def child_streams(scope: Any, receive: Any, send: Any) -> None:
    """The response is sent by a child task while the app waits for its task group."""

    async def producer() -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(50):
            await send({"type": "http.response.body", "body": b"%d," % i, "more_body": True})
            await anyio.sleep(0)
        await send({"type": "http.response.body", "body": b"end"})

    async with anyio.create_task_group() as group:
        group.start_soon(producer)


async def timeout_app(scope: Any, receive: Any, send: Any) -> None:
    """Its own timeout fires while it waits: it answers 504 itself."""
    status, body = 200, b"in time"
    with anyio.move_on_after(0.05) as scope_:
        await anyio.sleep(30)
    if scope_.cancelled_caught:
        status, body = 504, b"the app timed out"
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def listener_stream(scope: Any, receive: Any, send: Any) -> None:
    """Streams forever from a child task while the app listens for http.disconnect (how
    apps written for ASGI spec < 2.4 notice a client that left)."""
    tag = scope["query_string"].decode()

    async def stream() -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
            await anyio.sleep(0.02)

    async with anyio.create_task_group() as group:
        group.start_soon(stream)
        while (await receive())["type"] != "http.disconnect":
            pass
        record(f"listener {tag} heard disconnect")
        group.cancel_scope.cancel()


async def asyncio_timeout_app(scope: Any, receive: Any, send: Any) -> None:
    """``asyncio.timeout`` cancels the current task (the connection's) and uncancels it."""
    if scope["type"] != "http":
        return
    try:
        async with asyncio.timeout(0.05):
            await asyncio.sleep(30)
        body = b"in time"
    except TimeoutError:
        body = b"asyncio timed out"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
