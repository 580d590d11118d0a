"""Security lints: configurations that expose files the site never meant to serve, or let an
upload be executed as code.

Paths are compared after ``os.path.realpath`` when the filesystem may be looked at (a store
that is a symlink to a CGI directory is that directory), lexically with ``--no-fs``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Directive
from framework.config.lint_context import LintContext, served_dir, warn
from framework.config.models import Config, LocationConfig, ServerConfig

_PREFIX = ("", "^~")


def check_alias_traversal(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """An ``alias`` whose trailing "/" does not match its prefix location's (gixy's
    alias_traversal): nginx then maps URIs next to, or above, the aliased directory."""
    for _server, loc in ctx.scopes():
        if loc.modifier not in _PREFIX or not loc.span or loc.alias is None:
            continue  # (no alias: it came with a root, which is an error already)
        for d in ctx.own(loc.span, "alias"):
            diag = _alias_mismatch(loc.pattern, d)
            if diag is not None:
                yield diag


def _alias_mismatch(pattern: str, d: Directive) -> Diagnostic | None:
    alias = d.args[0].value
    if pattern.endswith("/") == alias.endswith("/"):
        if pattern.endswith("/"):
            return None
        # neither ends with "/": the medium case
        return warn(
            "alias-traversal",
            f'neither location "{pattern}" nor alias "{alias}" ends with "/": '
            f'"{pattern}-x" matches too, and nginx maps it to "{alias}-x", next to the '
            "aliased directory",
            d,
            d.args[0].span,
            f'write "location {pattern}/" with "alias {alias}/" '
            f'(or "location = {pattern}" for a single file)',
        )
    if alias.endswith("/"):
        return warn(
            "alias-traversal",
            f'alias "{alias}" ends with "/" but location "{pattern}" does not: '
            f'"{pattern}../" reaches the parent directory',
            d,
            d.args[0].span,
            f'write "location {pattern}/" (or drop the trailing "/" of the alias)',
        )
    return warn(
        "alias-traversal",
        f'location "{pattern}" ends with "/" but alias "{alias}" does not: nginx maps '
        f'"{pattern}x" to "{alias}x", next to the aliased directory',
        d,
        d.args[0].span,
        f'write "alias {alias}/"',
    )


def check_upload_into_cgi(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """An ``upload_store`` at, inside or above a directory where a ``cgi`` rule executes
    files, in any server: upload a script, then GET it (remote code execution)."""
    executed = _cgi_directories(ctx)
    for _server, loc in ctx.scopes():
        if loc.upload_store is None or not loc.span:
            continue
        store = ctx.real(loc.upload_store)
        for d in ctx.own(loc.span, "upload_store"):
            for directory, cgi in executed.items():
                if store == directory:
                    relation = "is"
                elif store.is_relative_to(directory):
                    relation = "is inside"
                elif directory.is_relative_to(store):
                    relation = "holds"
                else:
                    continue
                rule = f"cgi {cgi.args[0].value}"
                yield warn(
                    "upload-into-cgi-dir",
                    f'the upload store "{store}" {relation} "{directory}", where "{rule}" at '
                    f"{cgi.span} executes files: an uploaded script could be run",
                    d,
                    d.args[0].span,
                    "store uploads outside every directory that a cgi location serves, in "
                    "every server",
                )
                break


def _cgi_directories(ctx: LintContext) -> dict[Path, Directive]:
    """Each directory (real path) below which a ``cgi`` rule runs files -> the rule."""
    found: dict[Path, Directive] = {}
    for server, loc in ctx.scopes():
        if not loc.cgi or loc.return_ is not None:
            continue
        node = ctx.written(server, loc, ("cgi",))
        if node is not None:
            found.setdefault(ctx.real(served_dir(loc)), node)
    return found


def check_filesystem_root(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``root /`` or ``alias /`` (or a path that resolves to it): every file is served."""
    for d in list(ctx.by_span.values()):
        if d.name not in ("root", "alias") or not ctx.valid(d):
            continue
        if ctx.real(ctx.resolve(d.args[0].value)) == Path("/"):
            yield warn(
                "serves-filesystem-root",
                f'{d.name} "{d.args[0].value}" serves the whole filesystem '
                "(/etc, home directories, keys)",
                d,
                d.args[0].span,
                f"point {d.name} at the directory that holds the site",
            )


