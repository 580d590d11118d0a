"""Server-side TLS contexts built from the configuration.

``server_contexts(config)`` gives one ``ssl.SSLContext`` per listening address that has
``ssl`` in a ``listen``. Each address's context carries its default server's certificate and
settings, and an ``sni_callback`` that switches the handshake to the context of the server
that HTTP routing would pick for that name (``ServerSelector``: exact, wildcard, regex,
default), as nginx does. Certificates and keys are read here, so building the contexts again
on reload (SIGHUP) picks up renewed files; connections already open keep their context.

nginx semantics kept: the protocols, ciphers and cipher preference of the *default* server of
an address govern the handshake (the ClientHello is answered before SNI is known for those);
a server chosen by SNI that has no certificate of its own leaves the default's in place.
"""

from __future__ import annotations

import functools
import hashlib
import os
import ssl
from collections.abc import Callable

from framework import tls_openssl as openssl
from framework.config.models import Config, Listen, ServerConfig, shown_address
from framework.routing.servers import ServerSelector

__all__ = [
    "TlsSetupError",
    "server_contexts",
    "ssl_addresses",
    "ALPN_PROTOCOLS",
    "new_ticket_keys",
    "use_ticket_keys",
]

ALPN_PROTOCOLS = ["http/1.1", "http/1.0", "http/0.9"]  # nginx 1.22 without http2, in its order

_VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


# the session ticket keys every context built in this process gets (None: OpenSSL's own
# random keys per context); a master sets them for each generation of workers it forks
_ticket_keys: bytes | None = None


def new_ticket_keys() -> bytes:
    """Fresh random session ticket keys (name, HMAC secret, AES key) for one configuration
    load: the master makes them once and all the workers of that generation share them."""
    return os.urandom(openssl.TICKET_KEYS_SIZE)


def use_ticket_keys(keys: bytes | None) -> None:
    """Give every context built from now on in this process these ticket keys, so that a
    ticket one worker issued resumes on another (nginx builds its SSL_CTX in the master,
    before forking, to the same effect); None goes back to a random key set per context."""
    global _ticket_keys
    _ticket_keys = keys


class TlsSetupError(Exception):
    """A certificate or key could not be loaded, or a TLS setting was refused by OpenSSL.
    The message names the server, the file and OpenSSL's reason."""


def ssl_addresses(config: Config) -> list[tuple[str, int]]:
    """The configured listen addresses (``Listen.address``) that have ``ssl`` somewhere
    (nginx: one ``ssl`` on an address makes the whole socket TLS), in file order."""
    found: list[tuple[str, int]] = []
    for server in config.servers:
        for listen in server.listens:
            if listen.ssl and listen.address not in found:
                found.append(listen.address)
    return found


def _default_servers(config: Config) -> dict[tuple[str, int], tuple[ServerConfig, Listen]]:
    """Each address's default server (``default_server``, else the first listed) and the
    listen directive that made the address TLS (for messages)."""
    first: dict[tuple[str, int], ServerConfig] = {}
    marked: dict[tuple[str, int], ServerConfig] = {}
    ssl_listen: dict[tuple[str, int], Listen] = {}
    for server in config.servers:
        for listen in server.listens:
            first.setdefault(listen.address, server)
            if listen.default_server:
                marked.setdefault(listen.address, server)
            if listen.ssl:
                ssl_listen.setdefault(listen.address, listen)
    return {
        address: (marked.get(address, first[address]), listen)
        for address, listen in ssl_listen.items()
    }


def _where(server: ServerConfig) -> str:
    names = " ".join(name for name in server.server_names if name) or '""'
    return f"server {names}" + (f" at {server.span}" if server.span is not None else "")


def _settings_key(server: ServerConfig) -> tuple[object, ...]:
    return (
        server.ssl_certificate,
        server.ssl_certificate_key,
        tuple(sorted(server.ssl_protocols)),
        server.ssl_ciphers,
        server.ssl_prefer_server_ciphers,
        server.ssl_session_tickets,
        server.ssl_session_timeout,
        server.ssl_session_cache,
        server.ssl_ecdh_curve,
        server.ssl_dhparam,
    )


