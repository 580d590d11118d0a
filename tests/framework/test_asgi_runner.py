"""``AppRun``: an app coroutine driven inside the awaiting task, with early exits when the
consumer has output to take, wake-ups from the app's other tasks, and cancellation
forwarded to the app (or held back) as asyncio would deliver it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from framework.asgi.runner import AppRun

LOOP = {"kind": "asyncio"}


@pytest.fixture(autouse=True, params=["asyncio", "uvloop"])
def loop_kind(request: pytest.FixtureRequest) -> None:
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    LOOP["kind"] = request.param


def run_async(coro: Any) -> Any:
    if LOOP["kind"] == "uvloop":
        import uvloop

        return uvloop.run(asyncio.wait_for(coro, 10))
    return asyncio.run(asyncio.wait_for(coro, 10))


class Flag:
    def __init__(self) -> None:
        self.value = False

    def __call__(self) -> bool:
        return self.value


def test_an_app_that_never_waits_ends_in_start() -> None:
    async def app() -> None:
        return None

    run = AppRun(app(), Flag())
    with pytest.raises(StopIteration):
        run.start()


def test_waits_are_forwarded_and_the_app_runs_in_the_awaiting_task() -> None:
    seen: list[Any] = []

    async def app() -> None:
        seen.append(asyncio.current_task())
        await asyncio.sleep(0)  # a bare yield
        await asyncio.sleep(0.01)
        fut = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(fut.set_result, 5)
        seen.append(await fut)
        seen.append(asyncio.current_task())

    async def main() -> None:
        run = AppRun(app(), Flag())
        await run
        assert run.done and run.error is None
        assert seen == [asyncio.current_task(), 5, asyncio.current_task()]

    run_async(main())


def test_output_ends_the_wait_and_the_next_await_resumes() -> None:
    flag = Flag()
    gate: asyncio.Future[None] | None = None

    async def app() -> None:
        nonlocal gate
        gate = asyncio.get_running_loop().create_future()
        flag.value = True
        await gate
        flag.value = False
        await asyncio.sleep(0.01)

    async def main() -> None:
        run = AppRun(app(), flag)
        await run
        assert not run.done and flag.value
        assert gate is not None
        gate.set_result(None)
        flag.value = False
        await run
        assert run.done

    run_async(main())


def test_output_from_another_task_wakes_the_driver() -> None:
    flag = Flag()
    holder: dict[str, Any] = {}

    async def app() -> None:
        async def child() -> None:
            await asyncio.sleep(0.01)
            flag.value = True
            holder["run"].wake()

        task = asyncio.get_running_loop().create_task(child())
        holder["task"] = task
        await asyncio.sleep(30)  # the main coroutine waits on something else

    async def main() -> None:
        run = holder["run"] = AppRun(app(), flag)
        await run
        assert flag.value and not run.done
        run.cancel()
        flag.value = False
        await run
        assert run.done and isinstance(run.error, asyncio.CancelledError)

    run_async(main())


def test_cancelling_the_task_cancels_what_the_app_waits_for() -> None:
    state: dict[str, Any] = {}

    async def app() -> None:
        fut = state["fut"] = asyncio.get_running_loop().create_future()
        try:
            await fut
        except asyncio.CancelledError:
            state["app saw"] = "cancelled"
            raise

    async def main() -> None:
        run = AppRun(app(), Flag())
        task = asyncio.get_running_loop().create_task(run_to_end(run))
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.wait([task])
        assert state["app saw"] == "cancelled" and state["fut"].cancelled()
        assert run.done and isinstance(run.error, asyncio.CancelledError)

    run_async(main())


def test_a_held_cancellation_lets_the_app_finish_first() -> None:
    steps: list[str] = []
    gone = asyncio.Event

    async def main() -> None:
        event = gone()

        async def app() -> None:
            await event.wait()  # e.g. receive() waiting for http.disconnect
            steps.append("heard disconnect")

        def on_cancel() -> bool:
            event.set()
            return True

        run = AppRun(app(), Flag(), on_cancel)
        task = asyncio.get_running_loop().create_task(run_to_end(run))
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.wait([task])
        assert steps == ["heard disconnect"]
        assert run.done and run.error is None
        assert isinstance(run.held, asyncio.CancelledError)

    run_async(main())


def test_finish_gives_up_on_an_app_that_ignores_cancellation() -> None:
    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                continue

    async def main() -> None:
        run = AppRun(stubborn(), Flag())
        run.start()
        await run.finish(0.02)
        assert run.done

    run_async(main())


async def run_to_end(run: AppRun) -> None:
    await run


def test_an_app_that_ignores_its_gone_client_is_cancelled_after_the_grace() -> None:
    seen: list[str] = []

    async def app() -> None:
        try:
            await asyncio.sleep(30)  # does not listen for http.disconnect
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main() -> None:
        run = AppRun(app(), Flag(), lambda: True, grace=0.02)
        task = asyncio.get_running_loop().create_task(run_to_end(run))
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.wait([task])
        assert seen == ["cancelled"] and run.done
        assert isinstance(run.held, asyncio.CancelledError)

    run_async(main())


def test_the_app_runs_in_a_context_of_its_own() -> None:
    from contextvars import ContextVar

    var: ContextVar[str] = ContextVar("var", default="outside")

    async def app() -> None:
        var.set("inside")
        await asyncio.sleep(0.01)
        assert var.get() == "inside"

    async def main() -> None:
        run = AppRun(app(), Flag())
        await run
        assert run.done and run.error is None
        assert var.get() == "outside"

    run_async(main())
