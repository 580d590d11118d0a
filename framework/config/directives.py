"""The directive table: every directive of the configuration language in one data-driven place.

Each ``DirectiveSpec`` says where a directive may appear (contexts G/H/S/L of SPEC 4.2), how
many arguments it takes, whether it has a block, how its value is parsed, which model field
receives it, and how repeated occurrences at one level combine (scalars: duplicate error;
lists: accumulate, then replace the inherited list).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from config_grammar.tree import Arg, Directive
from framework.config.models import AccessLog, CgiRule, ErrorLog, ErrorPage, Listen, Return
from framework.config.values import (
    REDIRECT_CODES,
    ValueProblem,
    compile_regex,
    is_decimal,
    parse_choice,
    parse_flag,
    parse_int,
    parse_listen_address,
    parse_method,
    parse_size,
    parse_status,
    parse_time,
    python_regex_source,
)

Context = Literal["G", "H", "S", "L"]
Scope = Literal["global", "server", "location"]
Combine = Literal["scalar", "append", "extend", "update"]

# which context letters each kind of block accepts
BLOCK_CONTEXTS: dict[str, frozenset[str]] = {
    "main": frozenset({"G", "H"}),
    "http": frozenset({"G", "H"}),  # the optional wrapper: same as the top level
    "server": frozenset({"S"}),
    "location": frozenset({"L"}),
}
CONTEXT_NAMES = {"G": "top level", "H": "top level", "S": "server", "L": "location"}


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What value parsers need besides the directive: relative paths resolve against
    ``base_dir`` (the main config file's directory)."""

    base_dir: Path

    def path(self, value: str) -> Path:
        return Path(os.path.normpath(self.base_dir / value))

    def path_arg(self, arg: Arg, directive: str) -> Path:
        """``arg`` as an absolute path; an empty one is an error (it would silently mean
        the config directory)."""
        if not arg.value:
            raise ValueProblem(
                "invalid-value",
                f'empty path in "{directive}" directive',
                arg.span,
                'write "." to mean the config file\'s directory',
            )
        return self.path(arg.value)


ValueParser = Callable[[Directive, ParseContext], Any]


@dataclass(frozen=True, slots=True)
class DirectiveSpec:
    """One row of the directive table."""

    name: str
    contexts: frozenset[str]
    usage: str  # shown in hints and the schema
    min_args: int = 1
    max_args: int | None = 1  # None: unbounded
    block: Literal["none", "required", "optional"] = "none"
    parse: ValueParser | None = None  # None: structural, handled by the builder
    scope: Scope | None = None
    field: str | None = None
    combine: Combine = "scalar"
    default: str = ""
    summary: str = ""

    def context_text(self) -> str:
        names = dict.fromkeys(CONTEXT_NAMES[c] for c in "GHSL" if c in self.contexts)
        return ", ".join(names)


# -- value parsers ------------------------------------------------------------------------


def _first(d: Directive) -> Arg:
    return d.args[0]


def _size(d: Directive, _: ParseContext) -> int:
    return parse_size(_first(d), d.name)


def _time(d: Directive, _: ParseContext) -> float:
    return parse_time(_first(d), d.name)


def _flag(d: Directive, _: ParseContext) -> bool:
    return parse_flag(_first(d), d.name)


def _path(d: Directive, ctx: ParseContext) -> Path:
    return ctx.path_arg(_first(d), d.name)


def _string(d: Directive, _: ParseContext) -> str:
    return _first(d).value


def _choice(*choices: str) -> ValueParser:
    def parse(d: Directive, _: ParseContext) -> str:
        return parse_choice(_first(d), d.name, choices)

    return parse


MAX_WORKERS = 1024
MAX_CONNECTIONS = 1 << 20  # the usual hard limit of open files per process


def _connections(d: Directive, _: ParseContext) -> int:
    return parse_int(_first(d), d.name, minimum=1, maximum=MAX_CONNECTIONS)


def _workers(d: Directive, _: ParseContext) -> int:
    if _first(d).value == "auto":
        return os.cpu_count() or 1
    try:
        return parse_int(_first(d), d.name, minimum=1, maximum=MAX_WORKERS)
    except ValueProblem as problem:
        problem.hint = f'a number of processes (1 to {MAX_WORKERS}), or "auto" for one per CPU'
        raise


def _error_log(d: Directive, ctx: ParseContext) -> ErrorLog:
    target = d.args[0].value
    level = "warn"
    if len(d.args) > 1:
        level = parse_choice(d.args[1], d.name, ("debug", "info", "warn", "error"))
    if target == "stderr":
        return ErrorLog(target="stderr", level=level)
    return ErrorLog(target=ctx.path_arg(d.args[0], d.name), level=level)


