"""The ASGI lifespan protocol and app loading, without a server: startup modes and
failures, state, shutdown; ASGI 2 detection; one app and lifespan per target per worker."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from framework.asgi.lifespan import Lifespan, LifespanFailed
from framework.asgi.loader import AppLoadError, app_host, as_asgi3, is_asgi2, load_target
from framework.config.directives_apps import AppTarget


def lifespan_app(*, fail_startup: str | None = None, raise_exc: bool = False) -> Any:
    events: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        if raise_exc:
            raise ValueError("no lifespan here")
        assert (await receive())["type"] == "lifespan.startup"
        if fail_startup is not None:
            await send({"type": "lifespan.startup.failed", "message": fail_startup})
            return
        scope["state"]["pool"] = "ready"
        await send({"type": "lifespan.startup.complete"})
        assert (await receive())["type"] == "lifespan.shutdown"
        events.append("shutdown")
        await send({"type": "lifespan.shutdown.complete"})

    app.events = events  # type: ignore[attr-defined]
    return app


def test_startup_state_and_shutdown() -> None:
    async def main() -> None:
        app = lifespan_app()
        life = Lifespan(app, "on", "m:app")
        await life.startup()
        assert life.state == {"pool": "ready"}
        await life.shutdown()
        assert app.events == ["shutdown"]

    asyncio.run(main())


def test_startup_failed_raises_with_the_apps_message() -> None:
    async def main() -> None:
        for mode in ("on", "auto"):
            life = Lifespan(lifespan_app(fail_startup="db down"), mode, "m:app")  # type: ignore[arg-type]
            with pytest.raises(LifespanFailed, match="m:app failed: db down"):
                await life.startup()

    asyncio.run(main())


def test_an_app_without_lifespan_is_fine_in_auto_mode_only() -> None:
    async def main() -> None:
        auto = Lifespan(lifespan_app(raise_exc=True), "auto", "m:app")
        await auto.startup()
        await auto.shutdown()
        on = Lifespan(lifespan_app(raise_exc=True), "on", "m:app")
        with pytest.raises(LifespanFailed, match="ValueError: no lifespan here"):
            await on.startup()

    asyncio.run(main())


def test_off_never_calls_the_app() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("called")

    async def main() -> None:
        life = Lifespan(app, "off", "m:app")
        await life.startup()
        await life.shutdown()

    asyncio.run(main())


def test_asgi2_detection() -> None:
    class Asgi2Class:
        def __init__(self, scope: Any) -> None:
            self.scope = scope

        async def __call__(self, receive: Any, send: Any) -> None:
            return None

    class Asgi3Object:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            return None

    async def asgi3(scope: Any, receive: Any, send: Any) -> None:
        return None

    def asgi2(scope: Any) -> Any:
        return None

    assert is_asgi2(Asgi2Class) and is_asgi2(asgi2)
    assert not is_asgi2(Asgi3Object()) and not is_asgi2(asgi3)
    assert as_asgi3(asgi3) is asgi3 and as_asgi3(asgi2) is not asgi2


def test_load_target_with_app_dir_factory_and_errors(tmp_path: Path) -> None:
    (tmp_path / "loader_probe_mod.py").write_text(
        "async def app(scope, receive, send):\n    pass\ndef make():\n    return app\nvalue = 3\n"
    )
    try:
        made = load_target(
            AppTarget(module="loader_probe_mod", attr="make", factory=True), tmp_path
        )
        assert made.__name__ == "app"
        with pytest.raises(AppLoadError, match="has no attribute 'nope'"):
            load_target(AppTarget(module="loader_probe_mod", attr="nope"), tmp_path)
        with pytest.raises(AppLoadError, match="not an app"):
            load_target(AppTarget(module="loader_probe_mod", attr="value"), tmp_path)
        with pytest.raises(AppLoadError, match="cannot import"):
            load_target(AppTarget(module="loader_probe_missing", attr="app"), tmp_path)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("loader_probe_mod", None)


def test_one_host_per_target_started_once_and_stopped_by_the_last_user() -> None:
    app = lifespan_app()
    target = AppTarget(module="shared_probe", attr="app")
    loads: list[int] = []

    def load() -> Any:
        loads.append(1)
        return app

    async def main() -> None:
        first = app_host("asgi", target, None, "on", load)
        second = app_host("asgi", target, None, "on", load)
        assert first is second and loads == [1]
        await first.start()
        await second.start()
        await first.stop()
        assert app.events == []  # one user left
        await second.stop()
        assert app.events == ["shutdown"]
        assert app_host("asgi", target, None, "on", load) is not first  # forgotten

    asyncio.run(main())