def build_context(server: ServerConfig) -> ssl.SSLContext:
    """A server-side context with ``server``'s certificate chain, key and TLS settings
    (without SNI switching). Raises ``TlsSetupError``."""
    if server.ssl_certificate is None:
        raise TlsSetupError(f'no "ssl_certificate" is defined for {_where(server)}')
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    versions = sorted(_VERSIONS[name] for name in server.ssl_protocols if name in _VERSIONS)
    if not versions:
        raise TlsSetupError(f"no known protocol in ssl_protocols for {_where(server)}")
    try:
        ctx.minimum_version = versions[0]
        ctx.maximum_version = versions[-1]
    except ValueError as exc:  # a version this OpenSSL was built without
        raise TlsSetupError(f"ssl_protocols of {_where(server)}: {exc}") from exc
    try:
        ctx.set_ciphers(server.ssl_ciphers)
    except ssl.SSLError as exc:
        raise TlsSetupError(
            f'ssl_ciphers "{server.ssl_ciphers}" of {_where(server)}: OpenSSL accepts no '
            f"cipher in it ({getattr(exc, 'reason', None) or exc})"
        ) from exc
    options = ctx.options | ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    # CPython sets OP_CIPHER_SERVER_PREFERENCE on every context; nginx's default is off
    if server.ssl_prefer_server_ciphers:
        options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    if not server.ssl_session_tickets:
        options |= ssl.OP_NO_TICKET
    ctx.options = options
    if server.ssl_session_tickets and _ticket_keys is not None:
        _install_ticket_keys(ctx, _ticket_keys)
    ctx.set_alpn_protocols(ALPN_PROTOCOLS)
    _session_settings(ctx, server)
    if server.ssl_ecdh_curve != "auto":
        try:
            openssl.set_groups(ctx, server.ssl_ecdh_curve)
        except (OSError, ValueError):
            # without libssl access, one curve still works through the stdlib
            names = server.ssl_ecdh_curve.split(":")
            try:
                ctx.set_ecdh_curve(names[0])
            except ValueError as exc:
                raise TlsSetupError(f"ssl_ecdh_curve of {_where(server)}: {exc}") from exc
    if server.ssl_dhparam is not None:
        try:
            ctx.load_dh_params(str(server.ssl_dhparam))
        except OSError as exc:
            reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
            raise TlsSetupError(
                f'cannot load ssl_dhparam "{server.ssl_dhparam}" of {_where(server)}: {reason}'
            ) from exc
    key = server.ssl_certificate_key or server.ssl_certificate
    try:
        ctx.load_cert_chain(server.ssl_certificate, key)
    except FileNotFoundError as exc:
        raise TlsSetupError(
            f'cannot load certificate "{server.ssl_certificate}" or key "{key}" of '
            f"{_where(server)}: {exc.strerror}: {exc.filename or ''}".rstrip(": ")
        ) from exc
    except OSError as exc:  # ssl.SSLError is an OSError
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        raise TlsSetupError(
            f'cannot load certificate "{server.ssl_certificate}" with key "{key}" of '
            f"{_where(server)}: {reason}"
        ) from exc
    return ctx


def _session_settings(ctx: ssl.SSLContext, server: ServerConfig) -> None:
    """``ssl_session_timeout`` and ``ssl_session_cache`` on ``ctx`` (OpenSSL's defaults,
    7200 s and a cache of 20480 sessions, where libssl cannot be reached)."""
    if not openssl.available():
        _warn_openssl_unreachable()
        return
    openssl.set_session_timeout(ctx, server.ssl_session_timeout)
    kind, _, size = server.ssl_session_cache.partition(":")
    openssl.set_session_cache(ctx, kind, int(size or 0))