def _access_log(d: Directive, ctx: ParseContext) -> AccessLog:
    target = d.args[0].value
    fmt = "combined"
    if len(d.args) > 1:
        fmt = parse_choice(d.args[1], d.name, ("combined", "json"))
    if target in ("stdout", "off"):
        return AccessLog(target=target, format=fmt)
    return AccessLog(target=ctx.path_arg(d.args[0], d.name), format=fmt)


def _listen(d: Directive, _: ParseContext) -> Listen:
    host, port = parse_listen_address(d.args[0])
    default = False
    for arg in d.args[1:]:
        if arg.value in ("default_server", "default"):
            default = True
        else:
            raise ValueProblem(
                "invalid-value",
                f'invalid parameter "{arg.value}" in "listen" directive',
                arg.span,
                'the only parameter after the address is "default_server"',
            )
    return Listen(host=host, port=port, default_server=default, span=d.span)


def _server_name(d: Directive, _: ParseContext) -> list[str]:
    names = []
    for arg in d.args:
        name = arg.value
        if name.startswith("~"):
            compile_regex(Arg(name[1:], arg.span, arg.raw, arg.quoted), d.name)
            names.append("~" + python_regex_source(name[1:]))  # what routing compiles
        else:
            names.append(name.lower())
    return names


def _index(d: Directive, _: ParseContext) -> list[str]:
    for arg in d.args:
        if not arg.value:
            raise ValueProblem(
                "invalid-value", 'index "" in "index" directive is invalid', arg.span
            )
    return [arg.value for arg in d.args]


def _methods(d: Directive, _: ParseContext) -> frozenset[str]:
    return frozenset(parse_method(arg, d.name) for arg in d.args)


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://", "/"))


def _return(d: Directive, _: ParseContext) -> Return:
    first = d.args[0]
    if len(d.args) == 1 and not is_decimal(first.value):
        if not _is_url(first.value):
            raise ValueProblem(
                "invalid-status",
                f'invalid return code "{first.value}"',
                first.span,
                "write `return CODE [URL|TEXT];` or `return http://...;`",
            )
        return Return(status=302, url=first.value)
    code = first.value
    if not is_decimal(code) or not 100 <= int(code) <= 599:
        raise ValueProblem(
            "invalid-status",
            f'invalid return code "{code}"',
            first.span,
            "a return code is a number from 100 to 599",
        )
    status = int(code)
    rest = d.args[1].value if len(d.args) > 1 else None
    if status in REDIRECT_CODES:
        if not rest:
            raise ValueProblem(
                "invalid-arg-count",
                f'"return {status}" has no URL to redirect to',
                d.span,
                f"write `return {status} /new/path;` or `return {status} https://host/path;`",
            )
        return Return(status=status, url=rest)
    return Return(status=status, text=rest)


def _error_page(d: Directive, _: ParseContext) -> dict[int, ErrorPage]:
    *codes, uri = d.args
    override = None
    if codes and codes[-1].value.startswith("="):
        arg = codes.pop()
        value = arg.value[1:]
        override = parse_status(Arg(value, arg.span, arg.raw, arg.quoted), d.name, 100, 599)
    if not codes:
        raise ValueProblem(
            "invalid-arg-count",
            'invalid number of arguments in "error_page" directive',
            d.span,
            "usage: error_page CODE ... [=NEW] URI;",
        )
    pages = {}
    for arg in codes:
        code = parse_status(arg, d.name, 300, 599)
        pages[code] = ErrorPage(uri=uri.value, status_override=override)
    if uri.value.startswith("@"):
        raise ValueProblem(
            "unsupported",
            f'named location "{uri.value}" in "error_page" directive is not supported',
            uri.span,
            "give the page's URI, e.g. /errors/404.html, and serve it from a location",
        )
    if not uri.value.startswith(("/", "http://", "https://")):
        raise ValueProblem(
            "invalid-value",
            f'invalid URI "{uri.value}" in "error_page" directive',
            uri.span,
            "the page is a URI starting with / (served by internal redirect) or an http(s) URL",
        )
    return pages


