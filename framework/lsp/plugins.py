"""Handler registries for editor buffers.

The process-wide ``framework.registry.registry`` keeps every handler a ``load_module`` ever
registered, so one buffer's plugin would be known in every other buffer, and still known
after its ``load_module`` line is deleted. The language server therefore validates each
buffer with a fresh ``BufferRegistry``: the built-in (and installed entry-point) handlers,
plus what that buffer's own ``load_module`` lines load.

Python caches imported modules, so a fresh registry costs no re-import. A plugin file
edited on disk is re-imported (``importlib.reload``) on the next validation when its
modification time changed (only the module ``load_module`` names, not its submodules); an
import of a plugin next to the config that failed is not retried until its file changes, so a
plugin that raises at import time does not run again on every keystroke.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from framework.handler import Handler
from framework.registry import HandlerRegistry, ModuleLoadError, RegistryError


def _mtime(path: str | None) -> float | None:
    if not path:
        return None
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


class ImportCache:
    """What ``load_module`` imported (with the file's modification time then) and which
    imports failed, shared by every buffer's registry."""

    def __init__(self) -> None:
        self.loaded: dict[str, float | None] = {}
        self.failed: dict[str, tuple[tuple[float | None, ...], ModuleLoadError]] = {}

    def refresh(self, name: str) -> None:
        """Re-import ``name`` if its file changed since it was imported."""
        module = sys.modules.get(name)
        if module is None or name not in self.loaded:
            return
        now = _mtime(getattr(module, "__file__", None))
        if now == self.loaded[name]:
            return
        try:
            importlib.reload(module)
        except Exception as exc:
            sys.modules.pop(name, None)  # the next validation imports it from scratch
            self.loaded.pop(name, None)
            raise ModuleLoadError(
                f"re-importing it raised {type(exc).__name__}: {exc}", name=name
            ) from exc
        self.loaded[name] = now

    @staticmethod
    def stamp(name: str, search_paths: Iterable[Path | str]) -> tuple[float | None, ...]:
        """What would make a failed import of ``name`` worth retrying: the modification
        times of the files next to the config it would be read from (None: no such file)."""
        top = name.partition(".")[0]
        out: list[float | None] = []
        for base in search_paths:
            out += [
                _mtime(os.path.join(base, f"{top}.py")),
                _mtime(os.path.join(base, top, "__init__.py")),
            ]
        return tuple(out)


class BufferRegistry(HandlerRegistry):
    """A registry for one validation: the built-in handlers plus the buffer's plugins."""

    def __init__(
        self,
        builtins: Iterable[type[Handler]],
        imports: ImportCache,
        entry_point_error: str | None = None,
    ) -> None:
        super().__init__()
        for cls in builtins:
            self.register(cls)
        self._imports = imports
        self._entry_point_error = entry_point_error

    def load_module(
        self,
        module_name: str,
        *,
        reserved: Iterable[str] | None = None,
        search_paths: Iterable[Path | str] = (),
    ) -> list[str]:
        """``HandlerRegistry.load_module``, re-importing a changed file and not retrying an
        import that failed while nothing it depends on changed."""
        paths = list(search_paths)
        stamp = self._imports.stamp(module_name, paths)
        failed = self._imports.failed.get(module_name)
        if failed is not None and failed[0] == stamp:
            raise failed[1]
        self._imports.failed.pop(module_name, None)
        try:
            self._imports.refresh(module_name)
            names = super().load_module(module_name, reserved=reserved, search_paths=paths)
        except ModuleLoadError as exc:
            if any(t is not None for t in stamp):  # a module not found is retried (cheaply)
                self._imports.failed[module_name] = (stamp, exc)
            raise
        if module_name not in self._imports.loaded:
            module = sys.modules.get(module_name)
            self._imports.loaded[module_name] = _mtime(getattr(module, "__file__", None))
        return names

    def load_entry_points(self, *, reserved: Iterable[str] | None = None) -> list[str]:
        """The installed handlers were registered with the built-ins; repeat their error."""
        if self._entry_point_error:
            raise RegistryError(self._entry_point_error)
        return []


class RegistryFactory:
    """Makes a fresh ``BufferRegistry`` per validation, from the handlers webserv itself
    registers (``handlers``, the ``webserv.handlers`` entry points) read once at start."""

    def __init__(self) -> None:
        import handlers  # noqa: F401  (registers the built-in handlers)
        from framework.registry import registry

        self.entry_point_error: str | None = None
        try:
            registry.load_entry_points()
        except RegistryError as exc:
            self.entry_point_error = str(exc)
        self.builtins = [cls for _, cls in registry.items()]
        self.imports = ImportCache()

    def new(self) -> BufferRegistry:
        """An empty-of-plugins registry for one buffer's validation."""
        return BufferRegistry(self.builtins, self.imports, self.entry_point_error)
