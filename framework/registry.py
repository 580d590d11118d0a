"""The handler registry: name -> Handler class, for built-ins and plugins alike.

Built-in handlers register on import of ``handlers``; plugins through ``load_module MODULE;``
(every ``Handler`` subclass with a ``name`` defined in that module or its submodules) or the
``webserv.handlers`` entry-point group of installed distributions::

    [project.entry-points."webserv.handlers"]
    greeting = "pkg.mod:Greeting"

Names are unique. A plugin name that clashes with another handler or with a core directive
(``root``, ``listen``...) is refused with a ``RegistryError``; the configuration layer turns
that into a diagnostic at the ``load_module`` line.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path

from pydantic import BaseModel

from framework.handler import Handler

ENTRY_POINT_GROUP = "webserv.handlers"

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


class RegistryError(Exception):
    """A handler could not be registered (name clash, bad module, bad entry point)."""


class ModuleLoadError(ImportError):
    """``load_module`` could not import the module; the message says why, without repeating
    the module name (callers prefix it: ``cannot load module "x": ...``)."""


def core_directive_names() -> frozenset[str]:
    """Names of the configuration language's own directives (``root``, ``listen``...),
    which plugin handler names may not take. Empty until the directive table exists."""
    try:
        from framework.config import directives
    except ImportError:
        return frozenset()
    for attr in ("DIRECTIVES", "DIRECTIVE_TABLE", "TABLE"):
        table = getattr(directives, attr, None)
        if table is not None:
            return frozenset(table)
    names = getattr(directives, "directive_names", None)
    return frozenset(names()) if callable(names) else frozenset()


def _describe(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class HandlerRegistry:
    """Maps handler names to ``Handler`` classes; one per process (``registry``)."""

    def __init__(self) -> None:
        self._handlers: dict[str, type[Handler]] = {}
        self._entry_points_loaded = False
        self._entry_point_errors: list[str] = []

    # -- registration ---------------------------------------------------------------------
    def register(self, cls: type[Handler], *, reserved: Iterable[str] = ()) -> type[Handler]:
        """Register ``cls`` under ``cls.name``; usable as a class decorator.

        ``reserved`` names (core directives, for plugins) may not be taken. Registering the
        same class twice is harmless (a reload imports the same module again).
        """
        if not (inspect.isclass(cls) and issubclass(cls, Handler)):
            raise RegistryError(f"{cls!r} is not a Handler subclass")
        name = cls.name
        if not name:
            raise RegistryError(f'{_describe(cls)} has no "name"')
        if not isinstance(name, str) or not _NAME.match(name):
            raise RegistryError(
                f'{_describe(cls)}: invalid handler name "{name}" '
                "(lower-case letters, digits and '_', starting with a letter)"
            )
        if name in reserved:
            raise RegistryError(
                f'handler name "{name}" of {_describe(cls)} clashes with the core directive '
                f'"{name}"; choose another name'
            )
        settings = getattr(cls, "Settings", None)
        if not (inspect.isclass(settings) and issubclass(settings, BaseModel)):
            raise RegistryError(f"{_describe(cls)}.Settings must subclass Handler.Settings")
        if not inspect.iscoroutinefunction(cls.handle):
            raise RegistryError(f"{_describe(cls)}.handle must be 'async def'")
        existing = self._handlers.get(name)
        if existing is not None and existing is not cls and _describe(existing) != _describe(cls):
            raise RegistryError(
                f'handler name "{name}" of {_describe(cls)} is already registered by '
                f"{_describe(existing)}"
            )
        self._handlers[name] = cls
        return cls

    def load_module(
        self,
        module_name: str,
        *,
        reserved: Iterable[str] | None = None,
        search_paths: Iterable[Path | str] = (),
    ) -> list[str]:
        """Import ``module_name`` and register every Handler subclass with a ``name``
        defined in it (or in its submodules). Returns the names registered.

        ``search_paths`` (e.g. the config file's directory) are appended to ``sys.path``
        first, so a plugin next to its config needs no ``PYTHONPATH``. ``reserved``
        defaults to the core directive names. Raises ``ModuleLoadError`` when the import
        fails and ``RegistryError`` on a clash or a malformed handler class.
        """
        reserved = core_directive_names() if reserved is None else frozenset(reserved)
        for path in search_paths:
            entry = str(path)
            if entry not in sys.path:
                sys.path.append(entry)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and (module_name + ".").startswith(exc.name + "."):
                raise ModuleLoadError(
                    f'no module named "{exc.name}" (is it on PYTHONPATH or installed?)',
                    name=exc.name,
                ) from exc
            raise ModuleLoadError(f"it imports a missing module: {exc}", name=module_name) from exc
        except Exception as exc:
            raise ModuleLoadError(
                f"importing it raised {type(exc).__name__}: {exc}", name=module_name
            ) from exc
        prefix = module.__name__ + "."
        names = []
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if not issubclass(obj, Handler) or obj is Handler or not obj.__dict__.get("name"):
                continue
            if obj.__module__ != module.__name__ and not obj.__module__.startswith(prefix):
                continue  # imported from elsewhere; registered by its own module
            self.register(obj, reserved=reserved)
            names.append(obj.name)
        return names

    def load_entry_points(self, *, reserved: Iterable[str] | None = None) -> list[str]:
        """Register the handlers of installed distributions (the ``webserv.handlers``
        entry-point group). The group is read once per process; later calls return ``[]``
        unless one failed, in which case the same ``RegistryError`` is raised again."""
        if self._entry_points_loaded:
            if self._entry_point_errors:
                raise RegistryError("; ".join(self._entry_point_errors))
            return []
        self._entry_points_loaded = True
        reserved = core_directive_names() if reserved is None else frozenset(reserved)
        names, errors = [], []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            where = f'entry point "{ep.name} = {ep.value}"'
            try:
                cls = ep.load()
            except Exception as exc:
                errors.append(f"{where} cannot be loaded: {type(exc).__name__}: {exc}")
                continue
            if not (inspect.isclass(cls) and issubclass(cls, Handler)):
                errors.append(f"{where} is not a Handler subclass")
                continue
            if cls.name != ep.name:
                errors.append(f'{where} names a handler called "{cls.name}"')
                continue
            try:
                self.register(cls, reserved=reserved)
            except RegistryError as exc:
                errors.append(f"{where}: {exc}")
                continue
            names.append(ep.name)
        self._entry_point_errors = errors
        if errors:
            raise RegistryError("; ".join(errors))
        return names

    # -- lookup -----------------------------------------------------------------------------
    def get(self, name: str) -> type[Handler] | None:
        """The handler class registered as ``name``, or None."""
        return self._handlers.get(name)

    def names(self) -> list[str]:
        """Every registered name, sorted (for "unknown handler" messages)."""
        return sorted(self._handlers)

    def items(self) -> list[tuple[str, type[Handler]]]:
        """(name, class) pairs sorted by name (for ``webserv schema``)."""
        return sorted(self._handlers.items())

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def __len__(self) -> int:
        return len(self._handlers)


registry = HandlerRegistry()