def _cgi(d: Directive, ctx: ParseContext) -> CgiRule:
    args = list(d.args)
    virtual = False
    if len(args) > 1 and args[-1].value == "virtual":
        virtual = True
        args.pop()
    if len(args) > 2:
        raise ValueProblem(
            "invalid-arg-count",
            'invalid number of arguments in "cgi" directive',
            d.span,
            "usage: cgi EXT [INTERPRETER] [virtual];",
        )
    ext = args[0]
    if not ext.value.startswith(".") or len(ext.value) < 2 or "/" in ext.value:
        raise ValueProblem(
            "invalid-value",
            f'invalid extension "{ext.value}" in "cgi" directive',
            ext.span,
            f'an extension starts with a dot, e.g. ".{ext.value.lstrip(".") or "py"}"',
        )
    interpreter: Path | None = None
    if len(args) == 2:
        value = args[1].value
        if not value:
            raise ValueProblem(
                "invalid-value",
                'empty interpreter in "cgi" directive',
                args[1].span,
                "give the interpreter's path or command name, or leave it out to exec the file",
            )
        if "/" in value:
            interpreter = ctx.path(value)
        else:  # a bare command name is looked up in PATH once, at startup
            found = shutil.which(value)
            interpreter = Path(found) if found else Path(value)
    return CgiRule(extension=ext.value.lower(), interpreter=interpreter, virtual=virtual)


def _types(d: Directive, _: ParseContext) -> dict[str, str]:
    table: dict[str, str] = {}
    for entry in d.children:
        if not entry.args:
            raise ValueProblem(
                "invalid-arg-count",
                f'invalid number of arguments in "types" entry "{entry.name}"',
                entry.span,
                "each entry is `MIME EXT ...;`, e.g. `text/html html htm;`",
            )
        if entry.block is not None or "/" not in entry.name:
            raise ValueProblem(
                "invalid-value",
                f'invalid MIME type "{entry.name}" in "types" block',
                entry.name_span,
                "each entry is `MIME EXT ...;`, e.g. `text/html html htm;`",
            )
        for arg in entry.args:
            extension = arg.value.lstrip(".").lower()
            if not extension:
                raise ValueProblem(
                    "invalid-value",
                    f'empty extension for "{entry.name}" in "types" block',
                    arg.span,
                    "each entry is `MIME EXT ...;`, e.g. `text/html html htm;`",
                )
            table[extension] = entry.name
    return table


def _upload_store(d: Directive, ctx: ParseContext) -> Path:
    return ctx.path_arg(_first(d), d.name)


# -- the table ----------------------------------------------------------------------------

G, H, S, L = "G", "H", "S", "L"


def _spec(name: str, contexts: str, usage: str, **kw: Any) -> DirectiveSpec:
    return DirectiveSpec(name=name, contexts=frozenset(contexts), usage=usage, **kw)