@functools.cache
def _warn_openssl_unreachable() -> None:
    from framework.logs import error_log

    error_log.warning(
        "libssl is not reachable through ctypes: ssl_session_timeout, ssl_session_cache "
        "and ssl_ecdh_curve lists fall back to OpenSSL's defaults (2h, 20480 sessions)"
    )


def _address_ticket_keys(keys: bytes, address: tuple[str, int]) -> bytes:
    """The ticket keys of one listening address, derived from a generation's keys."""
    host, port = address
    return hashlib.shake_256(keys + f"{host} {port}".encode()).digest(len(keys))


def _install_ticket_keys(ctx: ssl.SSLContext, keys: bytes) -> None:
    try:
        openssl.set_ticket_keys(ctx, keys)
    except (OSError, ValueError) as exc:
        _warn_ticket_keys(str(exc))


@functools.cache
def _warn_ticket_keys(reason: str) -> None:
    from framework.logs import error_log

    error_log.warning(
        "session ticket keys cannot be shared by the workers (%s): each worker keeps its "
        "own, and a ticket resumes only on the worker that issued it",
        reason,
    )


SniCallback = Callable[[ssl.SSLObject, str | None, ssl.SSLContext], int | None]


def _sni_callback(
    address: tuple[str, int],
    default: ServerConfig,
    selector: ServerSelector,
    contexts: dict[int, ssl.SSLContext],
) -> SniCallback:
    def choose(sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> int | None:
        if not name:
            return None  # no SNI: the default server's certificate, already in place
        server = selector.select(address, name.lower())
        if server is default:
            return None  # keep the address's own context (and its session cache)
        chosen = contexts.get(id(server))
        if chosen is not None and chosen is not sslobj.context:
            sslobj.context = chosen
        return None

    return choose


def server_contexts(config: Config) -> dict[tuple[str, int], ssl.SSLContext]:
    """One server-side ``SSLContext`` per listening address that has ``ssl`` in a listen,
    keyed by the address as configured (``Listen.address``), with an ``sni_callback``
    selecting each server's certificate (the default server's without SNI), ALPN
    ``http/1.1``, protocols, ciphers, tickets and session cache set.

    Raises ``TlsSetupError(message)`` if a certificate or key cannot be loaded, or an
    ``ssl`` address's default server has no certificate. Look a connection's context up
    with ``transports.Transports.for_local`` (a specific address may be served by a
    wildcard socket)."""
    defaults = _default_servers(config)
    if not defaults:
        return {}
    selector = ServerSelector(config)
    # one context per distinct settings, shared by the servers that have them
    by_settings: dict[tuple[object, ...], ssl.SSLContext] = {}
    by_server: dict[int, ssl.SSLContext] = {}
    ssl_members: set[int] = set()
    for server in config.servers:
        if any(listen.address in defaults for listen in server.listens):
            ssl_members.add(id(server))
    for server in config.servers:
        if id(server) not in ssl_members or server.ssl_certificate is None:
            continue
        key = _settings_key(server)
        ctx = by_settings.get(key)
        if ctx is None:
            ctx = by_settings[key] = build_context(server)
        by_server[id(server)] = ctx
    result: dict[tuple[str, int], ssl.SSLContext] = {}
    for address, (default, listen) in defaults.items():
        if default.ssl_certificate is None:
            shown = shown_address(address)
            where = f" in {listen.span}" if listen.span is not None else ""
            raise TlsSetupError(
                f'no "ssl_certificate" is defined for the listen ... ssl directive{where} '
                f"(address {shown})"
            )
        # the address's own context: a fresh one so that its sni_callback (bound to this
        # address's servers) does not leak onto a context shared with another address
        ctx = build_context(default)
        if default.ssl_session_tickets and _ticket_keys is not None:
            # OpenSSL encrypts tickets with the keys of the context a handshake started on
            # (the address's): each address its own keys, as each nginx SSL_CTX has, the
            # same in every worker of a generation
            _install_ticket_keys(ctx, _address_ticket_keys(_ticket_keys, address))
        ctx.sni_callback = _sni_callback(address, default, selector, by_server)
        result[address] = ctx
    return result
