"""Lints for TLS: an ``ssl`` listen whose default server has no certificate, one address
with ``ssl`` in one server and not in another, and (looking at the files, so skipped with
``--no-fs``) each certificate and key pair: unreadable or invalid PEM, a key that does not
match, an expired or soon expiring certificate, a ``server_name`` the certificate does not
cover (RFC 6125 matching), unreadable DH parameters."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from cryptography.x509.oid import NameOID

from config_grammar.diagnostics import Diagnostic
from config_grammar.tree import Directive
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config, Listen, ServerConfig
from framework.config.models import shown_address as _shown

EXPIRY_WARNING = datetime.timedelta(days=14)
_MAX_PEM = 1024 * 1024  # a certificate chain is a few KiB; never slurp a huge file


def _listen_node(ctx: LintContext, server: ServerConfig, listen: Listen) -> Directive | None:
    return ctx.by_span.get(listen.span) if listen.span is not None else None


def _groups(ctx: LintContext) -> dict[tuple[str, int], list[tuple[ServerConfig, Listen]]]:
    groups: dict[tuple[str, int], list[tuple[ServerConfig, Listen]]] = {}
    for server in ctx.config.servers:
        for listen in server.listens:
            groups.setdefault(listen.address, []).append((server, listen))
    return groups


def _default(members: list[tuple[ServerConfig, Listen]]) -> tuple[ServerConfig, Listen]:
    return next((m for m in members if m[1].default_server), members[0])


def check_ssl_without_certificate(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """nginx refuses to start when the default server of an ``ssl`` address has no
    certificate; another server without one gets the default's certificate."""
    for address, members in _groups(ctx).items():
        ssl_listens = [m for m in members if m[1].ssl]
        if not ssl_listens:
            continue
        default, default_listen = _default(members)
        if default.ssl_certificate is None:
            listen = default_listen if default_listen.ssl else ssl_listens[0][1]
            node = _listen_node(ctx, default, listen)
            yield warn(
                "ssl-without-certificate",
                f'no "ssl_certificate" is defined for the listen ... ssl directive '
                f"({_shown(address)})",
                node,
                hint="add ssl_certificate and ssl_certificate_key to the server (or the top "
                "level); `webserv cert NAME` writes a development pair",
                severity="error",
            )
            continue
        for server, listen in ssl_listens:
            if server is not default and server.ssl_certificate is None:
                yield warn(
                    "ssl-without-certificate",
                    f"this server has no ssl_certificate: clients get the default server's "
                    f"certificate ({default.ssl_certificate.name}) for its names",
                    _listen_node(ctx, server, listen),
                    hint="give it its own ssl_certificate, or names the default's covers",
                )


def check_mixed_ssl_listen(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """One socket per address: ``ssl`` in any listen of it makes all of it TLS."""
    for address, members in _groups(ctx).items():
        with_ssl = [m for m in members if m[1].ssl]
        if not with_ssl or len(with_ssl) == len(members):
            continue
        tls_node = _listen_node(ctx, *with_ssl[0])
        where = f" (at {tls_node.span})" if tls_node is not None else ""
        for server, listen in members:
            if listen.ssl:
                continue
            yield warn(
                "mixed-ssl-listen",
                f"{_shown(address)} is TLS for every server: another server's listen has ssl"
                f"{where}",
                _listen_node(ctx, server, listen),
                hint="clients of this server must use https too (as in nginx, which shares "
                "the socket); write ssl here to say so, or use another port for plain HTTP",
            )


# -- the files --------------------------------------------------------------------------


@dataclass
class _Loaded:
    chain: list[x509.Certificate]
    problems: list[Diagnostic]


def _read(path: Path) -> tuple[bytes | None, str | None]:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_PEM + 1)
    except OSError as exc:
        return None, exc.strerror or str(exc)
    if len(data) > _MAX_PEM:
        return None, "larger than 1 MiB: not a PEM certificate or key"
    return data, None


def _node_for(ctx: LintContext, server: ServerConfig, name: str) -> Directive | None:
    return ctx.written(server, server.context, (name,))


def _error(rule: str, message: str, node: Directive | None, hint: str) -> Diagnostic:
    span = node.args[0].span if node is not None and node.args else None
    return warn(rule, message, node, span, hint, severity="error")


