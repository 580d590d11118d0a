"""ASGI apps for the tests of running each request's app in a task of its own: the app's
own timeout firing while its body streams, background work after the response (a real
Starlette ``BackgroundTask``), task-keyed state, a fresh context, a future of another
event loop, and invalid response starts. Events go to ``task-events.log`` in the server's
working directory."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import weakref
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

LOG = Path("task-events.log")
CHUNK = b"x" * 16384


def record(line: str) -> None:
    with LOG.open("a") as log:
        log.write(line + "\n")


async def timed_stream(scope: Any, receive: Any, send: Any) -> None:
    """Streams as fast as the client reads until its own timeout fires (asyncio.timeout or
    anyio.move_on_after, by query), then ends its body with ``END``."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    if scope["query_string"] == b"anyio":
        with anyio.move_on_after(0.2):
            while True:
                await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
    else:
        try:
            async with asyncio.timeout(0.2):
                while True:
                    await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
        except TimeoutError:
            pass
    await send({"type": "http.response.body", "body": b"END", "more_body": False})


# -- background work after the response (Starlette) ---------------------------------------------
_released: dict[str, asyncio.Event] = {}
_started: dict[str, float] = {}


async def _background(tag: str) -> None:
    _started[tag] = asyncio.get_running_loop().time()
    record(f"bg {tag} started")
    try:
        await _released.setdefault(tag, asyncio.Event()).wait()
    except BaseException as exc:
        record(f"bg {tag} killed by {type(exc).__name__}")
        raise
    record(f"bg {tag} done")


async def bg_start(request: Request) -> PlainTextResponse:
    tag = request.query_params["tag"]
    return PlainTextResponse("accepted", background=BackgroundTask(_background, tag))


async def bg_age(request: Request) -> PlainTextResponse:
    """How long the background work of ``tag`` has been running, in seconds."""
    started = _started.get(request.query_params["tag"])
    age = asyncio.get_running_loop().time() - started if started is not None else -1.0
    return PlainTextResponse(f"{age:.3f}")


async def bg_release(request: Request) -> PlainTextResponse:
    _released.setdefault(request.query_params["tag"], asyncio.Event()).set()
    return PlainTextResponse("released")


async def events(request: Request) -> PlainTextResponse:
    return PlainTextResponse(LOG.read_text() if LOG.exists() else "")


background_app = Starlette(
    routes=[
        Route("/bg/start", bg_start),
        Route("/bg/age", bg_age),
        Route("/bg/release", bg_release),
        Route("/bg/events", events),
    ]
)

# -- task identity and context -------------------------------------------------------------------
_per_task: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen")


async def task_scoped(scope: Any, receive: Any, send: Any) -> None:
    """State keyed on ``asyncio.current_task()`` (SQLAlchemy's ``async_scoped_session(
    scopefunc=current_task)``): who logged in during this request; plus how many context
    variables the app found set when it started (a fresh context: none)."""
    if scope["type"] != "http":
        return
    inherited = len(contextvars.copy_context())
    session = _per_task.setdefault(asyncio.current_task(), {})
    headers = dict(scope["headers"])
    if b"x-user" in headers:
        session["user"] = headers[b"x-user"].decode()
    _seen.set("this request")
    body = f"{session.get('user', 'anonymous')} {inherited}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def foreign_future(scope: Any, receive: Any, send: Any) -> None:
    """Awaits a future of another event loop: asyncio raises RuntimeError in the task."""
    if scope["type"] != "http":
        return
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever, daemon=True)
    thread.start()
    future = other.create_future()
    try:
        await future
        answer = b"awaited"
    except RuntimeError as exc:
        answer = b"RuntimeError: " + str(exc).encode()
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join()
        other.close()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": answer})


async def invalid_start(scope: Any, receive: Any, send: Any) -> None:
    """A response start no HTTP response can carry, chosen by the path."""
    if scope["type"] != "http":
        return
    status, headers = 200, [(b"x-ok", b"1")]
    kind = scope["path"].rsplit("/", 1)[1]
    if kind == "status-600":
        status = 600
    elif kind == "status-99":
        status = 99
    elif kind == "name-space":
        headers = [(b"x bad", b"1")]
    elif kind == "name-crlf":
        headers = [(b"x-a\r\nSet-Cookie: evil", b"1")]
    elif kind == "value-crlf":
        headers = [(b"x-a", b"v\r\nSet-Cookie: evil=1")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"app body"})
