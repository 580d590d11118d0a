"""The ASGI ``lifespan`` protocol for one app in one worker.

``startup()`` runs the app with a ``lifespan`` scope in its own task and waits for
``lifespan.startup.complete`` (or ``.failed``, which raises ``LifespanFailed`` with the
app's message). Mode ``auto`` accepts an app that raises (or returns) before answering the
startup event: it does not support lifespan, so requests run without it; mode ``on`` makes
that a failure too; ``off`` never calls it. ``shutdown()`` sends ``lifespan.shutdown`` and
waits for the answer (bounded by ``SHUTDOWN_WAIT``). ``state`` is the scope's state dict
(the lifespan state extension): each request's scope gets a shallow copy of it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

from framework.asgi import ASGI_VERSION
from framework.logs import error_log

LifespanMode = Literal["on", "off", "auto"]
Message = MutableMapping[str, Any]
App = Callable[[Any, Any, Any], Awaitable[None]]

SHUTDOWN_WAIT = 30.0  # seconds an app may take to answer lifespan.shutdown


class LifespanFailed(Exception):
    """The app failed its lifespan startup (the message says how)."""


class Lifespan:
    """The lifespan of one app (see the module docstring)."""

    __slots__ = ("app", "mode", "name", "state", "_events", "_answers", "_task", "_running")

    def __init__(self, app: App, mode: LifespanMode, name: str) -> None:
        self.app = app
        self.mode = mode
        self.name = name
        self.state: dict[str, Any] = {}
        self._events: asyncio.Queue[Message] | None = None
        self._answers: asyncio.Queue[Message | BaseException | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._running = False  # startup completed: shutdown must be sent

    async def startup(self) -> None:
        """Run the startup handshake; raises ``LifespanFailed`` if the app fails it."""
        if self.mode == "off":
            return
        self._events = asyncio.Queue()
        self._answers = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": ASGI_VERSION, "state": self.state}
        self._task = asyncio.get_running_loop().create_task(self._run(scope))
        await self._events.put({"type": "lifespan.startup"})
        answer = await self._answers.get()
        if isinstance(answer, dict) and answer.get("type") == "lifespan.startup.complete":
            self._running = True
            return
        if isinstance(answer, dict) and answer.get("type") == "lifespan.startup.failed":
            message = answer.get("message") or "no message"
            raise LifespanFailed(f"ASGI lifespan startup of {self.name} failed: {message}")
        if self.mode == "on":
            why = "the app returned" if answer is None else f"{type(answer).__name__}: {answer}"
            raise LifespanFailed(f"ASGI lifespan startup of {self.name} failed: {why}")
        error_log.info("ASGI app %s does not support lifespan: running without it", self.name)

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown`` and wait for the app's answer (failures are logged)."""
        task = self._task
        if task is None:
            return
        self._task = None
        if not self._running:
            if not task.done():
                task.cancel()
            return
        self._running = False
        assert self._events is not None and self._answers is not None
        await self._events.put({"type": "lifespan.shutdown"})
        try:
            answer = await asyncio.wait_for(self._answers.get(), SHUTDOWN_WAIT)
        except TimeoutError:
            error_log.error("ASGI lifespan shutdown of %s timed out", self.name)
            task.cancel()
            return
        if isinstance(answer, dict) and answer.get("type") == "lifespan.shutdown.failed":
            message = answer.get("message") or "no message"
            error_log.error("ASGI lifespan shutdown of %s failed: %s", self.name, message)
        elif not (isinstance(answer, dict) and answer["type"] == "lifespan.shutdown.complete"):
            why = "the app returned" if answer is None else f"{type(answer).__name__}: {answer}"
            error_log.error("ASGI lifespan shutdown of %s failed: %s", self.name, why)

    async def _run(self, scope: dict[str, Any]) -> None:
        assert self._events is not None and self._answers is not None
        answers = self._answers
        try:
            await self.app(scope, self._events.get, self._send)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - reported through the answers
            if self._running or self.mode == "on":
                error_log.exception("ASGI lifespan of %s failed", self.name)
            answers.put_nowait(exc)
            return
        answers.put_nowait(None)

    async def _send(self, message: Message) -> None:
        assert self._answers is not None
        self._answers.put_nowait(message)
