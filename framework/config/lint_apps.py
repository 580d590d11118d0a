"""Lints of ``asgi``/``wsgi`` targets: each is imported in a child process (``app_probe``)
and must be an app of the directive's interface. Errors, since the workers could not serve
the location: found here, they stop ``run`` and a reload before any worker starts.

- ``app-not-importable`` (error): the module is missing or raises on import, the attribute
  is not there, or the factory raises.
- ``app-wrong-interface`` (error): the object is not an ASGI 3 / ASGI 2 app (``asgi``) or a
  WSGI app (``wsgi``), e.g. a Flask app under ``asgi``.
- ``app-import-timeout`` (warning): importing took longer than the check waits.

One child per distinct target (kind, module, attribute, app directory): many locations with
the same app cost one import, and distinct ones are imported side by side.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Directive, Span
from framework.config.app_probe import Account, AppProbe, ProbeResult, probe_apps
from framework.config.directives_apps import AppTarget
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config

NOT_IMPORTABLE = "app-not-importable"
WRONG_INTERFACE = "app-wrong-interface"
IMPORT_TIMEOUT = "app-import-timeout"


@dataclass(frozen=True)
class _Written:
    """One ``asgi``/``wsgi`` directive as written, and what to probe for it."""

    kind: str
    target: AppTarget
    probe: AppProbe
    node: Directive | None
    span: Span | None


def check_app_targets(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    written = list(_written_targets(ctx))
    if not written:
        return
    results = probe_apps([w.probe for w in written], run_as=_account(ctx))
    for w in written:
        yield from _diagnose(w, results[w.probe])


def _written_targets(ctx: LintContext) -> Iterator[_Written]:
    """Each directive once (a nested location inherits the value, not the directive).

    A target whose module this process has already imported is not probed: that happens
    in a single-process ``run`` reloading its config, which keeps serving the module as
    imported (and whose new handlers' startup fails the reload if the name is wrong), so
    a child importing the file anew would check other code and stall the event loop."""
    seen: set[tuple[str, Span | None]] = set()
    for _server, loc in ctx.scopes():
        for kind in ("asgi", "wsgi"):
            target: AppTarget | None = getattr(loc, kind)
            if target is None or (kind, target.span) in seen:
                continue
            seen.add((kind, target.span))
            node = ctx.by_span.get(target.written_at[-1]) if target.written_at else None
            if node is not None and not ctx.valid(node):
                continue
            if target.module in sys.modules:
                continue
            probe = AppProbe(kind, target.module, target.attr, target.factory, loc.asgi_app_dir)
            yield _Written(kind, target, probe, node, target.span)


def _account(ctx: LintContext) -> Account | None:
    """The ``user`` the workers will drop to, when this process is root: the app's module
    code runs as that account in the child too, never as root."""
    run_as = ctx.config.user
    if run_as is None or os.geteuid() != 0:
        return None
    from framework.privileges import PrivilegeError, resolve

    try:
        account = resolve(run_as)
        groups = os.getgrouplist(account.user, account.gid)
    except (PrivilegeError, OSError):
        return None  # reported by the user directive's own checks
    return Account(account.uid, account.gid, tuple(groups))


def _diagnose(w: _Written, result: ProbeResult) -> Iterator[Diagnostic]:
    if result.ok:
        return
    text = w.target.text
    if result.stage == "timeout":
        yield warn(
            IMPORT_TIMEOUT,
            f'could not check {w.kind} "{text}": {result.error}',
            w.node,
            w.span,
            "the app may still work; a module that does heavy work at import slows every "
            "worker's start",
        )
    elif result.stage == "shape":
        yield warn(
            WRONG_INTERFACE,
            f'{w.kind} "{text}" is not {_expected(w.kind)}: {result.error}',
            w.node,
            w.span,
            _shape_hint(w, result),
            severity="error",
        )
    else:
        yield warn(
            NOT_IMPORTABLE,
            f'cannot load {w.kind} "{text}": {result.error}',
            w.node,
            w.span,
            _import_hint(w, result),
            severity="error",
        )


def _expected(kind: str) -> str:
    if kind == "asgi":
        return "an ASGI app (an async callable taking scope, receive, send)"
    return "a WSGI app (a callable taking environ, start_response)"


def _shape_hint(w: _Written, result: ProbeResult) -> str:
    if result.hint in ("use-asgi", "use-wsgi"):
        other = result.hint[4:]
        return f'write "{other} {w.target.text};" (the {other} directive serves it)'
    if w.target.factory:
        return f"{w.target.attr}() must return the app object"
    return f'give the app object itself, e.g. "{w.target.module}:app"'


def _import_hint(w: _Written, result: ProbeResult) -> str:
    module = w.target.module
    app_dir = w.probe.app_dir
    if result.stage == "attribute":
        if result.suggestions:
            return f'did you mean "{module}:{result.suggestions[0]}"?'
        return f'"{module}" defines no attribute "{w.target.attr}"; name the app object in it'
    if result.stage == "factory":
        return f"{w.target.attr}() is called once per worker to build the app and must not fail"
    if result.hint == "missing-module":
        top = module.split(".")[0]
        if app_dir is None:
            return (
                f'is asgi_app_dir set? "{top}" is looked for on the server\'s sys.path; '
                "asgi_app_dir DIR; adds the app's directory"
            )
        return f'is asgi_app_dir right? no "{top}.py" or "{top}/" package in "{app_dir}"'
    command = f'python -c "import {module}"'
    if app_dir is not None:
        command = f'cd "{app_dir}" && {command}'
    if result.stage == "crash":
        return f"the import ends the process; try: {command}"
    return f"the module fails while importing; see the traceback with: {command}"


RULES: list[LintRule] = [
    LintRule(
        NOT_IMPORTABLE,
        "an asgi/wsgi app that cannot be imported (checked in a child process; error)",
        check_app_targets,
        True,
        severity="error",
    ),
]
"""One rule runs the probes; it reports all three IDs (``app-wrong-interface`` and
``app-import-timeout`` too)."""
