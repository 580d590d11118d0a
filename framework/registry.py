"""The handler registry: name -> Handler class, for built-ins and plugins alike.

Built-in handlers register on import of ``handlers``; plugins through ``load_module MODULE;``
(every ``Handler`` subclass with a ``name`` in that module) or the ``webserv.handlers``
entry-point group of installed distributions.
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import entry_points

from framework.handler import Handler

ENTRY_POINT_GROUP = "webserv.handlers"


class RegistryError(Exception):
    """A handler could not be registered (name clash, bad module, bad entry point)."""


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, type[Handler]] = {}
        self._entry_points_loaded = False

    def register(self, cls: type[Handler], *, reserved: frozenset[str] = frozenset()) -> None:
        name = cls.name
        if not name:
            raise RegistryError(f"{cls.__qualname__} has no 'name'")
        if name in reserved:
            raise RegistryError(f'handler name "{name}" clashes with a core directive')
        existing = self._handlers.get(name)
        if existing is not None and existing is not cls:
            raise RegistryError(
                f'handler name "{name}" is already registered by '
                f"{existing.__module__}.{existing.__qualname__}"
            )
        self._handlers[name] = cls

    def load_module(self, module_name: str, *, reserved: frozenset[str] = frozenset()) -> list[str]:
        """Import ``module_name`` and register every Handler subclass defined there with a
        name. Returns the names registered. Raises ImportError or RegistryError."""
        module = importlib.import_module(module_name)
        names = []
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Handler) and obj is not Handler and obj.name:
                if obj.__module__ != module.__name__:
                    continue  # imported from elsewhere; registered by its own module
                self.register(obj, reserved=reserved)
                names.append(obj.name)
        return names

    def load_entry_points(self, *, reserved: frozenset[str] = frozenset()) -> list[str]:
        """Register the handlers of installed distributions (once)."""
        if self._entry_points_loaded:
            return []
        self._entry_points_loaded = True
        names = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            cls = ep.load()
            if not (inspect.isclass(cls) and issubclass(cls, Handler)):
                raise RegistryError(f"entry point {ep.name} = {ep.value} is not a Handler class")
            if cls.name != ep.name:
                raise RegistryError(
                    f'entry point "{ep.name}" names a handler called "{cls.name}"'
                )
            self.register(cls, reserved=reserved)
            names.append(ep.name)
        return names

    def get(self, name: str) -> type[Handler] | None:
        return self._handlers.get(name)

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def __contains__(self, name: object) -> bool:
        return name in self._handlers


registry = HandlerRegistry()
