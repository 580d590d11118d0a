"""Files webserv writes at start (``pid``, ``error_log``): checked at validation time, so a
path in a missing or read-only directory is a config error at its directive instead of a
failed start."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from config_grammar.diagnostics import Diagnostic
from framework.config.lint_context import LintContext, warn
from framework.config.models import Config

RULE = "unwritable-path"


def check_output_paths(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``pid`` and ``error_log`` files must be creatable (or writable) where they point."""
    targets = {"pid": ctx.config.pid, "error_log": ctx.config.error_log.target}
    for name, path in targets.items():
        if not isinstance(path, Path):
            continue  # unset, or error_log stderr
        problem = _why_unwritable(path)
        if problem is None:
            continue
        for d in ctx.top_level(name)[-1:]:
            what = "pid file" if name == "pid" else "error log"
            reason, hint = problem
            yield warn(
                RULE,
                f'cannot write the {what} "{path}": {reason}',
                d,
                d.args[0].span,
                hint,
                severity="error",
            )


def _why_unwritable(path: Path) -> tuple[str, str] | None:
    """(reason, hint) if ``path`` cannot be opened for writing (created if missing)."""
    parent = path.parent
    try:
        if path.is_dir():
            return "it is a directory", "give a file name"
        if path.exists():
            if os.access(path, os.W_OK):
                return None
            return "the file is not writable", f'chmod u+w "{path}", or change the path'
        if not parent.exists():
            return (
                f'the directory "{parent}" does not exist',
                f'create it (mkdir -p "{parent}"), or change the path',
            )
        if not parent.is_dir():
            return f'"{parent}" is not a directory', "change the path"
        if not os.access(parent, os.W_OK | os.X_OK):
            return (
                f'the directory "{parent}" is not writable',
                "run as a user that can write there, or change the path",
            )
    except OSError as exc:  # unprobeable: name too long, symlink loop...
        return exc.strerror or str(exc), "change the path"
    return None
