"""Syntax tree -> effective configuration models, with every error reported in one run.

``load_config`` parses a file (or the embedded default), checks every directive against the
table in ``directives.py``, applies inheritance (top level -> server -> location -> nested
location; list directives replace the inherited list; a location's ``return`` is not
inherited), validates handler settings, runs the lints, and returns the ``Config`` together
with all diagnostics. The config is None when there is any error.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Arg, Comment, Directive, Span
from framework.config.directives import (
    BLOCK_CONTEXTS,
    DIRECTIVES,
    DirectiveSpec,
    ParseContext,
)
from framework.config.handler_settings import validate_settings
from framework.config.mime_types import MIME_TYPES
from framework.config.models import (
    Config,
    HandlerSpec,
    Listen,
    LocationConfig,
    ServerConfig,
)
from framework.config.models import shown_address as _address
from framework.config.nginx_directives import nginx_advice
from framework.config.plugin_checks import run_check
from framework.config.values import ValueProblem, compile_regex, joined_unit_suggestion
from framework.registry import (
    HandlerInvalid,
    HandlerRegistry,
    RegistryError,
    ReservedModuleError,
    shadowed_packages,
)

DEFAULT_CONFIG_NAME = "<default>"
#: Unknown names longer than this get no did-you-mean: none can be 60% like a real one (<= 26).
MAX_SUGGESTED_LENGTH = 64


@dataclass
class LoadResult:
    """The outcome of ``load_config``: ``config`` is None when any diagnostic is an error."""

    config: Config | None
    diagnostics: list[Diagnostic]
    sources: dict[str, str]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


@dataclass
class Level:
    """The directives written at one level (top level, a server or a location)."""

    global_: dict[str, Any] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)
    location: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, list[Directive]] = field(default_factory=dict)
    servers: list[Directive] = field(default_factory=list)
    locations: list[Directive] = field(default_factory=list)
    handlers: list[Directive] = field(default_factory=list)
    listens: list[Listen] = field(default_factory=list)
    server_names: list[str] = field(default_factory=list)


def default_config_text() -> str:
    """The embedded default config (``framework/default.conf``)."""
    return resources.files("framework").joinpath("default.conf").read_text(encoding="utf-8")


def load_config(
    path: Path | str | None,
    *,
    env: dict[str, str] | None = None,
    check_fs: bool = True,
    registry: HandlerRegistry | None = None,
    serving: bool = False,
    prefix: Path | None = None,
) -> LoadResult:
    """Parse, validate and build the configuration at ``path`` (None: the embedded default,
    serving the current directory). ``serving``: loaded to be served (``run``, reload), where
    the errors in ``SERVABLE_ERRORS`` are warnings: nginx serves them, and refusing would
    take every virtual host down for one. ``prefix`` (``--prefix``, like ``nginx -p``): the
    directory relative paths and includes resolve against, instead of the file's own."""
    from config_grammar.parser import parse_file, parse_text

    if path is None:
        base_dir = Path.cwd()
        parsed = parse_text(default_config_text(), DEFAULT_CONFIG_NAME, env=env, base_dir=base_dir)
        source = None
    else:
        source = Path(path).absolute()
        base_dir = prefix.absolute() if prefix is not None else source.parent
        if _is_device_or_directory(source):  # /dev/zero would be read forever
            message = f"cannot read {path}: not a regular file"
            return LoadResult(None, [Diagnostic("error", "unreadable-file", message)], {})
        try:  # spans name the file as the user wrote it
            parsed = parse_file(path, env=env, base_dir=prefix)
        except OSError as exc:  # bytes that are not UTF-8 are diagnostics, not an exception
            message = f"cannot read {path}: {exc.strerror or exc}"
            return LoadResult(None, [Diagnostic("error", "unreadable-file", message)], {})
    try:
        config, diagnostics = build_config(
            parsed.nodes,
            base_dir=base_dir,
            source=source,
            check_fs=check_fs,
            registry=registry,
            diagnostics=list(parsed.diagnostics),
            serving=serving,
        )
    except Exception as exc:  # a bug must still come out as a diagnostic, never a traceback
        config, diagnostics = None, [*parsed.diagnostics, internal_error(exc)]
    sources = dict(parsed.sources)
    return LoadResult(config, sort_diagnostics(diagnostics, sources), sources)