def _load_pair(ctx: LintContext, server: ServerConfig) -> _Loaded:
    assert server.ssl_certificate is not None
    cert_node = _node_for(ctx, server, "ssl_certificate")
    key_node = _node_for(ctx, server, "ssl_certificate_key")
    loaded = _Loaded([], [])
    data, reason = _read(server.ssl_certificate)
    if data is not None:
        try:
            loaded.chain = x509.load_pem_x509_certificates(data)
        except ValueError:
            reason = "no PEM certificate in it"
    if reason is not None:
        loaded.problems.append(
            _error(
                "tls-certificate-invalid",
                f'cannot load certificate "{server.ssl_certificate}": {reason}',
                cert_node,
                "the file holds the server's certificate, then its intermediates, as PEM "
                "(-----BEGIN CERTIFICATE-----)",
            )
        )
    if server.ssl_certificate_key is None:
        loaded.problems.append(
            _error(
                "tls-certificate-invalid",
                f'no "ssl_certificate_key" is defined for certificate "{server.ssl_certificate}"',
                cert_node,
                "add ssl_certificate_key FILE; next to it",
            )
        )
        return loaded
    key_data, reason = _read(server.ssl_certificate_key)
    key = None
    if key_data is not None:
        try:
            key = load_pem_private_key(key_data, password=None)
        except TypeError:
            reason = "the key is encrypted (webserv cannot ask for its passphrase)"
        except (ValueError, UnsupportedAlgorithm) as exc:
            reason = f"not a PEM private key ({str(exc).splitlines()[0]})"
    if reason is not None or key is None:
        hint = (
            "decrypt it: openssl pkey -in KEY -out KEY.plain (keep it mode 600)"
            if reason and "encrypted" in reason
            else "the file holds the private key as PEM (-----BEGIN PRIVATE KEY-----)"
        )
        loaded.problems.append(
            _error(
                "tls-key-invalid",
                f'cannot load key "{server.ssl_certificate_key}": {reason}',
                key_node,
                hint,
            )
        )
        return loaded
    if loaded.chain:
        spki = Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(*spki) != loaded.chain[0].public_key().public_bytes(*spki):
            loaded.problems.append(
                _error(
                    "tls-key-mismatch",
                    f'key "{server.ssl_certificate_key}" does not match certificate '
                    f'"{server.ssl_certificate}"',
                    key_node,
                    "the key must be the one the certificate was issued for; the first "
                    "certificate in the file must be the server's own (then intermediates)",
                )
            )
    return loaded


def _validity(
    ctx: LintContext, server: ServerConfig, cert: x509.Certificate
) -> Iterator[Diagnostic]:
    now = datetime.datetime.now(datetime.UTC)
    node = _node_for(ctx, server, "ssl_certificate")
    span = node.args[0].span if node is not None and node.args else None
    after, before = cert.not_valid_after_utc, cert.not_valid_before_utc
    path = server.ssl_certificate
    if after <= now:
        yield warn(
            "tls-certificate-expired",
            f'certificate "{path}" expired on {after:%Y-%m-%d %H:%M} UTC',
            node,
            span,
            "renew it (clients refuse an expired certificate)",
            severity="error",
        )
    elif before > now:
        yield warn(
            "tls-certificate-not-yet-valid",
            f'certificate "{path}" is not valid before {before:%Y-%m-%d %H:%M} UTC',
            node,
            span,
            "check the system clock, or the certificate's dates",
        )
    elif after - now < EXPIRY_WARNING:
        days = (after - now).days
        yield warn(
            "tls-certificate-expiring",
            f'certificate "{path}" expires in {days} day{"s" if days != 1 else ""} '
            f"({after:%Y-%m-%d} UTC)",
            node,
            span,
            "renew it now; webserv loads the new files on reload (SIGHUP)",
        )


def certificate_names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the certificate is for: its subjectAltName entries, or
    its subject's common names when it has no DNS name (RFC 6125 section 6.4.4)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = [name.lower() for name in san.get_values_for_type(x509.DNSName)]
        ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        dns, ips = [], []
    if not dns:
        dns = [
            str(attr.value).lower()
            for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ]
    return dns, ips


def name_matches(pattern: str, host: str) -> bool:
    """RFC 6125 section 6.4.3: a ``*`` only as the whole left-most label, standing for
    exactly one label (never for a public suffix like ``*.com``)."""
    pattern, host = pattern.rstrip(".").lower(), host.rstrip(".").lower()
    if not pattern.startswith("*."):
        return pattern == host
    suffix = pattern[1:]  # ".example.org"
    if suffix.count(".") < 2:
        return False
    head, dot, rest = host.partition(".")
    return bool(head) and bool(dot) and "." + rest == suffix


