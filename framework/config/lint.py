"""Lints: findings about configurations that are valid but probably wrong or dangerous.

Each rule is a ``Rule`` (see ``lint_context``): an ID, a default severity, a summary, a docs
URL and ``check(model, ctx)`` over the built ``Config`` and a ``LintContext`` (the syntax
tree it came from), yielding ``Diagnostic`` values. Built-in rules are ``LintRule`` records
in ``RULES``; plugins add theirs through the ``webserv.lint_rules`` entry point group
(``lint_plugins``). Rules marked ``needs_fs`` look at the filesystem and are skipped with
``check_fs=False`` (``--no-fs``). The rules about content and permissions are here; the
security rules are in ``lint_security``, the locations in ``lint_locations``, the start-up
files in ``lint_output_paths``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Comment, Directive
from framework.config.lint_access import RULES as ACCESS_RULES
from framework.config.lint_apps import RULES as APP_RULES
from framework.config.lint_context import LintContext, LintRule, Rule, served_dir
from framework.config.lint_context import warn as _warn
from framework.config.lint_gzip import RULES as GZIP_RULES
from framework.config.lint_headers import RULES as HEADER_RULES
from framework.config.lint_locations import RULES as LOCATION_RULES
from framework.config.lint_ops import RULES as OPS_RULES
from framework.config.lint_output_paths import RULE as UNWRITABLE_PATH
from framework.config.lint_output_paths import check_output_paths
from framework.config.lint_plugins import (
    bad_findings,
    failed_rule,
    invalid_finding,
    plugin_rules,
)
from framework.config.lint_proxy import RULES as PROXY_RULES
from framework.config.lint_realip import RULES as REALIP_RULES
from framework.config.lint_security import (
    check_alias_traversal,
    check_filesystem_root,
    check_serves_config_dir,
    check_upload_into_cgi,
    check_upload_not_served,
)
from framework.config.lint_tls import RULES as TLS_RULES
from framework.config.lint_try_files import RULES as TRY_FILES_RULES
from framework.config.lint_variables import RULES as VARIABLE_RULES
from framework.config.lint_websocket import RULES as WEBSOCKET_RULES
from framework.config.models import Config, LocationConfig

__all__ = ["RULES", "LintContext", "LintRule", "Rule", "run_lints", "served_dir"]

_CGI_SCAN_LIMIT = 2000  # files looked at per CGI directory when checking permissions


# -- rules -------------------------------------------------------------------------------


def _probe(check, path: Path) -> bool:
    """A filesystem check that treats an unprobeable path (name too long, loop, no
    permission...) as absent instead of raising."""
    try:
        return check(path)
    except (OSError, ValueError):
        return False


def _is_dir(path: Path) -> bool:
    return _probe(Path.is_dir, path)


def _is_file(path: Path) -> bool:
    return _probe(Path.is_file, path)


def _exists(path: Path) -> bool:
    return _probe(Path.exists, path)


def check_missing_root(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    for d in ctx.top_level("root"):
        path = ctx.resolve(d.args[0].value)
        if not _is_dir(path):
            yield _warn("missing-root", f'root directory "{path}" does not exist', d,
                        d.args[0].span, "create it, or fix the path")  # fmt: skip
    for server, loc in ctx.scopes():
        span = ctx.block_span(server, loc)
        for d in ctx.own(span, "root") + ctx.own(span, "alias"):
            if d.name == "alias" and loc.alias is None:
                continue  # rejected by the builder (alias outside a location)
            path = loc.alias if d.name == "alias" and loc.alias is not None else loc.root
            if d.name == "root" and not _is_dir(path):
                yield _warn(
                    "missing-root",
                    f'root directory "{path}" does not exist',
                    d,
                    d.args[0].span,
                    "create it, or fix the path (relative paths start "
                    "at the config file's directory)",
                )
            elif d.name == "alias" and not _exists(path):
                yield _warn(
                    "missing-root",
                    f'alias path "{path}" does not exist',
                    d,
                    d.args[0].span,
                    "create it, or fix the path",
                )


def check_missing_index(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    for server, loc in ctx.scopes():
        span = ctx.block_span(server, loc)
        for d in ctx.own(span, "index"):
            directory = served_dir(loc)
            if loc.autoindex or not _is_dir(directory) or loc.modifier in ("~", "~*", "="):
                continue  # not checkable, or a listing is served anyway
            if not any(_is_file(directory / name) for name in loc.index if "/" not in name):
                names = ", ".join(loc.index)
                yield _warn(
                    "missing-index",
                    f'no index file ({names}) in "{directory}"',
                    d,
                    d.args[0].span,
                    "requests for the directory will get 403 (turn autoindex on, or add the file)",
                )


def check_missing_error_page(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    from framework.http.errors import HTTPError
    from framework.routing.locations import LocationMatcher
    from framework.routing.paths import map_path

    for server, loc in ctx.scopes():
        span = ctx.block_span(server, loc)
        own = ctx.own(span, "error_page")
        if not own:
            continue
        matcher = LocationMatcher(server)
        for d in own:
            uri = d.args[-1].value
            if not uri.startswith("/") or "$" in uri:
                continue
            target = matcher.match(uri.split("?", 1)[0])
            if target.handlers or target.cgi or target.return_ is not None:
                continue  # something other than a file answers it
            if target.alias is None and not _is_dir(target.root):
                continue  # reported by missing-root
            try:
                path = map_path(target, uri.split("?", 1)[0])
            except HTTPError:
                continue
            if not _is_file(path):
                yield _warn(
                    "missing-error-page",
                    f'error page "{uri}" not found at "{path}"',
                    d,
                    d.args[-1].span,
                    "the built-in page will be served instead",
                )


def _world_writable(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & stat.S_IWOTH)
    except OSError:
        return False


def check_world_writable(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    for d in ctx.top_level("root"):
        path = ctx.resolve(d.args[0].value)
        if _world_writable(path):
            yield _warn("world-writable", f'"{path}" (root) is world-writable', d,
                        d.args[0].span, f'chmod o-w "{path}"')  # fmt: skip
    for server, loc in ctx.scopes():
        span = ctx.block_span(server, loc)
        for name in ("root", "alias", "upload_store"):
            for d in ctx.own(span, name):
                target: Path | None = {
                    "root": loc.root,
                    "alias": loc.alias,
                    "upload_store": loc.upload_store,
                }[name]
                if target is not None and _world_writable(target):
                    yield _warn(
                        "world-writable",
                        f'"{target}" ({name}) is world-writable',
                        d,
                        d.args[0].span,
                        f'anyone on this machine can change what is served; chmod o-w "{target}"',
                    )
        own_cgi = ctx.own(span, "cgi")
        if own_cgi:
            yield from _world_writable_scripts(loc, own_cgi[0])


def _world_writable_scripts(loc: LocationConfig, node: Directive) -> Iterator[Diagnostic]:
    directory = served_dir(loc)
    extensions = tuple(rule.extension for rule in loc.cgi)
    seen = 0
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            seen += 1
            if seen > _CGI_SCAN_LIMIT:
                return
            path = Path(dirpath) / filename
            if filename.lower().endswith(extensions) and _world_writable(path):
                yield _warn(
                    "world-writable",
                    f'CGI script "{path}" is world-writable',
                    node,
                    node.args[0].span,
                    f'anyone could change what runs; chmod o-w "{path}"',
                )


def check_cgi_interpreter(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    for server, loc in ctx.scopes():
        for d in ctx.own(ctx.block_span(server, loc), "cgi"):
            rule = next((r for r in loc.cgi if r.extension == d.args[0].value.lower()), None)
            if rule is None or rule.interpreter is None:
                continue
            path = rule.interpreter
            if not path.is_absolute() or not os.access(path, os.X_OK) or path.is_dir():
                yield _warn(
                    "cgi-interpreter-not-found",
                    f'CGI interpreter "{d.args[1].value}" not found or not executable',
                    d,
                    d.args[1].span,
                    "give an absolute path or a command in PATH",
                )


RULES: list[LintRule] = [
    LintRule("missing-root", "root/alias path does not exist", check_missing_root, True),
    LintRule("missing-index", "no index file where one is expected", check_missing_index, True),
    LintRule(
        "missing-error-page", "error_page target file missing", check_missing_error_page, True
    ),
    *LOCATION_RULES,
    LintRule(
        "alias-traversal",
        "alias and prefix location without matching trailing '/' (nginx escapes the alias)",
        check_alias_traversal,
    ),
    LintRule(
        "upload-into-cgi-dir",
        "uploads stored at, inside or above a directory where CGI executes files, in any "
        "server (RCE)",
        check_upload_into_cgi,
    ),
    LintRule(
        "serves-filesystem-root",
        "root or alias serving the whole filesystem",
        check_filesystem_root,
    ),
    LintRule(
        "serves-config-dir",
        "static files served from the directory that holds the config file",
        check_serves_config_dir,
    ),
    LintRule(
        "upload-not-served",
        "an upload store its own location cannot serve back (the Location answers 404)",
        check_upload_not_served,
    ),
    LintRule(
        UNWRITABLE_PATH,
        "pid or error_log in a missing or unwritable directory (error)",
        check_output_paths,
        True,
        severity="error",
    ),
    LintRule(
        "world-writable",
        "world-writable root, upload directory or CGI script",
        check_world_writable,
        True,
    ),
    LintRule("cgi-interpreter-not-found", "CGI interpreter missing", check_cgi_interpreter, True),
    *ACCESS_RULES,
    *WEBSOCKET_RULES,
    *OPS_RULES,
    *REALIP_RULES,
    *HEADER_RULES,
    *VARIABLE_RULES,
    *TRY_FILES_RULES,
    *TLS_RULES,
    *GZIP_RULES,
    *APP_RULES,
    *PROXY_RULES,
]


def run_lints(
    config: Config,
    nodes: list[Directive | Comment],
    *,
    check_fs: bool = True,
    accepted: set[int] | None = None,
) -> list[Diagnostic]:
    """Every lint finding for ``config`` (built from ``nodes``; ``accepted``: the ids of the
    directives the builder accepted, the only ones rules look at): the built-in rules, then
    the rules of installed plugins (``webserv.lint_rules`` entry points)."""
    ctx = LintContext(config, nodes, check_fs, accepted)
    out: list[Diagnostic] = []
    for rule in RULES:
        if rule.needs_fs and not check_fs:
            continue
        try:
            for item in rule.check(config, ctx):
                problem = invalid_finding(item)
                if problem is not None:
                    raise TypeError(f"the {rule.id} lint yielded {problem}")
                out.append(item)
        except Exception as exc:  # one broken rule must not hide the other findings
            from framework.config.build import internal_error

            out.append(internal_error(exc, f"running the {rule.id} lint"))
    plugins = plugin_rules(rule.id for rule in RULES)
    out.extend(plugins.problems)
    for plugin in plugins.rules:
        if getattr(plugin, "needs_fs", False) and not check_fs:
            continue
        origin = plugins.origin[plugin.id]
        bad: list[str] = []
        try:
            for item in plugin.check(config, ctx):
                problem = invalid_finding(item)
                if problem is None:
                    out.append(item)  # type: ignore[arg-type]  # checked just above
                else:
                    bad.append(problem)
        except Exception as exc:  # a plugin's bug is reported, never fatal
            out.append(failed_rule(exc, plugin, origin))
        if bad:
            out.append(bad_findings(plugin, origin, len(bad), bad[0]))
    return out
