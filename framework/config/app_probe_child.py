"""Run by ``app_probe`` in a child process: import one ``asgi``/``wsgi`` target and say
whether it is an app of the right interface. Standard library only, and nothing from
webserv: the child sees the app's world, not ours.

Input (stdin, JSON): ``{"path": [...], "module": "pkg.main", "attr": "app",
"factory": false, "kind": "asgi" | "wsgi"}``. Output: one JSON object on the original
stdout (the app's own prints are sent to stderr): ``{"ok": bool, "stage": ..., "error":
..., "hint": ..., "interface": ...}``.
"""

from __future__ import annotations

import difflib
import inspect
import json
import os
import sys
import traceback
from typing import Any


def main() -> None:
    request = json.loads(sys.stdin.read())
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the app prints must not corrupt our answer
    sys.path[:] = request["path"]
    sys.dont_write_bytecode = True  # validation writes no file, not even __pycache__
    try:
        answer = probe(request["module"], request["attr"], request["factory"], request["kind"])
    except BaseException as exc:  # noqa: BLE001 - SystemExit from an app is an answer too
        answer = failure("import", exc)
    out.write(json.dumps(answer) + "\n")
    out.flush()
    os._exit(0)  # skip the app's atexit handlers and non-daemon threads


def failure(stage: str, exc: BaseException, hint: str | None = None) -> dict[str, Any]:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return {"ok": False, "stage": stage, "error": last, "hint": hint}


def probe(module_name: str, attr: str, factory: bool, kind: str) -> dict[str, Any]:
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return failure("import", exc, "missing-module")
        return failure("import", exc)  # the app imports something that is not installed
    except BaseException as exc:  # noqa: BLE001
        return failure("import", exc)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            answer = {
                "ok": False,
                "stage": "attribute",
                "error": f"module {module_name!r} has no attribute {attr!r}",
                "hint": None,
                "suggestions": suggestions(module, attr),
            }
            return answer
        obj = getattr(obj, part)
    if factory:
        if not callable(obj):
            return {
                "ok": False,
                "stage": "factory",
                "error": f"{attr} is a {type(obj).__name__}, not a function to call",
                "hint": "not-callable-factory",
            }
        try:
            obj = obj()
        except BaseException as exc:  # noqa: BLE001
            return failure("factory", exc)
        if inspect.isawaitable(obj):
            if hasattr(obj, "close"):
                obj.close()
            return {
                "ok": False,
                "stage": "factory",
                "error": f"{attr}() is a coroutine function: the factory must return the app",
                "hint": None,
            }
    return shape(obj, kind)


def suggestions(module: Any, attr: str) -> list[str]:
    """Callable public names of ``module``, closest to ``attr`` first."""
    names = [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and callable(value) and not inspect.ismodule(value)
    ]
    close = difflib.get_close_matches(attr, names, n=3, cutoff=0.5)
    usual = [n for n in ("app", "application", "create_app") if n in names and n not in close]
    return close + usual


def shape(app: Any, kind: str) -> dict[str, Any]:
    """Which interface ``app`` offers: ASGI 3, ASGI 2 or WSGI (or why none)."""
    interface, why = interface_of(app)
    ok = interface is not None and interface.startswith(kind.upper())
    answer: dict[str, Any] = {"ok": ok, "stage": "shape", "interface": interface}
    if not ok:
        article = "an" if interface and interface[0] in "AEIOU" else "a"
        answer["error"] = why if interface is None else f"it is {article} {interface} app"
        answer["hint"] = None if interface is None else f"use-{interface.split()[0].lower()}"
    return answer


def interface_of(app: Any) -> tuple[str | None, str]:
    """(interface, reason when none): ``ASGI 3``, ``ASGI 2`` or ``WSGI``."""
    if not callable(app):
        return None, f"it is not callable (a {type(app).__name__!r} object)"
    if inspect.isclass(app):  # ASGI 2: the class is called with the scope
        call = app.__call__
        if hasattr(app, "__await__"):
            return "ASGI 3", ""
        if inspect.iscoroutinefunction(call):
            return "ASGI 2", ""
        return (
            None,
            f"it is the class {app.__name__}: give an instance (or use MODULE:{app.__name__}())",
        )
    target = app if inspect.isroutine(app) else app.__call__
    count = positional_count(target)
    if inspect.iscoroutinefunction(target):
        if count in (3, None):
            return "ASGI 3", ""
        return None, f"it is an async callable taking {count} arguments, not (scope, receive, send)"
    if count == 1:
        return "ASGI 2", ""  # app(scope) returns the async callable
    if count in (2, None):
        return "WSGI", ""
    if count == 3:
        return None, "it takes (scope, receive, send) but is not async"
    return None, f"it is a callable taking {count} arguments"


def positional_count(func: Any) -> int | None:
    """How many positional arguments ``func`` takes (None: any number)."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind == parameter.VAR_POSITIONAL:
            return None
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


if __name__ == "__main__":
    main()
