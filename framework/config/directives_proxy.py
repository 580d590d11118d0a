"""The reverse proxy: ``proxy_pass``, ``proxy_*`` and ``upstream NAME { ... }``: their rows of
the directive table, their value parsers and the fields they fill. This module must not
import ``framework.config.models``, which mixes them in.

Semantics are nginx's (ngx_http_proxy_module, ngx_http_upstream_module) and so are the
defaults: ``proxy_http_version 1.0``, ``Connection: close`` to the upstream, 60 s timeouts,
``proxy_next_upstream error timeout``. ``proxy_pass`` is not inherited into nested locations
(nginx's content handlers are per location): the value keeps where it was written.
``upstream`` blocks are defined at the top level and, like ``map``, reach every location
(the ``upstreams`` field of ``LocationConfig``, inherited and never set below the top level).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field

from config_grammar.tree import Arg, Directive, Span
from framework.bounded_cache import BoundedCache
from framework.config.model_base import Model
from framework.config.nginx_directives import VERB, nginx_advice
from framework.config.spec import DirectiveSpec, ParseContext, as_flag, as_time, spec
from framework.config.values import ValueProblem, is_decimal, parse_int, parse_time

_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
NEXT_UPSTREAM_CONDITIONS = (
    "error",
    "timeout",
    "invalid_header",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "http_403",
    "http_404",
    "http_429",
    "non_idempotent",
    "off",
)


class UpstreamServer(Model):
    """``server ADDRESS [weight=N] [max_fails=N] [fail_timeout=TIME] [backup] [down];``
    in an ``upstream`` block. ``host`` is an IP literal (without brackets) or a name,
    resolved when the workers start (as nginx resolves at startup)."""

    host: str
    port: int = 80
    weight: int = 1
    max_fails: int = 1
    fail_timeout: float = 10.0
    backup: bool = False
    down: bool = False
    span: Span | None = None

    @property
    def address(self) -> str:
        """``host:port`` as nginx prints it (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class Upstream(Model):
    """``upstream NAME { server ...; least_conn; keepalive N; }``: a group of servers
    balanced by weighted round-robin (or ``least_conn``), with ``keepalive`` idle
    connections kept per worker."""

    name: str
    servers: list[UpstreamServer]
    least_conn: bool = False
    keepalive: int = 0
    keepalive_timeout: float = 60.0
    keepalive_requests: int = 1000
    span: Span | None = None


class ProxyPass(Model):
    """``proxy_pass http://HOST[:PORT][/URI];``. ``host`` is an upstream name or a host
    (IP literal or name); ``port`` None when not written; ``uri`` None without a URI part
    (then the client's URI is passed as received), else the part that replaces the
    location's prefix. ``variables``: the URL holds ``$variables`` and is expanded per
    request (its host must then name an upstream or be an IP literal)."""

    url: str
    host: str = ""
    port: int | None = None
    uri: str | None = None
    variables: bool = False
    written_at: tuple[Span, ...] = ()

    @property
    def proxy_host(self) -> str:
        """nginx's ``$proxy_host``: the host, with the port unless it is 80."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port in (None, 80) else f"{host}:{self.port}"

    def declared_in(self, block: Span | None) -> bool:
        """Whether the directive is written in the block at ``block`` rather than
        inherited from an enclosing location (nginx does not inherit ``proxy_pass``)."""
        if block is None or not self.written_at:
            return True
        # asked per request (handler timeout): settled once per (directive, block)
        key = (id(self), id(block))
        hit = _DECLARED.get(key)
        if hit is not None and hit[0] is self and hit[1] is block:
            return hit[2]
        found = any(_inside(place, block) for place in self.written_at)
        _DECLARED.put(key, (self, block, found))
        return found


# (id(proxy_pass), id(block)) -> (proxy_pass, block, declared): the objects are kept so an
# id cannot be reused while its entry lives
_DECLARED: BoundedCache[tuple[int, int], tuple[ProxyPass, Span, bool]] = BoundedCache(4096)


def _inside(place: Span, block: Span) -> bool:
    if place.file != block.file:
        return False
    start, end = (place.line, place.col), (place.end_line, place.end_col)
    return (block.line, block.col) < start and end <= (block.end_line, block.end_col)


class ProxyFields(Model):
    """The ``LocationConfig`` fields of the proxy directives."""

    proxy_pass: ProxyPass | None = None
    proxy_set_header: list[tuple[str, str]] = Field(default_factory=list)
    """``(name, value template)`` in order; all-or-nothing inheritance (as ``add_header``):
    a level that sets any replaces the inherited list. An empty value removes the header."""
    proxy_connect_timeout: float = 60.0
    proxy_read_timeout: float = 60.0
    proxy_send_timeout: float = 60.0
    proxy_buffering: bool = True
    proxy_http_version: Literal["1.0", "1.1"] = "1.0"
    proxy_next_upstream: frozenset[str] = frozenset({"error", "timeout"})
    upstreams: dict[str, Upstream] = Field(default_factory=dict)
    """Every ``upstream`` block of the configuration, by name."""


class UpstreamFields(Model):
    """The ``Config`` fields of ``upstream`` blocks: none, the blocks reach every location
    through ``LocationConfig.upstreams`` (as ``map`` tables do)."""


# -- proxy_pass ---------------------------------------------------------------------------


def _bad_url(arg: Arg, message: str, hint: str) -> ValueProblem:
    return ValueProblem("invalid-value", message, arg.span, hint)


def parse_address(
    text: str, arg: Arg, directive: str, *, default_port: int = 80
) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (host without brackets, port)."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise _bad_url(
                arg,
                f'invalid address "{text}" in "{directive}" directive',
                "write IPv6 addresses in brackets: [::1]:8080",
            )
        port_text = rest[1:] if rest else None
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _bad_url(
                arg,
                f'invalid IPv6 address "{host}" in "{directive}" directive',
                "write an IPv6 address in brackets: [::1]:8080",
            ) from None
    elif text.count(":") > 1:
        raise _bad_url(
            arg,
            f'invalid address "{text}" in "{directive}" directive',
            "write IPv6 addresses in brackets: [::1]:8080",
        )
    else:
        host, sep, port_text_ = text.partition(":")
        port_text = port_text_ if sep else None
    if not host or not re.fullmatch(r"[A-Za-z0-9_.:-]+", host):
        raise _bad_url(
            arg,
            f'invalid host "{host}" in "{directive}" directive',
            "a host is an IP address or a name such as backend.internal",
        )
    port = default_port
    if port_text is not None:
        if not is_decimal(port_text) or not 1 <= int(port_text) <= 65535:
            raise ValueProblem(
                "invalid-port",
                f'invalid port "{port_text}" in "{directive}" directive',
                arg.span,
                "a port is a number from 1 to 65535",
            )
        port = int(port_text)
    return host, port


def _proxy_pass(d: Directive, _: ParseContext) -> ProxyPass:
    arg = d.args[0]
    url = arg.value
    written_at = (*d.include_chain, d.span)
    lower = url.lower()
    if lower.startswith("https://"):
        raise _bad_url(
            arg,
            f'https upstreams are not supported: "{url}"',
            "proxy to the backend over http:// (keep TLS at webserv's listen)",
        )
    if lower.startswith("http://unix:"):
        raise _bad_url(
            arg,
            f'unix socket upstreams are not supported: "{url}"',
            "listen on 127.0.0.1:PORT in the backend and proxy_pass to it",
        )
    if not lower.startswith("http://"):
        if url.startswith("$"):
            return ProxyPass(url=url, variables=True, written_at=written_at)
        raise _bad_url(
            arg,
            f'invalid URL prefix in "{url}"',
            "proxy_pass takes http://HOST[:PORT][/URI] or http://UPSTREAM[/URI]",
        )
    rest = url[7:]
    if "$" in url:
        return ProxyPass(url=url, variables=True, written_at=written_at)
    slash = rest.find("/")
    authority, uri = (rest, None) if slash < 0 else (rest[:slash], rest[slash:])
    if "?" in authority or "#" in authority or "@" in authority:
        raise _bad_url(arg, f'invalid host in "{url}"', "proxy_pass takes http://HOST[:PORT][/URI]")
    if not authority:
        raise _bad_url(arg, f'no host in "{url}"', "proxy_pass takes http://HOST[:PORT][/URI]")
    host, port = parse_address(authority, arg, "proxy_pass")
    written_port = port if ":" in authority.rpartition("]")[2] else None
    return ProxyPass(url=url, host=host, port=written_port, uri=uri, written_at=written_at)


def _set_header(d: Directive, _: ParseContext) -> tuple[str, str]:
    name, value = d.args
    if not _NAME.fullmatch(name.value):
        raise ValueProblem(
            "invalid-value",
            f'invalid header name "{name.value}" in "proxy_set_header" directive',
            name.span,
            "a header name is letters, digits and -, e.g. X-Forwarded-For",
        )
    return name.value, value.value


def _http_version(d: Directive, _: ParseContext) -> str:
    arg = d.args[0]
    if arg.value not in ("1.0", "1.1"):
        raise ValueProblem(
            "invalid-value",
            f'invalid value "{arg.value}" in "proxy_http_version" directive',
            arg.span,
            "1.0 (nginx's default) or 1.1 (needed for keepalive and Upgrade tunnels)",
        )
    return arg.value


def _next_upstream(d: Directive, _: ParseContext) -> frozenset[str]:
    values = []
    for arg in d.args:
        if arg.value not in NEXT_UPSTREAM_CONDITIONS:
            raise ValueProblem(
                "invalid-value",
                f'invalid value "{arg.value}" in "proxy_next_upstream" directive',
                arg.span,
                "expected: " + " ".join(NEXT_UPSTREAM_CONDITIONS),
            )
        values.append(arg.value)
    if "off" in values and len(values) > 1:
        raise ValueProblem(
            "invalid-value",
            '"off" cannot be combined with other values in "proxy_next_upstream" directive',
            d.span,
            "write `proxy_next_upstream off;` alone",
        )
    return frozenset(v for v in values if v != "off")


# -- upstream { } -------------------------------------------------------------------------


def _server(entry: Directive) -> UpstreamServer:
    if not entry.args:
        raise ValueProblem(
            "invalid-arg-count",
            'invalid number of arguments in "server"',
            entry.span,
            "usage: server ADDRESS [weight=N] [max_fails=N] [fail_timeout=TIME] [backup] [down];",
        )
    address = entry.args[0]
    if address.value.startswith("unix:"):
        raise _bad_url(
            address,
            f'unix socket upstreams are not supported: "{address.value}"',
            "listen on 127.0.0.1:PORT in the backend",
        )
    if "://" in address.value:
        raise _bad_url(
            address,
            f'invalid address "{address.value}" in upstream "server"',
            "an upstream server is HOST[:PORT], without a scheme",
        )
    host, port = parse_address(address.value, address, "server")
    server = UpstreamServer(host=host, port=port, span=entry.span)
    values: dict[str, object] = {}
    for arg in entry.args[1:]:
        key, eq, value = arg.value.partition("=")
        if not eq and key in ("backup", "down"):
            values[key] = True
            continue
        shifted = Arg(value, arg.span, arg.raw, arg.quoted)
        if eq and key == "weight":
            values["weight"] = parse_int(shifted, "server weight", minimum=1, maximum=1000)
        elif eq and key == "max_fails":
            values["max_fails"] = parse_int(shifted, "server max_fails", minimum=0)
        elif eq and key == "fail_timeout":
            values["fail_timeout"] = parse_time(shifted, "server fail_timeout")
        else:
            raise ValueProblem(
                "invalid-value",
                f'invalid parameter "{arg.value}" of upstream "server"',
                arg.span,
                "parameters: weight=N max_fails=N fail_timeout=TIME backup down",
            )
    return server.model_copy(update=values)


_UPSTREAM_ENTRIES = ("server", "least_conn", "keepalive", "keepalive_requests", "keepalive_timeout")


def _porting_advice(entry: Directive, ctx: ParseContext) -> None:
    """An nginx directive of upstream {} that webserv does not implement (``ip_hash``,
    ``zone``...): the porting table's advice, a warning when ignoring it changes nothing."""
    advice = nginx_advice(entry.name)
    assert advice is not None
    kind, hint = advice
    problem = ValueProblem(
        "unsupported-nginx-directive",
        f'"{entry.name}" is an nginx directive that webserv {VERB[kind]}',
        entry.name_span,
        hint,
    )
    if kind == "unsupported":
        raise problem
    ctx.warnings.append(problem)


def _upstream(d: Directive, ctx: ParseContext) -> dict[str, Upstream]:
    name = d.args[0]
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name.value):
        raise ValueProblem(
            "invalid-value",
            f'invalid upstream name "{name.value}"',
            name.span,
            "a name is letters, digits, _, . and -",
        )
    servers: list[UpstreamServer] = []
    options: dict[str, object] = {}
    for entry in d.children:
        if entry.block is not None:
            raise ValueProblem(
                "unexpected-block",
                f'"{entry.name}" takes no block here',
                entry.span,
                "upstream holds server, least_conn, keepalive",
            )
        if entry.name == "server":
            servers.append(_server(entry))
        elif entry.name == "least_conn" and not entry.args:
            options["least_conn"] = True
        elif entry.name in ("keepalive", "keepalive_requests") and len(entry.args) == 1:
            options[entry.name] = parse_int(entry.args[0], entry.name, minimum=1)
        elif entry.name == "keepalive_timeout" and len(entry.args) == 1:
            options["keepalive_timeout"] = parse_time(entry.args[0], entry.name)
        elif entry.name not in _UPSTREAM_ENTRIES and nginx_advice(entry.name) is not None:
            _porting_advice(entry, ctx)
        else:
            known = _UPSTREAM_ENTRIES
            hint = (
                f'usage inside upstream: "{entry.name}" takes other arguments'
                if entry.name in known
                else "upstream holds server ADDRESS ...; least_conn; keepalive N; "
                "keepalive_timeout TIME; keepalive_requests N;"
            )
            raise ValueProblem(
                "invalid-value",
                f'"{entry.name}" is not allowed here (inside upstream)',
                entry.name_span,
                hint,
            )
    if not servers:
        raise ValueProblem(
            "invalid-value",
            f'no servers are inside upstream "{name.value}"',
            d.span,
            "add `server HOST:PORT;` lines",
        )
    if all(s.backup or s.down for s in servers):
        raise ValueProblem(
            "invalid-value",
            f'upstream "{name.value}" has only backup or down servers',
            d.span,
            "mark at least one server as primary",
        )
    upstream = Upstream(name=name.value, servers=servers, span=d.span)
    return {name.value: upstream.model_copy(update=options)}


