"""``HttpCycle`` without a server, driven as the ASGI handler drives it (the app in a task
of its own, the response awaited on ``cycle.ready``, a streamed body pulled as the engine
pulls it): the one-chunk hand-off, a client that leaves, background work after the
response, and an answer without a body."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from framework.asgi import http
from framework.asgi.http import ClientDisconnected, HttpCycle, StreamBody
from framework.http.headers import Headers
from framework.http.request import Request

START = {"type": "http.response.start", "status": 200, "headers": []}


def body(data: bytes, more: bool = False) -> dict[str, Any]:
    return {"type": "http.response.body", "body": data, "more_body": more}


def start(app: Any, method: str = "GET") -> tuple[HttpCycle, asyncio.Task[None]]:
    """The app of a bodiless request running as the handler runs it."""
    loop = asyncio.get_running_loop()
    request = Request(method, "/", "/", "", Headers([("host", "t")]))
    cycle = HttpCycle(request, loop.create_future(), set())
    task = cycle.task = loop.create_task(app(cycle))
    cycle.tasks.add(task)
    task.add_done_callback(cycle.app_done)
    return cycle, task


async def streamed(cycle: HttpCycle) -> StreamBody:
    """The streamed body of the cycle's response, once it is known."""
    stream = (await cycle.ready).body
    assert isinstance(stream, StreamBody)
    return stream


async def turns(n: int = 10) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_send_returns_once_the_engine_took_the_chunk() -> None:
    async def main() -> None:
        sent: list[int] = []

        async def app(cycle: HttpCycle) -> None:
            await cycle.send(START)
            for i in range(3):
                await cycle.send(body(b"%d" % i, more=True))
                sent.append(i)
            await cycle.send(body(b"end"))

        cycle, task = start(app)
        stream = await streamed(cycle)
        await turns()
        assert sent == []  # chunk 0 waits in the hand-off until the engine takes it
        assert await stream.__anext__() == b"0"
        await turns()
        assert sent == [0]  # the app's send returned; chunk 1 now waits
        assert [chunk async for chunk in stream] == [b"1", b"2", b"end"]
        await asyncio.wait_for(task, 10)
        assert sent == [0, 1, 2]

    asyncio.run(main())


def test_a_client_that_leaves_is_heard_and_an_app_ignoring_it_is_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http, "ABANDON_GRACE", 0.01)

    async def main() -> None:
        heard: list[Any] = []

        async def app(cycle: HttpCycle) -> None:
            heard.append(await cycle.receive())  # the (empty) body
            heard.append(await cycle.receive())  # waits for the end
            try:
                await cycle.send(START)
            except OSError as exc:
                heard.append(type(exc))
            try:
                await asyncio.Event().wait()  # ignores it
            except asyncio.CancelledError:
                heard.append("cancelled")
                raise

        cycle, task = start(app)
        await turns()
        cycle.abandon()  # the handler was cancelled: the client left
        await asyncio.wait({task}, timeout=10)
        assert heard == [
            {"type": "http.request", "body": b"", "more_body": False},
            {"type": "http.disconnect"},
            ClientDisconnected,
            "cancelled",
        ]
        assert cycle.ready.exception() is not None  # nobody waits for it any more: no warning
        assert not cycle.tasks

    asyncio.run(main())


def test_a_client_that_leaves_mid_stream_fails_the_pending_send() -> None:
    async def main() -> None:
        failed: list[BaseException] = []

        async def app(cycle: HttpCycle) -> None:
            await cycle.send(START)
            try:
                while True:
                    await cycle.send(body(b"x", more=True))
            except OSError as exc:
                failed.append(exc)

        cycle, task = start(app)
        stream = await streamed(cycle)
        assert await stream.__anext__() == b"x"
        await stream.aclose()  # the engine gave up the stream
        await asyncio.wait_for(task, 10)
        assert isinstance(failed[0], ClientDisconnected)

    asyncio.run(main())


def test_background_work_after_the_response_runs_on() -> None:
    async def main() -> None:
        release = asyncio.Event()
        after: list[Any] = []

        async def app(cycle: HttpCycle) -> None:
            await cycle.send(START)
            await cycle.send(body(b"done"))
            after.append(await cycle.receive())
            await release.wait()
            after.append("finished")

        cycle, task = start(app)
        response = await cycle.ready
        assert response.body == b"done"  # the engine's plain bytes path
        await turns()
        assert after == [{"type": "http.disconnect"}] and not task.done()
        release.set()
        await asyncio.wait_for(task, 10)
        assert after[-1] == "finished"

    asyncio.run(main())


def test_a_head_answer_drops_what_the_app_still_streams() -> None:
    async def main() -> None:
        async def app(cycle: HttpCycle) -> None:
            await cycle.send(START)
            for _ in range(3):
                await cycle.send(body(b"x" * 100, more=True))
            await cycle.send(body(b""))

        cycle, task = start(app, "HEAD")
        stream = await streamed(cycle)
        await stream.aclose()  # the engine writes no body for HEAD
        await asyncio.wait_for(task, 10)
        assert task.exception() is None

    asyncio.run(main())
