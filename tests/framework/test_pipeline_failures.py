"""An ``Application`` that cannot start closes the access logs it opened: a handler whose
``__init__`` raises while the locations compile, or whose ``startup()`` raises, leaves no
log file descriptor behind (a reload that fails this way would otherwise leak one per log
file, on every attempt)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from framework import Handler, Request, Response
from framework.config.models import AccessLog, Config, HandlerSpec, LocationConfig, ServerConfig
from framework.pipeline import Application, HandlerStartupError
from framework.registry import registry


class _BrokenInit(Handler):
    name = "pipeline_failure_init"

    def __init__(self, settings, location) -> None:
        raise ValueError("init boom")

    async def handle(self, request: Request, call_next) -> Response:
        raise AssertionError("never built")


class _BrokenStartup(Handler):
    name = "pipeline_failure_startup"

    async def startup(self) -> None:
        raise RuntimeError("startup boom")

    async def handle(self, request: Request, call_next) -> Response:
        return await call_next(request)


registry.register(_BrokenInit)
registry.register(_BrokenStartup)


def _open_paths() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return found


def _config(tmp_path: Path, failing: str) -> Config:
    # one location opens its log, the other's handler fails (compiled last: the
    # locations are compiled from the end of the list)
    logged = LocationConfig(
        pattern="/a/", root=tmp_path, access_log=AccessLog(target=tmp_path / "a.log")
    )
    broken = LocationConfig(
        pattern="/b/",
        root=tmp_path,
        access_log=AccessLog(target=tmp_path / "b.log"),
        handlers=[HandlerSpec(name=failing, settings=Handler.Settings())],
    )
    server = ServerConfig(
        context=LocationConfig(root=tmp_path, access_log=AccessLog(target="off")),
        locations=[broken, logged],
    )
    return Config(servers=[server])


def test_a_handler_init_that_raises_leaves_no_log_open(tmp_path):
    with pytest.raises(HandlerStartupError, match="init boom"):
        Application(_config(tmp_path, "pipeline_failure_init"))
    assert str(tmp_path / "a.log") not in _open_paths()
    assert (tmp_path / "a.log").exists()  # it was opened, then closed


def test_a_startup_that_raises_leaves_no_log_open(tmp_path):
    app = Application(_config(tmp_path, "pipeline_failure_startup"))
    assert str(tmp_path / "b.log") in _open_paths()
    with pytest.raises(HandlerStartupError, match="startup boom"):
        asyncio.run(app.startup())
    opened = _open_paths()
    assert str(tmp_path / "a.log") not in opened and str(tmp_path / "b.log") not in opened
