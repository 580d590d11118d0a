"""Lints about nginx ``$variables`` written in the configuration.

- ``variable-not-expanded`` (warning): a ``$name`` in an argument that webserv takes
  literally. webserv expands variables only in ``return`` (not the code), ``try_files``,
  ``add_header`` and ``proxy_set_header`` (the value, not the header name), ``expires``,
  ``error_page`` (the URI), ``map`` (the source and the values, not the keys) and
  ``proxy_pass``. Everywhere else the text is used as written, and the message says whether
  nginx would have expanded it (``NGINX_EXPANDS``: ``root``, ``alias``, ``index``,
  ``access_log``, ``ssl_certificate``, ``auth_basic``...; checked with ``nginx -t``, which
  rejects an unknown variable there) or takes it literally too (``error_log``, ``pid``,
  ``default_type``, ``ssl_dhparam``, header names, map keys...). Directives whose values
  cannot hold a ``$`` (``listen``, sizes, times, ``charset``) reject it when they are parsed.
- ``unknown-variable`` (error): a ``$name`` that webserv does not define, in an argument that
  expands variables; webserv would send the text as written. For a name nobody defines nginx
  refuses to start too (``[emerg] unknown "name" variable``); for one of nginx's own
  variables webserv does not provide (``NGINX_ONLY``: ``$request_id``, ``$hostname``...) the
  message says so.
- ``variable-cycle`` (error): ``map`` variables whose values name each other; each request
  that uses them is answered 500, as in nginx ("cycle while evaluating variable").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Arg, Directive, Span
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config
from framework.http.variables import KNOWN_PREFIXES, KNOWN_VARIABLES, VARIABLE

EXPANDING = frozenset(
    {"return", "try_files", "add_header", "expires", "error_page", "map", "proxy_pass",
     "proxy_set_header"}
)  # fmt: skip
"""The directives webserv expands variables in (in some of their arguments: ``_roles``)."""
NGINX_EXPANDS = frozenset(
    {"root", "alias", "index", "access_log", "ssl_certificate", "ssl_certificate_key",
     "auth_basic", "auth_basic_user_file"}
)  # fmt: skip
"""Directives webserv supports and takes literally where nginx 1.22 expands variables."""
NGINX_LITERAL = frozenset(
    {"error_log", "pid", "default_type", "ssl_dhparam", "server_name", "real_ip_header",
     "gzip_types", "charset_types", "add_header", "proxy_set_header", "map"}
)  # fmt: skip
"""Directives nginx 1.22 also takes literally (in the arguments webserv takes literally;
each checked with ``nginx -t``). Others webserv takes literally get a message that does not
speak for nginx."""
# arguments that are regexes or blocks of other vocabularies, never templates
_NOT_TEMPLATES = frozenset(
    {"location", "handler", "types", "include", "upstream", "gzip_disable"}
)  # fmt: skip
# map entries whose first word is not a key
_MAP_KEYWORDS = frozenset({"default", "hostnames", "volatile", "include"})
# a named group in a PCRE-style or Python regex: (?<name>...) / (?P<name>...)
_NAMED_GROUP = re.compile(r"\(\?P?<(\w+)>")
_EXPANDED_IN = (
    "webserv expands variables only in return, try_files, add_header and proxy_set_header "
    "values, expires, error_page URIs, map and proxy_pass"
)
WORKAROUNDS: dict[str, str] = {
    "root": "serve each host from its own server block, or name the variable part in "
    "try_files (try_files /$host$uri =404;), which does expand",
    "alias": "use one location per target directory, or try_files with the variable part",
    "index": "name the index files, or pick one with try_files ($uri/$x.html)",
    "access_log": "give each server block its own access_log",
    "ssl_certificate": "give each certificate its own server block: webserv picks it by SNI",
    "ssl_certificate_key": "give each certificate its own server block: webserv picks it by SNI",
    "auth_basic": "write the realm as text",
    "auth_basic_user_file": "give each user file its own location",
}
"""What to write instead, for each directive of ``NGINX_EXPANDS``."""


def _defined_names(ctx: LintContext) -> set[str]:
    """Names defined by this config: ``map`` targets and named groups of location,
    ``server_name`` and ``map`` regexes (nginx defines a variable for each)."""
    names: set[str] = set()
    for _server, loc in ctx.scopes():
        if loc.regex is not None:
            names.update(loc.regex.groupindex)
        for table in getattr(loc, "maps", {}).values():
            names.add(table.variable)
            for regex, _ in table.regexes:
                names.update(regex.groupindex)
    for server in ctx.config.servers:
        for name in server.server_names:
            if name.startswith("~"):
                names.update(_NAMED_GROUP.findall(name))
    return names


def _known(name: str, defined: set[str]) -> bool:
    return name in KNOWN_VARIABLES or name in defined or name.startswith(KNOWN_PREFIXES)


def _directives(ctx: LintContext) -> Iterator[Directive]:
    """Every accepted directive whose arguments may be templates (includes resolved)."""
    stack = [n for n in reversed(ctx.nodes) if isinstance(n, Directive)]
    while stack:
        node = stack.pop()
        if node.name in ("handler", "types"):
            continue
        if node.block is not None and node.name != "map":  # map entries: checked with it
            stack.extend(reversed(node.children))
        if ctx.valid(node):
            yield node


def _roles(d: Directive) -> Iterator[tuple[Arg, bool, str]]:
    """Each argument of ``d`` that may name a variable, with whether webserv expands it and
    what the argument is (for the message)."""
    if d.name in _NOT_TEMPLATES:
        return
    if d.name == "map":
        yield d.args[0], True, "source"  # args[1] is the $name being defined
        for entry in d.children:
            if entry.name not in _MAP_KEYWORDS and not entry.name.startswith("~"):
                # compared as written (a regex key is no template)
                raw = entry.name_raw or entry.name
                yield Arg(entry.name, entry.name_span, raw, raw != entry.name), False, "key"
            if entry.name != "include":
                yield from ((value, True, "value") for value in entry.args)
        return
    for i, arg in enumerate(d.args):
        if d.name in ("add_header", "proxy_set_header"):
            yield arg, i == 1, "header name" if i == 0 else "argument"
        elif d.name in ("return", "error_page") and arg is not d.args[-1]:
            continue  # codes: numbers, else rejected when parsed
        elif d.name == "server_name":
            if not arg.value.startswith("~"):  # a regex name is no template
                yield arg, False, "argument"
        else:
            yield arg, d.name in EXPANDING, "argument"


def _span_of(arg: Arg, match: re.Match[str]) -> Span:
    """The span of the variable ``match`` found in ``arg.value``: exact when the argument
    is written on one line without escapes, else the whole argument."""
    span = arg.span
    raw = arg.raw
    text = raw[1:-1] if arg.quoted else raw
    if span.line != span.end_line or text != arg.value:
        return span
    col = span.col + (1 if arg.quoted else 0) + match.start()
    return Span(span.file, span.line, col, span.line, col + len(match.group(0)))


def _not_expanded(d: Directive, arg: Arg, what: str, match: re.Match[str]) -> Diagnostic:
    name = match.group(1) or match.group(2)
    literal = f'"${name}" is taken literally'
    if d.name in NGINX_EXPANDS:
        message = f'webserv does not expand variables in "{d.name}" (nginx does): {literal}'
        hint = f"{WORKAROUNDS[d.name]}; {_EXPANDED_IN}"
    else:
        where = f'"{d.name}"' if what == "argument" else f'the {what} of "{d.name}"'
        nginx = " (nor does nginx)" if d.name in NGINX_LITERAL else ""
        message = f"{where} does not expand variables{nginx}: {literal}"
        hint = f"{_EXPANDED_IN}; elsewhere the text is used as written"
    return warn("variable-not-expanded", message, d, _span_of(arg, match), hint)


def _findings(ctx: LintContext, unknown: bool) -> Iterator[Diagnostic]:
    """``unknown``: the unknown names in expanded arguments; else the variables in arguments
    that are not expanded (one finding per argument)."""
    defined = _defined_names(ctx) if unknown else set()
    for d in _directives(ctx):
        for arg, expanded, what in _roles(d):
            if expanded != unknown or "$" not in arg.value:
                continue
            for match in VARIABLE.finditer(arg.value):
                if not unknown:
                    yield _not_expanded(d, arg, what, match)
                    break
                name = match.group(1) or match.group(2)
                if not _known(name, defined):
                    message = f'unknown "{name}" variable in "{d.name}" directive'
                    if name in NGINX_ONLY or name.startswith(NGINX_ONLY_PREFIXES):
                        message = (
                            f'"${name}" in "{d.name}" is an nginx variable webserv does not '
                            "provide: the text would be sent as written"
                        )
                    yield warn(
                        "unknown-variable",
                        message,
                        d,
                        _span_of(arg, match),
                        _UNKNOWN_HINT,
                        severity="error",
                    )


def check_not_expanded(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``variable-not-expanded``: a ``$name`` that would be used literally."""
    return _findings(ctx, unknown=False)


