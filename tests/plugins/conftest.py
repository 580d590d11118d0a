"""Fixtures for the plugin tests: example plugins on the path, an isolated registry."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from framework.registry import registry

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "plugins"


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Registrations made by the test are forgotten afterwards (and so are the modules it
    imported), so tests loading same-named plugins in-process do not clash."""
    monkeypatch.setattr(registry, "_handlers", dict(registry._handlers))
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    monkeypatch.setattr(registry, "_entry_point_errors", [])
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Path]:
    """``write_module(name, source)`` writes ``name.py`` in a directory on ``sys.path`` (of
    this process) and returns that directory (to pass as the server's ``pythonpath``)."""
    directory = tmp_path / "plugins"
    directory.mkdir(exist_ok=True)
    monkeypatch.syspath_prepend(str(directory))

    def write(name: str, source: str) -> Path:
        (directory / f"{name}.py").write_text(source)
        return directory

    return write


@pytest.fixture
def example(isolated_registry: None, monkeypatch: pytest.MonkeyPatch):
    """Import an example plugin module by name (examples/plugins/NAME.py)."""
    import importlib

    monkeypatch.syspath_prepend(str(EXAMPLES))
    return importlib.import_module