def _is_device_or_directory(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False  # reported when reading it
    return stat.S_ISDIR(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode)


def internal_error(exc: BaseException, where: str = "validating the configuration") -> Diagnostic:
    """A diagnostic for an unexpected exception (a bug in webserv, not in the config)."""
    return Diagnostic(
        "error",
        "internal-error",
        f"internal error while {where}: {type(exc).__name__}: {exc}",
        None,
        "this is a bug in webserv; please report it with the config that triggers it",
    )


def sort_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str]) -> list[Diagnostic]:
    """Source order: files as first read (the main file first), then line and column;
    diagnostics without a location first. A finding repeated at one place (in a file that
    several servers include) is reported once, with a note naming the other includes."""
    order = {name: i for i, name in enumerate(sources)}

    def key(d: Diagnostic) -> tuple[int, int, int]:
        if d.span is None:
            return (-1, 0, 0)
        return (order.get(d.span.file, len(order)), d.span.line, d.span.col)

    first: dict[tuple[str, str, Span], Diagnostic] = {}
    unique = []
    for d in diagnostics:
        if d.span is None:
            unique.append(d)
            continue
        seen = first.setdefault((d.rule, d.message, d.span), d)
        if seen is d:
            unique.append(d)
            continue
        other = next((s for s in reversed(d.include_chain) if s not in seen.include_chain), None)
        if other is not None and f"also included from {other}" not in seen.notes:
            seen.notes.append(f"also included from {other}")
    return sorted(unique, key=key)


def build_config(
    nodes: list[Directive | Comment],
    *,
    base_dir: Path,
    source: Path | None = None,
    check_fs: bool = True,
    registry: HandlerRegistry | None = None,
    diagnostics: list[Diagnostic] | None = None,
    serving: bool = False,
) -> tuple[Config | None, list[Diagnostic]]:
    """Build the effective ``Config`` from parsed nodes; returns (config or None, diagnostics
    including lint warnings)."""
    from framework.config.lint import run_lints

    builder = ConfigBuilder(base_dir, registry, check_fs=check_fs)
    if diagnostics:
        if not check_fs:  # whether an include glob's directory exists is about this machine
            diagnostics = [d for d in diagnostics if d.rule != "include-empty-glob"]
        builder.diagnostics[:0] = diagnostics
    config = builder.build(nodes, source)
    if config is not None:
        builder.diagnostics.extend(
            run_lints(config, nodes, check_fs=check_fs, accepted=builder.accepted)
        )
    if serving:
        for d in builder.diagnostics:
            if d.rule in SERVABLE_ERRORS and d.severity == "error":
                d.severity = "warning"
    failed = config is None or any(d.severity == "error" for d in builder.diagnostics)
    return (None if failed else config), builder.diagnostics


SERVABLE_ERRORS = frozenset({"tls-certificate-expired"})
"""Errors for ``validate-config`` that ``run`` serves anyway (as warnings), as nginx does."""


