"""The directive table: every directive of the configuration language in one data-driven place.

Each ``DirectiveSpec`` says where a directive may appear (contexts G/H/S/L of SPEC 4.2), how
many arguments it takes, whether it has a block, how its value is parsed, which model field
receives it, and how repeated occurrences at one level combine (scalars: duplicate error;
lists: accumulate, then replace the inherited list).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from config_grammar.tree import Arg, Directive
from framework.config import (
    directives_access,
    directives_apps,
    directives_gzip,
    directives_headers,
    directives_map,
    directives_ops,
    directives_proxy,
    directives_realip,
    directives_tls,
    directives_try_files,
    directives_websocket,
)
from framework.config.models import AccessLog, CgiRule, ErrorLog, ErrorPage, Listen, Return
from framework.config.spec import (
    BLOCK_CONTEXTS,
    CONTEXT_NAMES,
    DirectiveSpec,
    G,
    H,
    L,
    ParseContext,
    S,
    as_flag,
    as_path,
    as_size,
    as_string,
    as_time,
    first_arg,
    one_of,
    spec,
)
from framework.config.values import (
    REDIRECT_CODES,
    ValueProblem,
    compile_regex,
    is_decimal,
    parse_choice,
    parse_int,
    parse_listen_address,
    parse_method,
    parse_status,
    python_regex_source,
)

__all__ = ["BLOCK_CONTEXTS", "CONTEXT_NAMES", "DIRECTIVES", "DirectiveSpec", "ParseContext"]

MAX_WORKERS = 1024
MAX_CONNECTIONS = 1 << 20  # the usual hard limit of open files per process


def _connections(d: Directive, _: ParseContext) -> int:
    return parse_int(first_arg(d), d.name, minimum=1, maximum=MAX_CONNECTIONS)


def _workers(d: Directive, _: ParseContext) -> int:
    if first_arg(d).value == "auto":
        return os.cpu_count() or 1
    try:
        return parse_int(first_arg(d), d.name, minimum=1, maximum=MAX_WORKERS)
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
    if len(d.args) > 1 and d.args[1].value in ctx.log_formats - {"combined", "json"}:
        name = d.args[1]
        ctx.warnings.append(
            ValueProblem(
                "unsupported-nginx-directive",
                f'log format "{name.value}" (an nginx log_format) is not supported: '
                "this log is written in the combined format",
                name.span,
                'write "combined" or "json" to say so',
            )
        )
    elif len(d.args) > 1:
        fmt = parse_choice(d.args[1], d.name, ("combined", "json"))
    if target in ("stdout", "off"):
        return AccessLog(target=target, format=fmt)
    return AccessLog(target=ctx.path_arg(d.args[0], d.name), format=fmt)


_LISTEN_FLAGS = ("default_server", "ssl", "proxy_protocol")
# nginx's socket options: webserv ignores them (with a warning), nothing else changes
_LISTEN_IGNORED = {
    "http2": "webserv speaks HTTP/1.1 (TLS clients are offered http/1.1 by ALPN)",
    "reuseport": "webserv's master binds each address once and its workers share it",
    "deferred": "webserv reads only when data has arrived anyway",
    "backlog": "webserv uses the system's maximum backlog",
    "rcvbuf": "webserv keeps the kernel's socket buffer sizes",
    "sndbuf": "webserv keeps the kernel's socket buffer sizes",
    "fastopen": "webserv does not enable TCP Fast Open",
    "so_keepalive": "webserv's keepalive_timeout closes idle connections",
    "ipv6only": "an IPv6 address listens on IPv6 only",
    "setfib": "not supported on this system",
    "accept_filter": "not supported on this system",
    "bind": "webserv binds each listen address separately",
}
_LISTEN_UNSUPPORTED = {
    "quic": "webserv serves HTTP/1.1 over TCP only: drop the QUIC listen",
    "http3": "webserv serves HTTP/1.1 over TCP only: drop http3",
}


def _listen(d: Directive, ctx: ParseContext) -> Listen:
    host, port = parse_listen_address(d.args[0])
    flags: dict[str, bool] = {}
    for arg in d.args[1:]:
        value = "default_server" if arg.value == "default" else arg.value
        key = value.split("=", 1)[0]
        if value in _LISTEN_FLAGS:
            if value in flags:
                raise ValueProblem(
                    "invalid-value",
                    f'duplicate "{value}" parameter in "listen" directive',
                    arg.span,
                    f'write "{value}" once',
                )
            flags[value] = True
        elif key in _LISTEN_IGNORED:
            ctx.warnings.append(
                ValueProblem(
                    "unsupported-nginx-directive",
                    f'"{key}" parameter of "listen" is ignored',
                    arg.span,
                    _LISTEN_IGNORED[key],
                )
            )
        else:
            hint = _LISTEN_UNSUPPORTED.get(key)
            raise ValueProblem(
                "invalid-value" if hint is None else "unsupported-feature",
                f'invalid parameter "{arg.value}" in "listen" directive'
                if hint is None
                else f'"{key}" parameter of "listen" is not supported',
                arg.span,
                hint
                or "the parameters after the address are default_server, ssl and proxy_protocol",
            )
    return Listen(host=host, port=port, span=d.span, **flags)


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


MAX_RETURN_CODE = 999  # nginx: "invalid return code" above it


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://", "/"))


def _return(d: Directive, ctx: ParseContext) -> Return:
    """``return`` as nginx 1.22 takes it: a code up to 999 (``return 999;`` answers 999 with
    an empty body) and a redirect without a URL (``return 301;`` sends an empty
    ``Location``, so it is accepted with a warning)."""
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
    if not is_decimal(code) or not 100 <= int(code) <= MAX_RETURN_CODE:
        hint = "a return code is a number from 100 to 999"
        if is_decimal(code) and int(code) < 100:
            hint += f' (nginx would send the invalid status line "HTTP/1.1 {int(code):03d}")'
        raise ValueProblem("invalid-status", f'invalid return code "{code}"', first.span, hint)
    status = int(code)
    rest = d.args[1].value if len(d.args) > 1 else None
    if status in REDIRECT_CODES:
        if not rest:
            ctx.warnings.append(
                ValueProblem(
                    "redirect-without-url",
                    f'"return {status}" has no URL: the "Location" header is sent empty',
                    d.span,
                    f"write `return {status} /new/path;` or `return {status} https://host/path;`",
                )
            )
        return Return(status=status, url=rest or "")
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
        if code == 499:  # nginx's own "client closed the request": no page is ever sent
            raise ValueProblem(
                "invalid-status",
                'invalid value "499" in "error_page" directive',
                arg.span,
                "error_page takes codes 300-599 except 499 (as nginx)",
            )
        pages[code] = ErrorPage(uri=uri.value, status_override=override)
    if uri.value.startswith("@"):
        raise ValueProblem(
            "unsupported-feature",
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
    return ctx.path_arg(first_arg(d), d.name)


# -- the table ----------------------------------------------------------------------------

# fmt: off
_SPECS = [
    # global
    spec("workers", G, "workers N|auto;", parse=_workers, scope="global", field="workers",
          default="1", summary="worker processes"),
    spec("worker_processes", G, "worker_processes N|auto;", parse=_workers, scope="global",
          field="workers", default="1", summary="nginx's name for workers"),
    spec("event_loop", G, "event_loop auto|asyncio|uvloop;",
          parse=one_of("auto", "asyncio", "uvloop"), scope="global", field="event_loop",
          default="auto", summary="event loop implementation"),
    spec("error_log", G, "error_log PATH|stderr [debug|info|warn|error];", max_args=2,
          parse=_error_log, scope="global", field="error_log", default="stderr warn",
          summary="where errors are logged, and from which level"),
    spec("pid", G, "pid PATH;", parse=as_path, scope="global", field="pid",
          summary="file to write the master's PID to"),
    spec("shutdown_timeout", G, "shutdown_timeout TIME;", parse=as_time, scope="global",
          field="shutdown_timeout", default="30s", summary="graceful-stop deadline"),
    spec("load_module", G, "load_module PYTHON.MODULE;", parse=as_string, scope="global",
          field="load_modules", combine="append",
          summary="import a module that registers handlers"),
    spec("max_connections", G, "max_connections N;", parse=_connections, scope="global",
          field="max_connections", default="1024", summary="connection limit per worker"),
    # structure
    spec("http", G, "http { ... }", min_args=0, max_args=0, block="required",
          summary="optional wrapper; means the same as the top level"),
    spec("server", H, "server { ... }", min_args=0, max_args=0, block="required",
          combine="append",
          summary="a virtual server"),
    spec("include", "GHSL", "include PATH|GLOB;", combine="append",
          summary="include other files"),
    spec("listen", S, "listen [ADDR:]PORT [default_server] [ssl] [proxy_protocol];",
          max_args=None, parse=_listen,
          combine="append", default="0.0.0.0:8080", summary="address and port to listen on"),
    spec("server_name", S, "server_name NAME ...;", max_args=None, parse=_server_name,
          combine="extend", default='""', summary="names of this virtual server"),
    spec("location", "SL", "location [=|^~|~|~*] PATTERN { ... }", max_args=2,
          block="required", combine="append", summary="settings for matching URIs"),
    # content
    spec("root", "HSL", "root PATH;", parse=as_path, scope="location", field="root",
          default="html", summary="filesystem path = root + URI"),
    spec("alias", L, "alias PATH;", parse=as_path, scope="location", field="alias",
          summary="filesystem path = alias + URI minus the location prefix"),
    spec("index", "HSL", "index FILE ...;", max_args=None, parse=_index, scope="location",
          field="index", combine="extend", default="index.html",
          summary="index files, tried in order"),
    spec("autoindex", "HSL", "autoindex on|off;", parse=as_flag, scope="location",
          field="autoindex", default="off", summary="directory listings"),
    spec("autoindex_format", "HSL", "autoindex_format html|json;",
          parse=one_of("html", "json"), scope="location", field="autoindex_format",
          default="html", summary="directory listing format"),
    spec("allow_methods", "HSL", "allow_methods METHOD ...;", max_args=None,
          parse=_methods, scope="location", field="allow_methods", default="GET HEAD POST",
          summary="the methods allowed (others get 405)"),
    spec("return", "SL", "return CODE [URL|TEXT]; | return URL;", max_args=2,
          parse=_return, scope="location", field="return_",
          summary="redirect or answer with a fixed status"),
    spec("error_page", "HSL", "error_page CODE ... [=NEW] URI;", min_args=2, max_args=None,
          parse=_error_page, scope="location", field="error_pages", combine="update",
          summary="custom error pages (internal redirect)"),
    spec("types", "HSL", "types { MIME EXT ...; }", min_args=0, max_args=0,
          block="required", parse=_types, scope="location", field="types", combine="update",
          default="built-in table", summary="extension to MIME type table"),
    spec("default_type", "HSL", "default_type MIME;", parse=as_string, scope="location",
          field="default_type", default="application/octet-stream",
          summary="MIME type for unknown extensions"),
    # limits and timeouts
    spec("client_max_body_size", "HSL", "client_max_body_size SIZE;", parse=as_size,
          scope="location", field="client_max_body_size", default="1m",
          summary="largest request body (0 = unlimited)"),
    spec("client_body_timeout", "HSL", "client_body_timeout TIME;", parse=as_time,
          scope="location", field="client_body_timeout", default="60s",
          summary="max gap between two body reads"),
    spec("client_body_min_rate", "HSL", "client_body_min_rate SIZE;", parse=as_size,
          scope="location", field="client_body_min_rate", default="500",
          summary="after client_body_timeout, the body must average SIZE bytes/s "
          "(time the handler holds it back excluded), else 408 and close; 0 = off"),
    spec("send_timeout", "HSL", "send_timeout TIME;", parse=as_time, scope="location",
          field="send_timeout", default="60s", summary="max gap between two writes"),
    spec("client_header_timeout", "HS", "client_header_timeout TIME;", parse=as_time,
          scope="server", field="client_header_timeout", default="60s",
          summary="deadline for the whole request head"),
    spec("keepalive_timeout", "HS", "keepalive_timeout TIME;", parse=as_time, scope="server",
          field="keepalive_timeout", default="75s",
          summary="idle keep-alive timeout (0 disables keep-alive)"),
    spec("client_header_max_size", "HS", "client_header_max_size SIZE;", parse=as_size,
          scope="server", field="client_header_max_size", default="16k",
          summary="request line + headers limit"),
    # logging
    spec("access_log", "HSL", "access_log PATH|stdout|off [combined|json];", max_args=2,
          parse=_access_log, scope="location", field="access_log", default="stdout combined",
          summary="access log target and format"),
    # upload / cgi / plugins
    spec("upload_store", L, "upload_store DIR;", parse=_upload_store, scope="location",
          field="upload_store", summary="enable uploads into DIR"),
    spec("cgi", "HSL", "cgi EXT [INTERPRETER] [virtual];", max_args=3, parse=_cgi,
          scope="location", field="cgi", combine="append",
          summary="run files with this extension as CGI scripts"),
    spec("cgi_timeout", "HSL", "cgi_timeout TIME;", parse=as_time, scope="location",
          field="cgi_timeout", default="60s", summary="wall-clock limit per CGI run"),
    spec("cgi_buffer_request_body", "HSL", "cgi_buffer_request_body on|off;", parse=as_flag,
          scope="location", field="cgi_buffer_request_body", default="on",
          summary="spool chunked bodies so CONTENT_LENGTH is exact"),
    spec("handler", "SL", "handler NAME [{ SETTING VALUE; ... }]", block="optional",
          scope="location", field="handlers", combine="append",
          summary="enable a registered handler with its settings"),
    # each feature's rows live beside its fields and handlers
    *directives_tls.SPECS,
    *directives_realip.SPECS,
    *directives_headers.SPECS,
    *directives_gzip.SPECS,
    *directives_access.SPECS,
    *directives_try_files.SPECS,
    *directives_ops.SPECS,
    *directives_map.SPECS,
    *directives_apps.SPECS,
    *directives_websocket.SPECS,
    *directives_proxy.SPECS,
]
# fmt: on

DIRECTIVES: dict[str, DirectiveSpec] = {row.name: row for row in _SPECS}
"""Directive name -> spec."""