def check_serves_config_dir(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """A location whose static files include the config file itself (and so whatever
    secrets sit next to it)."""
    from framework.routing.locations import LocationMatcher

    source = ctx.config.source
    if source is None:
        return
    config = ctx.real(source)
    reported: set[int] = set()
    matchers: dict[int, LocationMatcher] = {}
    # one pass over the scopes (a pass per server made this quadratic in servers)
    for server, loc in ctx.scopes():
        uri = _uri_of(ctx, loc, config)
        if uri is None:
            continue
        matcher = matchers.get(id(server))
        if matcher is None:
            matcher = matchers[id(server)] = LocationMatcher(server)
        if matcher.match(uri) is not loc or not _maps_to(ctx, loc, uri, config):
            continue
        node = ctx.written(server, loc, ("root", "alias"))
        key = id(node) if node is not None else id(loc)
        if key in reported:
            continue
        reported.add(key)
        yield _config_served(ctx, server, loc, node, uri, config)


def _uri_of(ctx: LintContext, loc: LocationConfig, target: Path) -> str | None:
    """The URI at which ``loc`` would serve ``target`` by its root/alias mapping, if it
    serves files at all; None otherwise."""
    if loc.return_ is not None or not loc.allow_methods & {"GET", "HEAD"}:
        return None
    base = ctx.real(loc.alias if loc.alias is not None else loc.root)
    if base == Path("/") or not target.is_relative_to(base):
        return None  # "/" is serves-filesystem-root's
    rest = target.relative_to(base).as_posix()
    if loc.alias is not None and loc.modifier in ("", "^~", "="):
        if loc.modifier == "=":
            return None
        return loc.pattern + ("" if loc.pattern.endswith("/") else "/") + rest
    return "/" + rest


def _maps_to(ctx: LintContext, loc: LocationConfig, uri: str, target: Path) -> bool:
    from framework.http.errors import HTTPError
    from framework.routing.paths import map_path

    try:
        return ctx.real(map_path(loc, uri)) == target
    except HTTPError:
        return False


def _config_served(
    ctx: LintContext,
    server: ServerConfig,
    loc: LocationConfig,
    node: Directive | None,
    uri: str,
    config: Path,
) -> Diagnostic:
    where = node.args[0].span if node is not None else ctx.block_span(server, loc)
    listing = " and lists it" if loc.autoindex else ""
    return warn(
        "serves-config-dir",
        f"this location serves the directory that holds the config file: GET {uri} returns "
        f'"{config}"{listing}, and any secret stored next to it',
        node,
        where,
        'serve a directory of its own (e.g. "root www;"), not the one holding the config',
    )


def check_upload_not_served(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """A prefix location that stores uploads where its own GET does not look: the
    ``Location`` of every 201 answers 404."""
    for _server, loc in ctx.scopes():
        if (
            loc.upload_store is None
            or not loc.span
            or loc.modifier not in _PREFIX
            or loc.return_ is not None
            or "GET" not in loc.allow_methods
        ):
            continue
        store = ctx.real(loc.upload_store)
        if loc.alias is not None:
            served = ctx.real(loc.alias)
        else:
            served = ctx.real(Path(str(loc.root) + loc.pattern.rstrip("/")))
        if served == store:
            continue
        prefix = loc.pattern.rstrip("/")
        for d in ctx.own(loc.span, "upload_store"):
            written = d.args[0].value.rstrip("/")
            yield warn(
                "upload-not-served",
                f'uploads go to "{store}", but GET {prefix}/NAME reads "{served}/NAME": '
                "the Location of every upload answers 404",
                d,
                d.args[0].span,
                f'serve the store back with "alias {written}/;" in "location {prefix}/", '
                f"or set a root under which {prefix}/ is the store",
            )