class ConfigBuilder:
    """Walks the syntax tree once, collecting diagnostics instead of stopping at the first."""

    def __init__(
        self, base_dir: Path, registry: HandlerRegistry | None = None, *, check_fs: bool = True
    ) -> None:
        if registry is None:
            from framework.registry import registry as global_registry

            registry = global_registry
        self.registry = registry
        self.base_dir = base_dir
        self.check_fs = check_fs  # False under --no-fs: handlers' checks skip the filesystem
        self.invalid_handlers: set[str] = set()  # reported at load_module: no unknown-handler
        self.ctx = ParseContext(base_dir)
        self.diagnostics: list[Diagnostic] = []
        self.accepted: set[int] = set()  # id() of every directive that passed validation
        # id() of each server whose every listen was rejected: its stand-in default listen
        # must not take part in conflict checks (a phantom "conflicting server name")
        self.listen_rejected: set[int] = set()

    # -- diagnostics -----------------------------------------------------------------------
    def error(
        self,
        rule: str,
        message: str,
        span: Span | None,
        hint: str | None = None,
        node: Directive | None = None,
    ) -> None:
        chain = node.include_chain if node is not None else ()
        self.diagnostics.append(Diagnostic("error", rule, message, span, hint, chain))

    # -- the walk ----------------------------------------------------------------------------
    def build(self, nodes: list[Directive | Comment], source: Path | None) -> Config | None:
        top = Level()
        self.ctx = replace(self.ctx, log_formats=_log_format_names(nodes))
        self.collect(top, nodes, "main")
        self.load_modules(top)
        try:
            main_location = LocationConfig(root=self.ctx.path("html"), types=MIME_TYPES)
            main_location = derive(main_location, self.overrides(top))
            servers = [self.build_server(d, main_location, top.server) for d in top.servers]
            self.check_listen_conflicts(servers)
            return Config(source=source, servers=servers, **top.global_)
        except ValidationError as exc:  # a value parser let something through: report it
            self.error("internal-error", f"invalid configuration: {exc}", None)
            return None

    def collect(self, level: Level, nodes: list[Directive | Comment], kind: str) -> None:
        """Check each directive of a block (kind: main, server, location) and record it."""
        allowed = BLOCK_CONTEXTS[kind]
        for d in nodes:
            if not isinstance(d, Directive) or d.unexpanded:  # its ${VAR} error is reported
                continue
            spec = DIRECTIVES.get(d.name)
            if spec is None:
                self.unknown_directive(d, allowed)
                continue
            if not spec.contexts & allowed:
                self.error(
                    "not-allowed-here",
                    f'"{d.name}" directive is not allowed here',
                    d.name_span,
                    f'"{d.name}" is allowed in: {spec.context_text()}',
                    d,
                )
                continue
            if not self.check_shape(d, spec):
                continue
            if d.name == "http" and kind == "http":
                self.error("not-allowed-here", '"http" directive is not allowed here',
                           d.name_span, "the http wrapper cannot be nested", d)  # fmt: skip
                continue
            if spec.combine == "scalar":
                earlier = level.nodes.get(d.name)
                if earlier:
                    self.error(
                        "duplicate-directive",
                        f'"{d.name}" directive is duplicate',
                        d.name_span,
                        f"first set at {earlier[0].span}",
                        d,
                    )
                    continue
            level.nodes.setdefault(d.name, []).append(d)
            self.record(level, d, spec, kind)
        if "root" in level.nodes and "alias" in level.nodes:
            alias = level.nodes["alias"][0]
            self.error(
                "root-with-alias",
                '"alias" directive cannot be used together with "root" in one location',
                alias.name_span,
                f'"root" is set at {level.nodes["root"][0].span}; keep only one of them',
                alias,
            )

    def record(self, level: Level, d: Directive, spec: DirectiveSpec, kind: str) -> None:
        if d.name == "http":
            self.collect(level, d.block or [], "http")
            return
        if d.name == "server":
            level.servers.append(d)
            return
        if d.name == "location":
            level.locations.append(d)
            return
        if d.name == "handler":
            level.handlers.append(d)
            return
        if spec.parse is None:  # include (already resolved by the parser)
            return
        try:
            value = spec.parse(d, self.ctx)
        except ValueProblem as problem:
            self.error(problem.rule, problem.message, problem.span or d.span, problem.hint, d)
            return
        finally:
            for said in self.ctx.warnings:
                self.diagnostics.append(
                    Diagnostic("warning", said.rule, said.message, said.span or d.span,
                               said.hint, d.include_chain)
                )  # fmt: skip
            self.ctx.warnings.clear()
        self.accepted.add(id(d))
        if d.name == "listen":
            level.listens.append(value)
            return
        if d.name == "server_name":
            level.server_names.extend(value)
            return
        assert spec.scope is not None and spec.field is not None
        target = {"global": level.global_, "server": level.server, "location": level.location}[
            spec.scope
        ]
        if spec.combine == "scalar":
            target[spec.field] = value
        elif spec.combine == "append":
            target.setdefault(spec.field, []).append(value)
        elif spec.combine == "extend":
            target.setdefault(spec.field, []).extend(value)
        else:
            target.setdefault(spec.field, {}).update(value)

    def check_shape(self, d: Directive, spec: DirectiveSpec) -> bool:
        """Block presence and argument count."""
        if spec.block == "required" and d.block is None:
            written = " ".join([d.name, *(arg.raw for arg in d.args)])
            self.error(
                "missing-block",
                f'directive "{d.name}" has no opening "{{"',
                d.span,
                f"write `{written} {{ ... }}`" if d.args else f"usage: {spec.usage}",
                d,
            )
            return False
        if spec.block == "none" and d.block is not None:
            self.error(
                "unexpected-block",
                f'"{d.name}" directive does not take a block',
                d.span,
                f"usage: {spec.usage}",
                d,
            )
            return False
        for arg in d.args:
            if "\x00" in arg.value:
                self.error(
                    "invalid-value",
                    f'NUL character in an argument of "{d.name}" directive',
                    arg.span,
                    "remove the NUL byte (it cannot be part of a path or a name)",
                    d,
                )
                return False
        count = len(d.args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            hint = f"usage: {spec.usage}"
            if count == 2 and spec.usage.endswith((" TIME;", " SIZE;")):
                joined = joined_unit_suggestion(d.args[0], d.args[1])
                if joined is not None:
                    hint = f'did you mean "{joined}"? (no space between a number and its unit)'
            self.error(
                "invalid-arg-count",
                f'invalid number of arguments in "{d.name}" directive',
                d.span,
                hint,
                d,
            )
            return False
        return True

    def unknown_directive(self, d: Directive, allowed: frozenset[str]) -> None:
        """``unknown-directive`` (or ``unsupported-nginx-directive`` for a name nginx knows).
        Did-you-mean compares case-insensitively and only offers names ``allowed`` here."""
        advice = nginx_advice(d.name)
        if advice is not None:
            kind, hint = advice
            what = {"not-needed": "does not need", "ignored": "ignores",
                    "unsupported": "does not support"}[kind]  # fmt: skip
            self.diagnostics.append(
                Diagnostic(
                    "error" if kind == "unsupported" else "warning",
                    "unsupported-nginx-directive",
                    f'"{d.name}" is an nginx directive that webserv {what}',
                    d.name_span,
                    hint,
                    d.include_chain,
                )
            )
            return
        lowered = d.name.lower()
        here = [name for name, spec in DIRECTIVES.items() if spec.contexts & allowed]
        # no real name is near a very long one, and difflib is quadratic in its length
        close = (
            difflib.get_close_matches(lowered, list(DIRECTIVES), n=1, cutoff=0.6)
            if len(lowered) <= MAX_SUGGESTED_LENGTH
            else []
        )
        if d.name in self.registry:
            hint: str | None = f"to enable the handler, write `handler {d.name};`"
        elif "${" in d.name:
            hint = "environment variables are expanded in arguments, not in directive names"
        elif lowered != d.name and (lowered in here or nginx_advice(lowered)):
            hint = f'did you mean "{lowered}"? (directive names are lowercase)'
        elif lowered in DIRECTIVES:  # a real name in the wrong case and the wrong block
            where = DIRECTIVES[lowered].context_text()
            hint = f'directive names are lowercase, and "{lowered}" is allowed in: {where}'
        elif close and close[0] in here:
            hint = f'did you mean "{close[0]}"?'
        elif close:  # the likely intent belongs elsewhere: say so rather than offer a lookalike
            where = DIRECTIVES[close[0]].context_text()
            hint = f'"{close[0]}" is not allowed in this block (allowed in: {where})'
        else:
            hint = None
        self.error("unknown-directive", f'unknown directive "{d.name}"', d.name_span, hint, d)

    # -- modules and handlers ------------------------------------------------------------------
    def load_modules(self, top: Level) -> None:
        import handlers  # noqa: F401  (registers the built-in handlers)

        for name, path in shadowed_packages():
            self.error(
                "shadowed-package",
                f'webserv\'s own "{name}" package was imported from "{path}" instead: a '
                "directory before webserv on sys.path (the current directory, PYTHONPATH) "
                "holds one of that name",
                None,
                f"{ReservedModuleError.hint}; rename that package, or run from another directory",
            )
        reserved = frozenset(DIRECTIVES) - set(self.registry.names())
        if str(self.base_dir) not in sys.path:
            sys.path.append(str(self.base_dir))  # plugins may sit next to the config
        for d in top.nodes.get("load_module", []):
            name = d.args[0].value
            try:
                self.registry.load_module(name, reserved=reserved, search_paths=[self.base_dir])
            except HandlerInvalid as exc:
                self.error("handler-invalid", str(exc), d.args[0].span, None, d)
                self.invalid_handlers.update(exc.names)
            except RegistryError as exc:
                self.error("handler-name-clash", str(exc), d.args[0].span, None, d)
            except (Exception, SystemExit) as exc:  # any import-time failure: a config error
                reason = f"it called sys.exit({exc.code})" if isinstance(exc, SystemExit) else exc
                hint = (
                    ReservedModuleError.hint
                    if isinstance(exc, ReservedModuleError)
                    else "the module must be importable (installed, or next to the config file)"
                )
                self.error(
                    "load-module-failed",
                    f'cannot load module "{name}": {reason}',
                    d.args[0].span,
                    hint,
                    d,
                )
        try:
            self.registry.load_entry_points(reserved=reserved)
        except Exception as exc:
            self.error("handler-name-clash", f"cannot load installed handler: {exc}", None)

    def handler_spec(self, d: Directive) -> HandlerSpec | None:
        name = d.args[0].value
        cls = self.registry.get(name)
        if cls is None and name in self.invalid_handlers:
            return None
        if cls is None:
            installed = self.registry.names()
            close = difflib.get_close_matches(name, installed, n=1, cutoff=0.6)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            hint += "installed handlers: " + (", ".join(installed) or "none")
            self.error("unknown-handler", f'unknown handler "{name}"', d.args[0].span, hint, d)
            return None
        settings = validate_settings(d, cls.Settings, self.diagnostics, self.base_dir)
        if settings is None:
            return None
        self.diagnostics.extend(
            run_check(cls, settings, d, base_dir=self.base_dir, check_fs=self.check_fs)
        )
        return HandlerSpec(name=name, settings=settings, span=d.span)

    # -- inheritance ---------------------------------------------------------------------------
    def overrides(self, level: Level) -> dict[str, Any]:
        """The location fields a level sets itself (its handlers validated): list directives
        replace the inherited list; ``root`` cancels an inherited ``alias``."""
        own = dict(level.location)
        if "root" in own:
            own["alias"] = None
        if level.handlers:
            specs = [self.handler_spec(d) for d in level.handlers]
            own["handlers"] = [s for s in specs if s is not None]
        return own

    def build_server(
        self, d: Directive, main_location: LocationConfig, main_server: dict[str, Any]
    ) -> ServerConfig:
        level = Level()
        self.collect(level, d.block or [], "server")
        listens = level.listens or [Listen(span=d.span)]
        seen: dict[tuple[str, int], Listen] = {}
        unique = []
        for listen in listens:
            first = seen.get(listen.address)
            if first is not None:
                self.error(
                    "duplicate-listen",
                    f"duplicate listen {_address(listen.address)}",
                    listen.span,
                    f"first listed at {first.span}",
                )
                continue
            seen[listen.address] = listen
            unique.append(listen)
        # a server-level return runs before location matching (nginx's server rewrite
        # phase), so it reaches every location, nested ones included
        context = derive(main_location, self.overrides(level))
        locations = self.build_locations(level.locations, context, None)
        _set_built(context, children=[])
        server_fields = {**main_server, **level.server}
        server = ServerConfig(
            listens=unique,
            server_names=list(dict.fromkeys(level.server_names)) or [""],
            span=d.span,
            context=context,
            locations=locations,
            **server_fields,
        )
        if not level.listens and any(c.name == "listen" for c in d.children):
            self.listen_rejected.add(id(server))
        return server

    def build_locations(
        self,
        nodes: list[Directive],
        inherited: LocationConfig,
        parent: tuple[str, str] | None,
    ) -> list[LocationConfig]:
        built = []
        seen: dict[tuple[str, str], Directive] = {}
        for d in nodes:
            parsed = self.location_args(d)
            if parsed is None:
                continue
            modifier, pattern, regex = parsed
            if modifier in ("", "^~", "="):
                key = ("=" if modifier == "=" else "prefix", pattern)
                if key in seen:
                    self.error(
                        "duplicate-location",
                        f'duplicate location "{pattern}"',
                        d.args[-1].span,
                        f"first defined at {seen[key].span}",
                        d,
                    )
                    continue
                seen[key] = d
            if parent is not None and not self.check_nesting(d, parent, modifier, pattern):
                continue
            level = Level()
            self.collect(level, d.block or [], "location")
            own = self.overrides(level)
            if parent is not None and "alias" not in own:
                rebased = _rebased_alias(inherited.alias, parent, modifier, pattern)
                if rebased is not None:
                    own["alias"] = rebased
            return_ = own.pop("return_", None)  # a location's return is not inherited
            location = derive(inherited, own)  # first the template of the nested locations
            children = self.build_locations(level.locations, location, (modifier, pattern))
            if "return_" in level.location:  # the children hold copies: it can change now
                _VALIDATOR.validate_assignment(location, "return_", return_)
            _set_built(
                location, modifier=modifier, pattern=pattern, span=d.span, regex=regex,
                children=children,
            )  # fmt: skip
            built.append(location)
        return built

    def location_args(self, d: Directive) -> tuple[str, str, Any] | None:
        if len(d.args) == 2:
            modifier, pattern_arg = d.args[0].value, d.args[1]
            if modifier not in ("=", "^~", "~", "~*"):
                self.error(
                    "invalid-location",
                    f'invalid location modifier "{modifier}"',
                    d.args[0].span,
                    'the modifier is one of "=", "^~", "~", "~*"',
                    d,
                )
                return None
            pattern = pattern_arg.value
        else:
            pattern_arg = d.args[0]
            text = pattern_arg.value
            modifier = next((m for m in ("~*", "^~", "~", "=") if text.startswith(m)), "")
            pattern = text[len(modifier) :]
        if not pattern:
            self.error(
                "invalid-location",
                "location pattern is empty",
                pattern_arg.span,
                "usage: location [=|^~|~|~*] PATTERN { ... }",
                d,
            )
            return None
        if pattern.startswith("@") and modifier == "":
            self.error(
                "unsupported-feature",
                f'named location "{pattern}" is not supported',
                pattern_arg.span,
                "use a prefix location such as /errors/ and point error_page at a URI in it",
                d,
            )
            return None
        if modifier in ("~", "~*"):
            try:
                flags = re.IGNORECASE if modifier == "~*" else 0
                regex_arg = Arg(pattern, pattern_arg.span, pattern_arg.raw)
                return modifier, pattern, compile_regex(regex_arg, "location", flags)
            except ValueProblem as problem:
                self.error(problem.rule, problem.message, problem.span, problem.hint, d)
                return None
        return modifier, pattern, None

    def check_nesting(
        self, d: Directive, parent: tuple[str, str], modifier: str, pattern: str
    ) -> bool:
        parent_modifier, parent_pattern = parent
        if parent_modifier == "=":
            self.error(
                "location-outside-parent",
                f'location "{pattern}" cannot be inside the exact location "{parent_pattern}"',
                d.args[-1].span,
                "an exact location matches one URI only; move this location out",
                d,
            )
            return False
        if modifier not in ("~", "~*") and not pattern.startswith(parent_pattern):
            self.error(
                "location-outside-parent",
                f'location "{pattern}" is outside location "{parent_pattern}"',
                d.args[-1].span,
                f'a nested prefix location must start with "{parent_pattern}"',
                d,
            )
            return False
        return True

    # -- checks across servers -------------------------------------------------------------------
    def check_listen_conflicts(self, servers: list[ServerConfig]) -> None:
        defaults: dict[tuple[str, int], Listen] = {}
        names: dict[tuple[tuple[str, int], str], ServerConfig] = {}
        for server in servers:
            if id(server) in self.listen_rejected:
                continue
            for listen in server.listens:
                if listen.default_server:
                    first = defaults.get(listen.address)
                    if first is not None:
                        self.error(
                            "duplicate-default-server",
                            f"a duplicate default server for {_address(listen.address)}",
                            listen.span,
                            f"the default server is already set at {first.span}",
                        )
                    else:
                        defaults[listen.address] = listen
                for name in server.server_names:
                    key = (listen.address, name.lower())
                    other = names.get(key)
                    if other is not None and other is not server:
                        # two unnamed servers on one address is what nginx only warns about
                        self.diagnostics.append(
                            Diagnostic(
                                "error" if name else "warning",
                                "conflicting-server-name",
                                f'conflicting server name "{name}" on {_address(listen.address)}',
                                listen.span or server.span,
                                f"the server at {other.span} already answers this name here",
                            )
                        )
                    else:
                        names[key] = server


def _log_format_names(nodes: list[Directive | Comment]) -> frozenset[str]:
    """The names nginx ``log_format`` directives define (at the top level or in ``http``)."""
    names = set()
    for d in nodes:
        if isinstance(d, Directive) and d.name == "log_format" and d.args:
            names.add(d.args[0].value)
        elif isinstance(d, Directive) and d.name == "http":
            names |= _log_format_names(d.block or [])
    return frozenset(names)


def _rebased_alias(
    alias: Path | None, parent: tuple[str, str], modifier: str, pattern: str
) -> Path | None:
    """The inherited ``alias`` as a nested location must see it, or None when unchanged.

    nginx strips the prefix of the location that *declared* the alias: under
    ``location /f/ { alias data/; }`` a nested ``/f/own/`` maps ``/f/own/x`` to
    ``data/own/x``. Our path mapping strips the matching location's own prefix, so the
    inherited alias is extended by the nested prefix's extra part."""
    parent_modifier, parent_pattern = parent
    if alias is None or parent_modifier not in ("", "^~") or modifier not in ("", "^~", "="):
        return None
    extra = pattern[len(parent_pattern) :].strip("/")
    return Path(os.path.normpath(f"{alias}/{extra}")) if extra else None


_VALIDATOR = LocationConfig.__pydantic_validator__


def derive(template: LocationConfig, own: dict[str, Any]) -> LocationConfig:
    """A location with ``template``'s effective settings and ``own`` over them.

    Only ``own`` is validated. The inherited values are shared with ``template``, not copied
    or validated again: a config of 100k locations would otherwise hold 100k copies of the
    62-entry ``types`` table and of every other container (issue 12). Nothing changes a
    built location's containers in place. Raises ``ValidationError`` for an invalid value.
    """
    location = template.model_copy()
    for name, value in own.items():
        _VALIDATOR.validate_assignment(location, name, value)
    return location


def _set_built(location: LocationConfig, **values: Any) -> None:
    """Set fields the builder made itself (pattern, span, compiled regex, children) without
    validating them again."""
    location.__dict__.update(values)
    location.__pydantic_fields_set__.update(values)
