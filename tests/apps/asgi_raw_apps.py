"""Raw ASGI apps for the ASGI handler's edge-case tests (module name unique on sys.path)."""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from typing import Any


async def hello(scope: Any, receive: Any, send: Any) -> None:
    """The benchmark's hello route."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


async def scope_echo(scope: Any, receive: Any, send: Any) -> None:
    """Answers the scope as JSON (bytes as latin-1 text)."""
    if scope["type"] != "http":
        return
    message = await receive()
    data = {k: _jsonable(v) for k, v in scope.items() if k != "state"}
    data["first_message"] = _jsonable(message)
    body = json.dumps(data).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def fail_before_start(scope: Any, receive: Any, send: Any) -> None:
    raise ValueError("boom before start")


async def fail_after_start(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise ValueError("boom after start")


async def no_response(scope: Any, receive: Any, send: Any) -> None:
    return None


async def pathsend(scope: Any, receive: Any, send: Any) -> None:
    path = os.path.join(os.getcwd(), "big.bin")
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream")],
        }
    )
    await send({"type": "http.response.pathsend", "path": path})


async def head_length(scope: Any, receive: Any, send: Any) -> None:
    """Declares its length and sends the body in two parts (also for HEAD)."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"10"), (b"x-many", b"1")],
        }
    )
    await send({"type": "http.response.body", "body": b"01234", "more_body": True})
    await send({"type": "http.response.body", "body": b"56789"})


async def many_headers_count(scope: Any, receive: Any, send: Any) -> None:
    headers = [(b"x-n", str(i).encode()) for i in range(200)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    count = sum(1 for name, _ in scope["headers"] if name.startswith(b"x-h"))
    await send({"type": "http.response.body", "body": str(count).encode()})


def legacy(scope: Any) -> Any:
    """An ASGI 2 app."""

    async def instance(receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"asgi2 " + scope["path"].encode()})

    return instance


def make_app() -> Any:
    """A factory: ``asgi_raw_apps:make_app()``."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"made by a factory"})

    return app


_request_tag: ContextVar[str] = ContextVar("request_tag", default="unset")


async def context_var(scope: Any, receive: Any, send: Any) -> None:
    """Answers the context variable as it found it, then sets it (and never resets it)."""
    before = _request_tag.get()
    _request_tag.set(scope["query_string"].decode() or "set")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": before.encode()})


async def length_then_record(scope: Any, receive: Any, send: Any) -> None:
    """A streamed body whose last chunk completes its Content-Length; records whether its
    last send returned (or it was cancelled) in ``raw-events.log``."""
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]}
    )
    await send({"type": "http.response.body", "body": b"ab", "more_body": True})
    try:
        await send({"type": "http.response.body", "body": b"cd"})
    except BaseException as exc:
        with open("raw-events.log", "a") as log:
            log.write(f"{type(exc).__name__}\n")
        raise
    with open("raw-events.log", "a") as log:
        log.write("completed\n")
