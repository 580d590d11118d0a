"""Import the app an ``asgi``/``wsgi`` directive names, and share it per worker.

``load_target`` imports ``MODULE`` with ``asgi_app_dir`` first on ``sys.path``, walks the
dotted ``ATTR`` and calls a factory (``MODULE:FUNC()``). ``as_asgi3`` wraps an ASGI 2 app
(``app(scope)`` returning ``instance(receive, send)``), detected as uvicorn does. The
``AppHost`` cache gives every location of a worker that names the same target (and app
directory) one app instance and one lifespan, started by the first location's ``startup``
and shut down by the last one's ``shutdown`` (a reload's old and new generation overlap)."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from framework.asgi.lifespan import Lifespan, LifespanMode
from framework.config.directives_apps import AppTarget

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AppLoadError(Exception):
    """The target cannot be imported or is not an app (message says why)."""


def load_target(target: AppTarget, app_dir: Path | None) -> Any:
    """The object ``target`` names (the factory's result for ``MODULE:FUNC()``)."""
    if app_dir is not None:
        entry = str(app_dir)
        if entry not in sys.path:
            sys.path.insert(0, entry)
    try:
        obj: Any = importlib.import_module(target.module)
    except Exception as exc:
        raise AppLoadError(f"cannot import {target.module!r}: {type(exc).__name__}: {exc}") from exc
    for part in target.attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AppLoadError(f"{target.module!r} has no attribute {target.attr!r}") from None
    if target.factory:
        if not callable(obj):
            raise AppLoadError(f"{target.text}: {target.attr} is not callable")
        obj = obj()
    if not callable(obj):
        raise AppLoadError(f"{target.text} is a {type(obj).__name__}, not an app")
    return obj


def is_asgi2(app: Any) -> bool:
    """Whether ``app`` is an ASGI 2 app (uvicorn's test: the double-callable style)."""
    if inspect.isclass(app):
        return not hasattr(app, "__await__")
    if inspect.isfunction(app) or inspect.ismethod(app):
        return not asyncio.iscoroutinefunction(app)
    call = getattr(app, "__call__", None)  # noqa: B004 - the bound __call__ is inspected
    return not asyncio.iscoroutinefunction(call)


class Asgi2App:
    """An ASGI 2 app as an ASGI 3 one."""

    __slots__ = ("app",)

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        instance = self.app(scope)
        await instance(receive, send)


def as_asgi3(app: Any) -> ASGIApp:
    """``app`` itself when it is ASGI 3, else wrapped."""
    return Asgi2App(app) if is_asgi2(app) else app  # type: ignore[no-any-return]


class AppHost:
    """One app instance of a worker and its lifespan, shared by the locations naming it."""

    __slots__ = ("key", "app", "lifespan", "users")

    def __init__(self, key: tuple[Any, ...], app: ASGIApp, lifespan: Lifespan) -> None:
        self.key = key
        self.app = app
        self.lifespan = lifespan
        self.users = 0

    async def start(self) -> None:
        """The first user starts the lifespan (startup failure raises)."""
        self.users += 1
        if self.users == 1:
            try:
                await self.lifespan.startup()
            except BaseException:
                self.users -= 1
                _hosts.pop(self.key, None)
                raise

    async def stop(self) -> None:
        """The last user shuts the lifespan down and forgets the host."""
        self.users -= 1
        if self.users == 0:
            _hosts.pop(self.key, None)
            await self.lifespan.shutdown()


_hosts: dict[tuple[Any, ...], AppHost] = {}


def app_host(
    kind: str,
    target: AppTarget,
    app_dir: Path | None,
    mode: LifespanMode,
    load: Callable[[], ASGIApp],
) -> AppHost:
    """The worker's host for ``target`` (loaded with ``load`` on first use)."""
    key = (kind, target.module, target.attr, target.factory, app_dir, mode)
    host = _hosts.get(key)
    if host is None:
        app = load()
        host = _hosts[key] = AppHost(key, app, Lifespan(app, mode, target.text))
    return host
