"""The handler registry: name -> Handler class, for built-ins and plugins alike.

Built-in handlers register on import of ``handlers``; plugins through ``load_module MODULE;``
(every ``Handler`` subclass with a ``name`` defined in that module or its submodules) or the
``webserv.handlers`` entry-point group of installed distributions::

    [project.entry-points."webserv.handlers"]
    greeting = "pkg.mod:Greeting"

Names are unique. A plugin name that clashes with another handler or with a core directive
(``root``, ``listen``...) is refused with a ``RegistryError``; the configuration layer turns
that into a diagnostic at the ``load_module`` line.

``config_grammar``, ``framework`` and ``handlers`` are webserv's own import names
(``RESERVED_PACKAGES``): a plugin package called ``handlers`` is never imported, webserv's
is, so ``load_module`` refuses those names and says why instead of "no module named".
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel

from framework.handler import Handler

ENTRY_POINT_GROUP = "webserv.handlers"

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")

RESERVED_PACKAGES: frozenset[str] = frozenset({"config_grammar", "framework", "handlers"})
"""webserv's own top-level import names, which plugin modules cannot use."""


class RegistryError(Exception):
    """A handler could not be registered (name clash, bad module, bad entry point)."""


class HandlerInvalid(RegistryError):
    """A handler class is malformed (no or an invalid name, ``Settings`` not a settings
    model, ``handle`` not ``async def``, ``check`` not a classmethod): a bug of the plugin,
    not a clash. ``names`` are the handler names it would have registered."""

    def __init__(self, message: str, names: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.names: tuple[str, ...] = tuple(names)


class ModuleLoadError(ImportError):
    """``load_module`` could not import the module; the message says why, without repeating
    the module name (callers prefix it: ``cannot load module "x": ...``)."""


class ReservedModuleError(ModuleLoadError):
    """The plugin module (or one it imports) has the import name of one of webserv's own
    packages (``RESERVED_PACKAGES``), so webserv's package is found instead of it."""

    hint = (
        "rename the plugin package: "
        + ", ".join(sorted(RESERVED_PACKAGES))
        + " are webserv's own import names"
    )


def _reserved_top(module_name: str | None) -> str | None:
    """The reserved top-level package ``module_name`` starts with, if any."""
    top = (module_name or "").partition(".")[0]
    return top if top in RESERVED_PACKAGES else None


# where webserv's own packages live (siblings of this package, installed or editable)
_WEBSERV_ROOT = Path(__file__).resolve().parent.parent


def _is_own(path: Path, top: str) -> bool:
    try:
        resolved = path.resolve()
    except OSError:
        return False
    own = _WEBSERV_ROOT / top
    return resolved in (own, own.with_suffix(".py")) or resolved.is_relative_to(own)


def _shadowed(top: str, found: Path | None = None) -> str:
    names = ", ".join(f'"{n}"' for n in sorted(RESERVED_PACKAGES))
    what = f'"{found}"' if found is not None else "a plugin package or module of that name"
    if any(name == top for name, _ in shadowed_packages()):
        return (
            f'"{top}" is the import name of webserv\'s own package (reserved: {names}), '
            f"and {what} hides webserv's"
        )
    return (
        f'"{top}" is the import name of webserv\'s own package (reserved: {names}), so '
        f"{what} is shadowed by it and never imported"
    )


def _shadowing_file(top: str, near: Iterable[Path | str] = ()) -> Path | None:
    """A package or module named ``top`` other than webserv's: any in ``near`` (where
    plugins are looked for, e.g. the config's directory), else a regular package or module
    on ``sys.path`` (a namespace directory elsewhere, like a test folder, is no plugin)."""
    for base in near:
        for candidate in (Path(base) / top, Path(base) / f"{top}.py"):
            if _probe(candidate.exists) and not _is_own(candidate, top):
                return candidate
    for entry in sys.path:
        base = Path(entry or ".")
        for candidate, marker in (
            (base / top, base / top / "__init__.py"),
            (base / f"{top}.py",) * 2,
        ):
            if _probe(marker.is_file) and not _is_own(candidate, top):
                return candidate
    return None


def _probe(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except OSError:  # an unreadable sys.path entry
        return False


def shadowed_packages() -> list[tuple[str, Path]]:
    """webserv's own packages that were imported from somewhere else: a user's ``handlers``
    directory in the current directory (first on ``sys.path``) hides the built-ins.
    (name, the file that was imported instead) pairs."""
    found = []
    for top in sorted(RESERVED_PACKAGES):
        file = getattr(sys.modules.get(top), "__file__", None)
        if file is not None and not _is_own(Path(file), top):
            path = Path(file)
            found.append((top, path.parent if path.name == "__init__.py" else path))
    return found


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
            raise HandlerInvalid(f"{cls!r} is not a Handler subclass")
        name = cls.name
        if not name:
            raise HandlerInvalid(f'{_describe(cls)} has no "name"')
        if not isinstance(name, str) or not _NAME.match(name):
            raise HandlerInvalid(
                f'{_describe(cls)}: invalid handler name "{name}" '
                "(lower-case letters, digits and '_', starting with a letter)",
                [name] if isinstance(name, str) else [],
            )
        if name in reserved:
            raise RegistryError(
                f'handler name "{name}" of {_describe(cls)} clashes with the core directive '
                f'"{name}"; choose another name'
            )
        settings = getattr(cls, "Settings", None)
        if not (inspect.isclass(settings) and issubclass(settings, BaseModel)):
            raise HandlerInvalid(
                f"{_describe(cls)}.Settings must subclass Handler.Settings", [name]
            )
        if not inspect.iscoroutinefunction(cls.handle):
            raise HandlerInvalid(f"{_describe(cls)}.handle must be 'async def'", [name])
        if not isinstance(inspect.getattr_static(cls, "check"), (classmethod, staticmethod)):
            raise HandlerInvalid(f"{_describe(cls)}.check must be a @classmethod", [name])
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
        fails (``ReservedModuleError`` for a name in ``RESERVED_PACKAGES``) and
        ``RegistryError`` on a clash or a malformed handler class.
        """
        reserved = core_directive_names() if reserved is None else frozenset(reserved)
        for path in search_paths:
            entry = str(path)
            if entry not in sys.path:
                sys.path.append(entry)
        search_paths = list(search_paths)
        top = _reserved_top(module_name)
        if top is not None:
            found = _shadowing_file(top, search_paths)
            raise ReservedModuleError(_shadowed(top, found), name=module_name)
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise self._import_error(module_name, exc, search_paths) from exc
        except Exception as exc:
            raise ModuleLoadError(
                f"importing it raised {type(exc).__name__}: {exc}", name=module_name
            ) from exc
        return self._register_module(module, reserved)

    @staticmethod
    def _import_error(
        module_name: str, exc: ImportError, near: list[Path | str]
    ) -> ModuleLoadError:
        """Why importing ``module_name`` failed, naming a reserved package it reached for."""
        top = _reserved_top(exc.name)
        found = _shadowing_file(top, near) if top is not None else None
        if top is not None and found is not None:  # `from handlers.util import x`, say
            return ReservedModuleError(
                f'it imports "{exc.name}", but {_shadowed(top, found)}', name=module_name
            )
        if not isinstance(exc, ModuleNotFoundError):
            return ModuleLoadError(
                f"importing it raised {type(exc).__name__}: {exc}", name=module_name
            )
        if exc.name and (module_name + ".").startswith(exc.name + "."):
            return ModuleLoadError(
                f'no module named "{exc.name}" (is it on PYTHONPATH or installed?)',
                name=exc.name,
            )
        return ModuleLoadError(f"it imports a missing module: {exc}", name=module_name)

    def _register_module(self, module: ModuleType, reserved: frozenset[str]) -> list[str]:
        """Register the named Handler subclasses defined in ``module`` or its submodules."""
        prefix = module.__name__ + "."
        names = []
        invalid: list[HandlerInvalid] = []  # reported together, after the valid ones register
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if not issubclass(obj, Handler) or obj is Handler or not obj.__dict__.get("name"):
                continue
            if obj.__module__ != module.__name__ and not obj.__module__.startswith(prefix):
                continue  # imported from elsewhere; registered by its own module
            try:
                self.register(obj, reserved=reserved)
            except HandlerInvalid as exc:
                invalid.append(exc)
                continue
            names.append(obj.__dict__["name"])
        if invalid:
            raise HandlerInvalid(
                "; ".join(str(e) for e in invalid), [n for e in invalid for n in e.names]
            )
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