def _hosts_for(server_name: str) -> list[str] | None:
    """Host names that stand for a server_name when checking coverage; None: not
    checkable (regex, ``example.*``, empty, ``_``)."""
    if not server_name or server_name == "_" or server_name.startswith("~"):
        return None
    if server_name.endswith(".*"):
        return None
    if server_name.startswith("*."):
        return ["webserv-check" + server_name[1:]]
    if server_name.startswith("."):
        return [server_name[1:], "webserv-check" + server_name]
    return [server_name]


def _covers(dns: list[str], ips: list[str], host: str, written: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return str(address) in ips
    if written.startswith(("*.", ".")) and host.startswith("webserv-check."):
        # a wildcard server name needs a wildcard certificate name for the same domain
        return any(pattern == "*" + host[len("webserv-check") :] for pattern in dns)
    return any(name_matches(pattern, host) for pattern in dns)


def _uncovered(
    ctx: LintContext, server: ServerConfig, cert: x509.Certificate
) -> Iterator[Diagnostic]:
    dns, ips = certificate_names(cert)
    node = ctx.by_span.get(server.span) if server.span is not None else None
    name_nodes = [d for d in (node.children if node is not None else []) if d.name == "server_name"]
    for written in server.server_names:
        hosts = _hosts_for(written)
        if hosts is None or all(_covers(dns, ips, host, written) for host in hosts):
            continue
        where = next(
            ((d, arg.span) for d in name_nodes for arg in d.args if arg.value.lower() == written),
            (None, None),
        )
        shown = ", ".join(dns + ips) or "no names"
        yield warn(
            "tls-name-not-covered",
            f'server_name "{written}" is not covered by certificate '
            f'"{server.ssl_certificate}" (it is for {shown})',
            where[0],
            where[1],
            "clients will refuse the connection for this name: add it to the certificate's "
            "names (webserv cert NAME... takes several) or give this server its own",
        )


def _tls_servers(ctx: LintContext) -> list[ServerConfig]:
    """Servers whose certificate is used: those on an address that has ssl."""
    ssl_addresses = {
        listen.address for s in ctx.config.servers for listen in s.listens if listen.ssl
    }
    return [
        server
        for server in ctx.config.servers
        if server.ssl_certificate is not None
        and any(listen.address in ssl_addresses for listen in server.listens)
    ]


def check_certificate_files(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """Each certificate and key pair loads, matches and is in date; names are covered."""
    seen: dict[tuple[Path | None, Path | None], _Loaded] = {}
    for server in _tls_servers(ctx):
        pair = (server.ssl_certificate, server.ssl_certificate_key)
        loaded = seen.get(pair)
        first = loaded is None
        if loaded is None:
            loaded = seen[pair] = _load_pair(ctx, server)
            yield from loaded.problems
        if not loaded.chain:
            continue
        if first:
            yield from _validity(ctx, server, loaded.chain[0])
        yield from _uncovered(ctx, server, loaded.chain[0])
    for server in _tls_servers(ctx):
        if server.ssl_dhparam is None:
            continue
        reason = None
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_dh_params(str(server.ssl_dhparam))
        except OSError as exc:  # ssl.SSLError included
            reason = getattr(exc, "reason", None) or exc.strerror or "no PEM DH parameters"
        if reason is not None:
            yield _error(
                "tls-dhparam-invalid",
                f'cannot load ssl_dhparam "{server.ssl_dhparam}": {reason}',
                _node_for(ctx, server, "ssl_dhparam"),
                "openssl dhparam -out dhparam.pem 2048 writes one; or drop it (ECDHE needs none)",
            )


RULES: list[LintRule] = [
    LintRule(
        "ssl-without-certificate",
        "an ssl listen whose default server has no ssl_certificate (error)",
        check_ssl_without_certificate,
        severity="error",
    ),
    LintRule(
        "mixed-ssl-listen",
        "one address with ssl in one server's listen and not another's (all of it is TLS)",
        check_mixed_ssl_listen,
    ),
    LintRule(
        "tls-certificate",
        "certificate/key pairs: invalid PEM, key mismatch, expired (errors), expiring in "
        "under 14 days, server_name not covered by the certificate",
        check_certificate_files,
        True,
        severity="error",
    ),
]
