"""Directives that host Python apps in a location: ``asgi``, ``wsgi`` and their settings.
Their rows of the directive table, their value parsers and the ``LocationConfig`` fields they
fill. This module must not import ``framework.config.models``, which mixes ``AppFields`` in.

``asgi``/``wsgi`` are content handlers of the location that writes them, as ``proxy_pass`` is
in nginx: the value is inherited by nested locations like every field, but the handler is
enabled only where it is written (``AppTarget.declared_in``). The settings
(``asgi_root_path``, ``asgi_lifespan``, ``asgi_app_dir``) are inherited as usual."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from config_grammar.tree import Directive, Span
from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec, ParseContext, first_arg, one_of, spec
from framework.config.values import ValueProblem

LifespanMode = Literal["on", "off", "auto"]

_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_TARGET = re.compile(rf"({_DOTTED}):({_DOTTED})(\(\))?")


class AppTarget(Model):
    """``MODULE:ATTR`` (or ``MODULE:FUNC()``, a factory called once per worker) of an
    ``asgi`` or ``wsgi`` directive."""

    module: str
    attr: str
    factory: bool = False
    span: Span | None = None
    # the directive's span and the include directives that led to it (outermost first)
    written_at: tuple[Span, ...] = ()

    @property
    def text(self) -> str:
        """The target as written: ``module:attr`` or ``module:func()``."""
        return f"{self.module}:{self.attr}{'()' if self.factory else ''}"

    def declared_in(self, block: Span | None) -> bool:
        """Whether the directive is written in the block at ``block`` (a location's span)
        rather than inherited from an enclosing location."""
        if block is None or not self.written_at:
            return True
        return any(_inside(place, block) for place in self.written_at)


def _inside(place: Span, block: Span) -> bool:
    if place.file != block.file:
        return False
    start, end = (place.line, place.col), (place.end_line, place.end_col)
    return (block.line, block.col) < start and end <= (block.end_line, block.end_col)


class AppFields(Model):
    """The ``LocationConfig`` fields of the app directives."""

    asgi: AppTarget | None = None
    wsgi: AppTarget | None = None
    asgi_root_path: str = ""
    asgi_lifespan: LifespanMode = "auto"
    asgi_app_dir: Path | None = None


def _target(d: Directive, _: ParseContext) -> AppTarget:
    arg = first_arg(d)
    value = arg.value
    match = _TARGET.fullmatch(value)
    if match is None:
        if ":" not in value:
            hint = f'write MODULE:ATTR, e.g. "{value or "myapp"}:app" (the module, a colon, '
            hint += "the app's name in it)"
        elif "(" in value and not value.endswith("()"):
            hint = "a factory takes no arguments: MODULE:FUNC()"
        else:
            hint = "MODULE is a dotted module name (pkg.app) and ATTR a Python name, e.g. main:app"
        raise ValueProblem(
            "invalid-app-target",
            f'invalid app "{value}" in "{d.name}" directive',
            arg.span,
            hint,
        )
    module, attr, call = match.groups()
    written_at = (*d.include_chain, d.span)
    return AppTarget(
        module=module, attr=attr, factory=call is not None, span=arg.span, written_at=written_at
    )


def _root_path(d: Directive, _: ParseContext) -> str:
    arg = first_arg(d)
    value = arg.value
    if value and not value.startswith("/"):
        raise ValueProblem(
            "invalid-value",
            f'invalid root path "{value}" in "asgi_root_path" directive',
            arg.span,
            'the root path is the URL prefix the app is mounted at, e.g. "/api"',
        )
    if any(c in value for c in "?#") or any(ord(c) < 0x21 for c in value):
        raise ValueProblem(
            "invalid-value",
            f'invalid root path "{value}" in "asgi_root_path" directive',
            arg.span,
            "a root path is a URL path without query, fragment, spaces or control characters",
        )
    return value.rstrip("/")


def _app_dir(d: Directive, ctx: ParseContext) -> Path:
    return ctx.path_arg(first_arg(d), d.name)


SPECS: list[DirectiveSpec] = [
    spec("asgi", "L", "asgi MODULE:ATTR | MODULE:FUNC();", parse=_target,
         scope="location", field="asgi",
         summary="answer the location's requests with an ASGI app (ASGI 2 apps are wrapped; "
         "FUNC() is a factory called once per worker; not inherited)"),
    spec("wsgi", "L", "wsgi MODULE:ATTR | MODULE:FUNC();", parse=_target,
         scope="location", field="wsgi",
         summary="answer the location's requests with a WSGI app run in a bounded thread "
         "pool (not inherited)"),
    spec("asgi_root_path", "HSL", "asgi_root_path PATH;", parse=_root_path,
         scope="location", field="asgi_root_path", default='""',
         summary="the URL prefix the app is mounted at: the scope's root_path (path keeps "
         "the full path)"),
    spec("asgi_lifespan", "HSL", "asgi_lifespan on | off | auto;",
         parse=one_of("on", "off", "auto"), scope="location", field="asgi_lifespan",
         default="auto",
         summary="run the app's lifespan startup/shutdown per worker: on = required, auto = "
         "skipped for an app that does not support it"),
    spec("asgi_app_dir", "HSL", "asgi_app_dir DIR;", parse=_app_dir,
         scope="location", field="asgi_app_dir",
         summary="a directory put on sys.path to import the asgi/wsgi app from "
         "(relative to the config file)"),
]  # fmt: skip

__all__ = ["SPECS", "AppFields", "AppTarget", "LifespanMode"]