def check_unknown(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``unknown-variable``: a ``$name`` nothing defines, where variables are expanded."""
    return _findings(ctx, unknown=True)


def check_cycle(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``variable-cycle``: ``map`` variables whose values (or sources) name each other,
    directly or through other maps: nginx answers such a request 500 ("cycle while
    evaluating variable"). One finding per map on a cycle."""
    refs: dict[str, set[str]] = {}
    where: dict[str, Directive] = {}
    for d in _directives(ctx):
        if d.name != "map" or len(d.args) != 2:
            continue
        name = d.args[1].value[1:]
        where.setdefault(name, d)
        names = refs.setdefault(name, set())
        for arg, expanded, _ in _roles(d):
            for match in VARIABLE.finditer(arg.value) if expanded else ():
                names.add(match.group(1) or match.group(2))
    for name, d in where.items():
        path = _cycle_from(name, refs)
        if path is not None:
            chain = " -> ".join(f"${n}" for n in path)
            yield warn(
                "variable-cycle",
                f'cycle while evaluating variable "{name}": {chain}',
                d,
                d.args[1].span,
                "a map's value or source names a map variable that leads back to it; "
                "such a request is answered 500",
                severity="error",
            )


def _cycle_from(start: str, refs: dict[str, set[str]]) -> list[str] | None:
    """A path of map names from ``start`` back to itself, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        for nxt in sorted(refs.get(name, ())):
            if nxt == start:
                return [*path, start]
            if nxt in refs and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


# nginx's own variables (1.22 with its usual modules; each accepted by its ``nginx -t``) that
# webserv does not provide
_NGINX_NAMES = """binary_remote_addr proxy_protocol_addr proxy_protocol_port
    proxy_protocol_server_addr
    proxy_protocol_server_port https request document_root realpath_root request_filename
    bytes_sent body_bytes_sent pipe request_completion request_body request_body_file
    request_length request_time request_id limit_rate connection connection_requests
    connection_time nginx_version hostname pid msec time_iso8601 time_local tcpinfo_rtt
    tcpinfo_rttvar tcpinfo_snd_cwnd tcpinfo_rcv_space realip_remote_addr realip_remote_port
    upstream_addr upstream_status upstream_response_time upstream_connect_time
    upstream_header_time upstream_response_length upstream_bytes_received upstream_bytes_sent
    upstream_cache_status proxy_internal_body_length proxy_internal_chunked ssl_protocol
    ssl_cipher ssl_ciphers ssl_curve ssl_curves ssl_session_id ssl_session_reused
    ssl_early_data ssl_server_name ssl_alpn_protocol ssl_client_cert ssl_client_raw_cert
    ssl_client_escaped_cert ssl_client_s_dn ssl_client_i_dn ssl_client_s_dn_legacy
    ssl_client_i_dn_legacy ssl_client_serial ssl_client_fingerprint ssl_client_verify
    ssl_client_v_start ssl_client_v_end ssl_client_v_remain gzip_ratio limit_req_status
    limit_conn_status invalid_referer date_local date_gmt fastcgi_script_name
    fastcgi_path_info http2 uid_got uid_set uid_reset modern_browser ancient_browser msie
    secure_link secure_link_expires"""
NGINX_ONLY = frozenset(_NGINX_NAMES.split()) - KNOWN_VARIABLES
NGINX_ONLY_PREFIXES = ("sent_trailer_", "upstream_http_", "upstream_cookie_", "upstream_trailer_")

_UNKNOWN_HINT = (
    "webserv knows "
    + ", ".join(f"${v}" for v in sorted(KNOWN_VARIABLES) if not v.isdigit())
    + ", $1..$9, named captures, map variables and "
    + ", ".join(f"${p}NAME" for p in KNOWN_PREFIXES)
)

RULES: list[LintRule] = [
    LintRule(
        "variable-not-expanded",
        "a $variable in an argument webserv takes literally (says whether nginx would expand it)",
        check_not_expanded,
    ),
    LintRule(
        "unknown-variable",
        "a $variable webserv does not define where variables are expanded (error: it would be "
        "sent as written)",
        check_unknown,
        severity="error",
    ),
    LintRule(
        "variable-cycle",
        "map variables that name each other (error: nginx answers 500)",
        check_cycle,
        severity="error",
    ),
]
