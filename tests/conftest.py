"""Shared fixtures: ``serve`` starts a real webserv subprocess for end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from framework.testing import ServerProcess


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """``serve(config_text, cwd=tmp_path, **kw)`` starts a server (``{port}`` in the text
    becomes a free port) and stops it at the end of the test."""
    started: list[ServerProcess] = []

    def start(config: str | None = None, **kwargs) -> ServerProcess:
        kwargs.setdefault("cwd", tmp_path)
        srv = ServerProcess(config, **kwargs).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()