SPECS: list[DirectiveSpec] = [
    spec("proxy_pass", "L", "proxy_pass http://HOST[:PORT][/URI] | http://UPSTREAM[/URI];",
         parse=_proxy_pass, scope="location", field="proxy_pass",
         summary="forward the location's requests to an upstream server (not inherited)"),
    spec("proxy_set_header", "HSL", "proxy_set_header NAME VALUE;", min_args=2, max_args=2,
         parse=_set_header, scope="location", field="proxy_set_header", combine="append",
         default="Host $proxy_host; Connection close",
         summary="set a request header sent upstream (an empty VALUE removes it)"),
    spec("proxy_connect_timeout", "HSL", "proxy_connect_timeout TIME;", parse=as_time,
         scope="location", field="proxy_connect_timeout", default="60s",
         summary="how long connecting to an upstream server may take"),
    spec("proxy_read_timeout", "HSL", "proxy_read_timeout TIME;", parse=as_time,
         scope="location", field="proxy_read_timeout", default="60s",
         summary="the longest wait between two reads from the upstream"),
    spec("proxy_send_timeout", "HSL", "proxy_send_timeout TIME;", parse=as_time,
         scope="location", field="proxy_send_timeout", default="60s",
         summary="the longest wait between two writes to the upstream"),
    spec("proxy_buffering", "HSL", "proxy_buffering on|off;", parse=as_flag,
         scope="location", field="proxy_buffering", default="on",
         summary="off: send each piece of the upstream response as it arrives"),
    spec("proxy_http_version", "HSL", "proxy_http_version 1.0|1.1;",
         parse=_http_version, scope="location", field="proxy_http_version",
         default="1.0", summary="the HTTP version spoken to the upstream (1.1 for keepalive)"),
    spec("proxy_next_upstream", "HSL", "proxy_next_upstream error|timeout|http_502|... | off;",
         max_args=None, parse=_next_upstream, scope="location", field="proxy_next_upstream",
         default="error timeout",
         summary="when a request is passed to the next server of the upstream"),
    spec("upstream", "H", "upstream NAME { server ADDRESS [weight=N] [max_fails=N] "
         "[fail_timeout=TIME] [backup]; least_conn; keepalive N; }", block="required",
         parse=_upstream, scope="location", field="upstreams", combine="update",
         summary="a group of upstream servers that proxy_pass http://NAME balances over"),
]  # fmt: skip

__all__ = [
    "SPECS",
    "ProxyFields",
    "ProxyPass",
    "Upstream",
    "UpstreamFields",
    "UpstreamServer",
    "parse_address",
]