# fmt: off
_SPECS = [
    # global
    _spec("workers", G, "workers N|auto;", parse=_workers, scope="global", field="workers",
          default="1", summary="worker processes"),
    _spec("event_loop", G, "event_loop auto|asyncio|uvloop;",
          parse=_choice("auto", "asyncio", "uvloop"), scope="global", field="event_loop",
          default="auto", summary="event loop implementation"),
    _spec("error_log", G, "error_log PATH|stderr [debug|info|warn|error];", max_args=2,
          parse=_error_log, scope="global", field="error_log", default="stderr warn",
          summary="where errors are logged, and from which level"),
    _spec("pid", G, "pid PATH;", parse=_path, scope="global", field="pid",
          summary="file to write the master's PID to"),
    _spec("shutdown_timeout", G, "shutdown_timeout TIME;", parse=_time, scope="global",
          field="shutdown_timeout", default="30s", summary="graceful-stop deadline"),
    _spec("load_module", G, "load_module PYTHON.MODULE;", parse=_string, scope="global",
          field="load_modules", combine="append",
          summary="import a module that registers handlers"),
    _spec("max_connections", G, "max_connections N;", parse=_connections, scope="global",
          field="max_connections", default="1024", summary="connection limit per worker"),
    # structure
    _spec("http", G, "http { ... }", min_args=0, max_args=0, block="required",
          summary="optional wrapper; means the same as the top level"),
    _spec("server", H, "server { ... }", min_args=0, max_args=0, block="required",
          combine="append",
          summary="a virtual server"),
    _spec("include", "GHSL", "include PATH|GLOB;", combine="append",
          summary="include other files"),
    _spec("listen", S, "listen [ADDR:]PORT [default_server];", max_args=2, parse=_listen,
          combine="append", default="0.0.0.0:8080", summary="address and port to listen on"),
    _spec("server_name", S, "server_name NAME ...;", max_args=None, parse=_server_name,
          combine="extend", default='""', summary="names of this virtual server"),
    _spec("location", "SL", "location [=|^~|~|~*] PATTERN { ... }", max_args=2,
          block="required", combine="append", summary="settings for matching URIs"),
    # content
    _spec("root", "HSL", "root PATH;", parse=_path, scope="location", field="root",
          default="html", summary="filesystem path = root + URI"),
    _spec("alias", L, "alias PATH;", parse=_path, scope="location", field="alias",
          summary="filesystem path = alias + URI minus the location prefix"),
    _spec("index", "HSL", "index FILE ...;", max_args=None, parse=_index, scope="location",
          field="index", combine="extend", default="index.html",
          summary="index files, tried in order"),
    _spec("autoindex", "HSL", "autoindex on|off;", parse=_flag, scope="location",
          field="autoindex", default="off", summary="directory listings"),
    _spec("autoindex_format", "HSL", "autoindex_format html|json;",
          parse=_choice("html", "json"), scope="location", field="autoindex_format",
          default="html", summary="directory listing format"),
    _spec("allow_methods", "HSL", "allow_methods METHOD ...;", max_args=None,
          parse=_methods, scope="location", field="allow_methods", default="GET HEAD POST",
          summary="the methods allowed (others get 405)"),
    _spec("return", "SL", "return CODE [URL|TEXT]; | return URL;", max_args=2,
          parse=_return, scope="location", field="return_",
          summary="redirect or answer with a fixed status"),
    _spec("error_page", "HSL", "error_page CODE ... [=NEW] URI;", min_args=2, max_args=None,
          parse=_error_page, scope="location", field="error_pages", combine="update",
          summary="custom error pages (internal redirect)"),
    _spec("types", "HSL", "types { MIME EXT ...; }", min_args=0, max_args=0,
          block="required", parse=_types, scope="location", field="types", combine="update",
          default="built-in table", summary="extension to MIME type table"),
    _spec("default_type", "HSL", "default_type MIME;", parse=_string, scope="location",
          field="default_type", default="application/octet-stream",
          summary="MIME type for unknown extensions"),
    # limits and timeouts
    _spec("client_max_body_size", "HSL", "client_max_body_size SIZE;", parse=_size,
          scope="location", field="client_max_body_size", default="1m",
          summary="largest request body (0 = unlimited)"),
    _spec("client_body_timeout", "HSL", "client_body_timeout TIME;", parse=_time,
          scope="location", field="client_body_timeout", default="60s",
          summary="max gap between two body reads"),
    _spec("client_body_min_rate", "HSL", "client_body_min_rate SIZE;", parse=_size,
          scope="location", field="client_body_min_rate", default="500",
          summary="after client_body_timeout, the body must average SIZE bytes/s "
          "(time the handler holds it back excluded), else 408 and close; 0 = off"),
    _spec("send_timeout", "HSL", "send_timeout TIME;", parse=_time, scope="location",
          field="send_timeout", default="60s", summary="max gap between two writes"),
    _spec("client_header_timeout", "HS", "client_header_timeout TIME;", parse=_time,
          scope="server", field="client_header_timeout", default="60s",
          summary="deadline for the whole request head"),
    _spec("keepalive_timeout", "HS", "keepalive_timeout TIME;", parse=_time, scope="server",
          field="keepalive_timeout", default="75s",
          summary="idle keep-alive timeout (0 disables keep-alive)"),
    _spec("client_header_max_size", "HS", "client_header_max_size SIZE;", parse=_size,
          scope="server", field="client_header_max_size", default="16k",
          summary="request line + headers limit"),
    # logging
    _spec("access_log", "HSL", "access_log PATH|stdout|off [combined|json];", max_args=2,
          parse=_access_log, scope="location", field="access_log", default="stdout combined",
          summary="access log target and format"),
    # upload / cgi / plugins
    _spec("upload_store", L, "upload_store DIR;", parse=_upload_store, scope="location",
          field="upload_store", summary="enable uploads into DIR"),
    _spec("cgi", "HSL", "cgi EXT [INTERPRETER] [virtual];", max_args=3, parse=_cgi,
          scope="location", field="cgi", combine="append",
          summary="run files with this extension as CGI scripts"),
    _spec("cgi_timeout", "HSL", "cgi_timeout TIME;", parse=_time, scope="location",
          field="cgi_timeout", default="60s", summary="wall-clock limit per CGI run"),
    _spec("cgi_buffer_request_body", "HSL", "cgi_buffer_request_body on|off;", parse=_flag,
          scope="location", field="cgi_buffer_request_body", default="on",
          summary="spool chunked bodies so CONTENT_LENGTH is exact"),
    _spec("handler", "SL", "handler NAME [{ SETTING VALUE; ... }]", block="optional",
          scope="location", field="handlers", combine="append",
          summary="enable a registered handler with its settings"),
]
# fmt: on

DIRECTIVES: dict[str, DirectiveSpec] = {spec.name: spec for spec in _SPECS}
"""Directive name -> spec."""

# directives whose values combine into a list/table that replaces the inherited one
LIST_DIRECTIVES = frozenset(
    spec.name for spec in _SPECS if spec.combine != "scalar" and spec.scope == "location"
)
