"""Directives for TLS: ``ssl_certificate``, ``ssl_certificate_key``, ``ssl_protocols``,
``ssl_ciphers``, ``ssl_prefer_server_ciphers``, the session settings (``ssl_session_tickets``,
``ssl_session_timeout``, ``ssl_session_cache``), ``ssl_ecdh_curve`` and ``ssl_dhparam``: their
rows of the directive table, their value parsers and the ``ServerConfig`` fields they fill.
This module must not import ``framework.config.models``, which mixes ``TlsFields`` in."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

from config_grammar.tree import Arg, Directive
from framework.config.model_base import Model
from framework.config.spec import (
    DirectiveSpec,
    ParseContext,
    as_flag,
    as_path,
    as_time,
    first_arg,
    spec,
)
from framework.config.values import ValueProblem, parse_size

KNOWN_PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# nginx accepts these names too; no OpenSSL that Python supports speaks them
OBSOLETE_PROTOCOLS = ("SSLv2", "SSLv3")
INSECURE_PROTOCOLS = ("TLSv1", "TLSv1.1")
# nginx refuses a shared cache smaller than 8 pages
_MIN_SHARED_CACHE = 8 * 4096


class TlsFields(Model):
    """The ``ServerConfig`` fields of these directives (nginx's defaults)."""

    ssl_certificate: Path | None = None  # PEM: the certificate, then its chain
    ssl_certificate_key: Path | None = None  # PEM private key
    ssl_protocols: frozenset[str] = frozenset({"TLSv1.2", "TLSv1.3"})
    ssl_ciphers: str = "HIGH:!aNULL:!MD5"  # OpenSSL cipher list (TLS 1.2 and below)
    ssl_prefer_server_ciphers: bool = False
    ssl_session_tickets: bool = True
    ssl_session_timeout: float = 300.0  # seconds
    # "off" (no resumption from a cache), "none" (nginx's default: no cache is kept) or
    # "builtin:N" (OpenSSL's cache of N sessions, one per worker); nginx's
    # "shared:NAME:SIZE" becomes builtin with about 4000 sessions a megabyte
    ssl_session_cache: str = "none"
    ssl_ecdh_curve: str = "auto"  # colon-separated groups, or OpenSSL's defaults
    ssl_dhparam: Path | None = None  # PEM DH parameters for DHE ciphers


def _protocols(d: Directive, ctx: ParseContext) -> frozenset[str]:
    names: list[str] = []
    for arg in d.args:
        if arg.value in OBSOLETE_PROTOCOLS:
            ctx.warnings.append(
                ValueProblem(
                    "insecure-tls-protocol",
                    f'"{arg.value}" in "ssl_protocols" is ignored: OpenSSL no longer has it',
                    arg.span,
                    "remove it; use TLSv1.2 TLSv1.3",
                )
            )
            continue
        if arg.value not in KNOWN_PROTOCOLS:
            close = next((p for p in KNOWN_PROTOCOLS if p.lower() == arg.value.lower()), None)
            raise ValueProblem(
                "invalid-value",
                f'invalid value "{arg.value}" in "ssl_protocols" directive',
                arg.span,
                f'did you mean "{close}"?'
                if close
                else "the protocols are TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3",
            )
        if arg.value in INSECURE_PROTOCOLS:
            ctx.warnings.append(
                ValueProblem(
                    "insecure-tls-protocol",
                    f'"{arg.value}" is insecure (RFC 8996 deprecates it) and OpenSSL\'s default '
                    "security level refuses it anyway",
                    arg.span,
                    "remove it: every current client speaks TLSv1.2",
                )
            )
        names.append(arg.value)
    if not names:
        raise ValueProblem(
            "invalid-value",
            'no usable protocol in "ssl_protocols" directive',
            d.span,
            "write ssl_protocols TLSv1.2 TLSv1.3;",
        )
    chosen = [p for p in KNOWN_PROTOCOLS if p in names]
    span_of = {arg.value: arg.span for arg in d.args}
    gap = [
        p
        for p in KNOWN_PROTOCOLS[
            KNOWN_PROTOCOLS.index(chosen[0]) : KNOWN_PROTOCOLS.index(chosen[-1])
        ]
        if p not in names
    ]
    if gap:
        ctx.warnings.append(
            ValueProblem(
                "tls-protocol-gap",
                f'"ssl_protocols" enables {chosen[0]} to {chosen[-1]}: {", ".join(gap)} '
                "in between cannot be left out",
                span_of.get(chosen[-1], d.span),
                "webserv sets a minimum and a maximum version; list a contiguous range",
            )
        )
    return frozenset(names)


def check_ciphers(arg: Arg, directive: str) -> None:
    """Raise ``ValueProblem`` at ``arg`` if OpenSSL selects no cipher from the list."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).set_ciphers(arg.value)
    except ssl.SSLError as exc:
        raise ValueProblem(
            "invalid-value",
            f'OpenSSL accepts no cipher in "{arg.value}" in "{directive}" directive '
            "(OpenSSL: no cipher match)",
            arg.span,
            "the list is an OpenSSL cipher string (`openssl ciphers -v 'LIST'` shows what it "
            "selects), e.g. HIGH:!aNULL:!MD5; TLS 1.3 suites are not set here",
        ) from exc


def _ciphers(d: Directive, _: ParseContext) -> str:
    arg = first_arg(d)
    check_ciphers(arg, d.name)
    return arg.value


_SHARED = re.compile(r"shared:([^:]+):(.+)")


def _session_cache(d: Directive, ctx: ParseContext) -> str:
    values = [arg.value for arg in d.args]
    if values[0] in ("off", "none"):
        if len(d.args) > 1:
            raise ValueProblem(
                "invalid-value",
                f'"{values[0]}" in "ssl_session_cache" takes no other parameter',
                d.args[1].span,
                f"write ssl_session_cache {values[0]};",
            )
        return values[0]
    sizes: list[int] = []  # each worker's cache holds the largest size given
    shared: list[Arg] = []
    for arg in d.args:
        value = arg.value
        if value == "builtin":
            sizes.append(20480)  # OpenSSL's SSL_SESSION_CACHE_MAX_SIZE_DEFAULT
            continue
        if value.startswith("builtin:"):
            number = value[len("builtin:") :]
            if not number.isdigit() or int(number) < 1:
                raise ValueProblem(
                    "invalid-value",
                    f'invalid session cache size "{number}" in "ssl_session_cache" directive',
                    arg.span,
                    "builtin:N counts sessions, e.g. builtin:1000",
                )
            sizes.append(int(number))
            continue
        match = _SHARED.fullmatch(value)
        if match is None:
            raise ValueProblem(
                "invalid-value",
                f'invalid value "{value}" in "ssl_session_cache" directive',
                arg.span,
                "it is off, none, builtin[:N] or shared:NAME:SIZE (e.g. shared:SSL:10m)",
            )
        shared_size = parse_size(Arg(match.group(2), arg.span, arg.raw, arg.quoted), d.name)
        if shared_size < _MIN_SHARED_CACHE:
            raise ValueProblem(
                "invalid-value",
                f'session cache "{value}" is too small',
                arg.span,
                "nginx requires at least 32k",
            )
        # nginx stores about 4000 sessions per megabyte
        sizes.append(shared_size * 4000 // (1024 * 1024))
        shared.append(arg)
    size = max(sizes)
    for arg in shared:
        # nginx's shared memory zone has no webserv equivalent: like a listen parameter
        # webserv ignores, it is porting advice, and its size still sizes each worker's cache
        ctx.warnings.append(
            ValueProblem(
                "unsupported-nginx-directive",
                f'"{arg.value}": webserv has no cache shared by the workers; each keeps its own',
                arg.span,
                f"each worker keeps an OpenSSL cache of {size} sessions, emptied on reload: a "
                "client resumes its session when it reaches the same worker again (always with "
                f"workers 1); write `ssl_session_cache builtin:{size};` to say so",
            )
        )
    return f"builtin:{size}"


def _ecdh_curve(d: Directive, _: ParseContext) -> str:
    arg = first_arg(d)
    if arg.value == "auto":
        return "auto"
    from framework.tls_openssl import check_groups  # ssl/ctypes, kept out of the table

    problem = check_groups(arg.value)
    if problem is not None:
        raise ValueProblem(
            "invalid-value",
            f'invalid value "{arg.value}" in "ssl_ecdh_curve" directive: {problem}',
            arg.span,
            "a colon-separated list of groups, e.g. X25519:prime256v1:secp384r1, or auto",
        )
    return arg.value


# fmt: off
SPECS: list[DirectiveSpec] = [
    spec("ssl_certificate", "HS", "ssl_certificate FILE;", parse=as_path, scope="server",
         field="ssl_certificate",
         summary="PEM certificate of the server, followed by its intermediate certificates"),
    spec("ssl_certificate_key", "HS", "ssl_certificate_key FILE;", parse=as_path,
         scope="server", field="ssl_certificate_key",
         summary="PEM private key of ssl_certificate (unencrypted)"),
    spec("ssl_protocols", "HS", "ssl_protocols [TLSv1] [TLSv1.1] [TLSv1.2] [TLSv1.3];",
         max_args=None, parse=_protocols, scope="server", field="ssl_protocols",
         default="TLSv1.2 TLSv1.3", summary="TLS versions offered (a contiguous range)"),
    spec("ssl_ciphers", "HS", "ssl_ciphers LIST;", parse=_ciphers, scope="server",
         field="ssl_ciphers", default="HIGH:!aNULL:!MD5",
         summary="OpenSSL cipher list for TLS 1.2 and below"),
    spec("ssl_prefer_server_ciphers", "HS", "ssl_prefer_server_ciphers on|off;",
         parse=as_flag, scope="server", field="ssl_prefer_server_ciphers", default="off",
         summary="the server's cipher order wins over the client's"),
    spec("ssl_session_tickets", "HS", "ssl_session_tickets on|off;", parse=as_flag,
         scope="server", field="ssl_session_tickets", default="on",
         summary="resume sessions with tickets (keys shared by the workers, renewed on reload)"),
    spec("ssl_session_timeout", "HS", "ssl_session_timeout TIME;", parse=as_time,
         scope="server", field="ssl_session_timeout", default="5m",
         summary="how long a session (cache entry or ticket) can be resumed"),
    spec("ssl_session_cache", "HS",
         "ssl_session_cache off|none|[builtin[:N]] [shared:NAME:SIZE];", max_args=2,
         parse=_session_cache, scope="server", field="ssl_session_cache", default="none",
         summary="server-side session cache: OpenSSL's, one per worker (shared:... is "
                 "accepted and sized, not shared between workers)"),
    spec("ssl_ecdh_curve", "HS", "ssl_ecdh_curve auto|CURVE[:CURVE...];",
         parse=_ecdh_curve, scope="server", field="ssl_ecdh_curve", default="auto",
         summary="key exchange groups, in preference order"),
    spec("ssl_dhparam", "HS", "ssl_dhparam FILE;", parse=as_path, scope="server",
         field="ssl_dhparam", summary="PEM DH parameters for DHE ciphers"),
]
# fmt: on
