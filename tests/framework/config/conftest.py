"""Helpers for the config tests: write a config into a temporary directory and load it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from framework.config.build import LoadResult, load_config


@pytest.fixture
def load(tmp_path: Path) -> Callable[..., LoadResult]:
    """``load(text, check_fs=False, env=None)`` loads ``text`` saved as tmp_path/webserv.conf."""

    def run(text: str, *, check_fs: bool = False, env: dict[str, str] | None = None) -> LoadResult:
        path = tmp_path / "webserv.conf"
        path.write_text(text)
        return load_config(path, check_fs=check_fs, env=env if env is not None else {})

    return run


@pytest.fixture
def rules() -> Callable[[LoadResult], list[str]]:
    """The rule IDs of a result's diagnostics, in order."""
    return lambda result: [d.rule for d in result.diagnostics]
