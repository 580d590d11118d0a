"""``AppRun``: an ASGI app call driven inside the task that awaits it, with exits.

Awaiting an ``AppRun`` steps the app's coroutine as ``await coro`` would: each future the
app waits for is waited for by the current task (the connection's), so the app runs in one
task from start to end, as anyio's cancel scopes require, and no task is created per
request. Unlike ``await coro``, the wait ends early once ``output()`` says the consumer has
something to take (the response is known, a body chunk is ready): the coroutine stays
suspended where it is, and the next ``await run`` resumes it. The consumer is first the
handler (until the response is known), then the engine pulling a streamed body.

While the app waits for a future ``f``, the task waits for a proxy future that completes
when ``f`` does or when ``wake()`` is called (another task of the app produced output).
A cancellation of the task is forwarded to the app as asyncio would: ``f`` is cancelled and
``CancelledError`` is thrown into the coroutine, unless ``on_cancel`` says to hold it back
(the client left: the app first hears ``http.disconnect``)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine, Generator
from typing import Any

_STEP = object()  # the coroutine is to be resumed (nothing pending)


class AppRun:
    """One app call (see the module docstring)."""

    __slots__ = (
        "coro",
        "context",
        "output",
        "on_cancel",
        "grace",
        "done",
        "error",
        "held",
        "_pending",
        "_proxy",
        "_cancel",
        "_give_up",
        "_timers",
    )

    def __init__(
        self,
        coro: Coroutine[Any, Any, None],
        output: Callable[[], bool],
        on_cancel: Callable[[], bool] | None = None,
        grace: float = 5.0,
        context: contextvars.Context | None = None,
    ) -> None:
        self.coro = coro
        # the app's steps run in a context of its own (as a task's would): what it sets
        # in context variables stays with this call
        self.context = context if context is not None else contextvars.copy_context()
        self.output = output  # true: stop driving, the consumer has something to take
        self.on_cancel = on_cancel  # true: hold a cancellation back (see ``held``)
        self.grace = grace  # after a held cancellation: cancel the app after this long
        self.done = False
        self.error: BaseException | None = None  # what the app raised
        self.held: BaseException | None = None  # a cancellation to re-raise once done
        self._pending: Any = _STEP  # what the suspended coroutine waits for
        self._proxy: asyncio.Future[None] | None = None
        self._cancel = False  # cancel the app at its next wait
        self._give_up = False  # close the coroutine at its next wait
        self._timers: list[asyncio.TimerHandle] = []

    def start(self) -> None:
        """Run the app to its first wait (raises ``StopIteration`` if it ends, or what it
        raised): the rest runs when the run is awaited."""
        self._pending = self.context.run(self.coro.send, None)

    def suspended(self, pending: Any) -> None:
        """The caller ran the coroutine's first step itself: it waits for ``pending``."""
        self._pending = pending

    def wake(self) -> None:
        """Output is ready (from another task): end the current wait."""
        proxy = self._proxy
        if proxy is not None and not proxy.done():
            proxy.set_result(None)

    def cancel(self) -> None:
        """Cancel the app (at its current or next wait)."""
        self._cancel = True
        self.wake()

    async def finish(self, grace: float) -> None:
        """Drive the app to its end: cancel it after ``grace`` seconds, and abandon it
        (``coro.close()``) after as long again."""
        if self.done:
            return
        self.output = _never
        self._deadline(grace)
        await self

    def _deadline(self, grace: float) -> None:
        """Cancel the app in ``grace`` seconds, and abandon it after as long again."""
        if not self._timers:
            loop = asyncio.get_running_loop()
            self._timers = [
                loop.call_later(grace, self.cancel),
                loop.call_later(2 * grace, self._abandon),
            ]

    def _abandon(self) -> None:
        self._give_up = True
        self.wake()

    def __await__(self) -> Generator[Any, None, None]:
        coro = self.coro
        context = self.context
        pending = self._pending
        thrown: BaseException | None = None
        while not self.done:
            if pending is _STEP:
                try:
                    if thrown is None:
                        pending = context.run(coro.send, None)
                    else:
                        pending = context.run(coro.throw, thrown)
                except StopIteration:
                    self.done = True
                    break
                except BaseException as exc:  # noqa: BLE001 - the consumer reports it
                    self.done = True
                    self.error = exc
                    break
                finally:
                    thrown = None
            if self.output():
                self._pending = pending
                return
            if self._give_up:
                self.done = True
                try:
                    context.run(coro.close)
                except BaseException as exc:  # noqa: BLE001 - it would not stop
                    self.error = exc
                break
            if self._cancel:
                self._cancel = False
                if pending is not None and not pending.done():
                    pending.cancel()
                pending, thrown = _STEP, asyncio.CancelledError()
                continue
            if pending is None:  # a bare yield (asyncio.sleep(0)): let the loop turn
                try:
                    yield None
                except BaseException as exc:  # noqa: BLE001 - forwarded to the app
                    thrown = self._forward(exc, None)
                pending = _STEP
                continue
            if not pending.done():
                waited = pending
                proxy = self._proxy = asyncio.get_running_loop().create_future()
                waited.add_done_callback(self._waited_done)
                proxy._asyncio_future_blocking = True
                try:
                    yield proxy
                except BaseException as exc:  # noqa: BLE001 - forwarded to the app
                    waited.remove_done_callback(self._waited_done)
                    thrown = self._forward(exc, waited)
                    if thrown is not None:
                        pending = _STEP
                    continue
                finally:
                    self._proxy = None
                if not waited.done():  # woken: output, or a cancel request
                    waited.remove_done_callback(self._waited_done)
                    continue
            pending._asyncio_future_blocking = False
            pending = _STEP
        self._pending = _STEP
        for timer in self._timers:
            timer.cancel()

    def _waited_done(self, _: asyncio.Future[Any]) -> None:
        self.wake()

    def _forward(
        self, exc: BaseException, waited: asyncio.Future[Any] | None
    ) -> BaseException | None:
        """The task was cancelled while the app waited for ``waited``: the exception to
        throw into the app now (None: held back until the app ends)."""
        if isinstance(exc, asyncio.CancelledError) and self.held is None:
            on_cancel = self.on_cancel
            if on_cancel is not None and on_cancel():
                self.held = exc
                self._deadline(self.grace)
                return None
        if waited is not None and not waited.done():
            waited.cancel()
        return exc


def _never() -> bool:
    return False
