"""An accepted ASGI WebSocket whose 101 never runs (the client left before the engine
switched protocols, or the 101 was dropped) ends the app with ``websocket.disconnect``
1006 at once, instead of leaving it waiting until the worker stops."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from framework.asgi.websocket import WebSocketCycle
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response

HANDSHAKE = {
    "host": "t",
    "upgrade": "websocket",
    "connection": "Upgrade",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    "sec-websocket-version": "13",
}


def handshake_request() -> Request:
    return Request("GET", "/ws", "/ws", "", Headers(list(HANDSHAKE.items())))


async def started(request: Request) -> tuple[WebSocketCycle, asyncio.Task[Any], list[Any]]:
    """A cycle whose app accepted and now waits in ``receive``; what it received."""
    cycle = WebSocketCycle(request)
    seen: list[Any] = []

    async def app() -> None:
        seen.append(await cycle.receive())
        await cycle.send({"type": "websocket.accept"})
        seen.append(await cycle.receive())

    task = asyncio.get_running_loop().create_task(app())
    return cycle, task, seen


def test_client_gone_before_the_switch() -> None:
    async def main() -> list[Any]:
        request = handshake_request()
        cycle, task, seen = await started(request)
        response = await cycle.response()
        assert response.status == 101
        request._client_gone()
        await asyncio.wait_for(task, 10)
        del response
        return seen

    seen = asyncio.run(main())
    assert seen[1] == {"type": "websocket.disconnect", "code": 1006, "reason": ""}


def test_handler_cancelled_after_the_decision() -> None:
    """The client leaves while the handler's wake-up for the 101 is pending."""

    async def main() -> list[Any]:
        cycle = WebSocketCycle(handshake_request())
        waiting = asyncio.get_running_loop().create_task(cycle.response())
        await asyncio.sleep(0)  # the handler waits for the decision
        seen: list[Any] = []

        async def app() -> None:
            seen.append(await cycle.receive())
            await cycle.send({"type": "websocket.accept"})
            waiting.cancel()  # before the handler ran again
            seen.append(await cycle.receive())

        task = asyncio.get_running_loop().create_task(app())
        results = await asyncio.gather(waiting, return_exceptions=True)
        assert isinstance(results[0], asyncio.CancelledError)
        await asyncio.wait_for(task, 10)
        return seen

    seen = asyncio.run(main())
    assert seen[1] == {"type": "websocket.disconnect", "code": 1006, "reason": ""}


def test_dropped_101() -> None:
    async def main() -> list[Any]:
        cycle, task, seen = await started(handshake_request())
        response: Response | None = await cycle.response()
        assert response is not None and response.status == 101
        response = None  # replaced by something else: its run is freed unrun
        gc.collect()
        await asyncio.wait_for(task, 10)
        return seen

    seen = asyncio.run(main())
    assert seen[1]["type"] == "websocket.disconnect" and seen[1]["code"] == 1006
