"""What each listening address speaks besides HTTP: TLS (``listen ... ssl``) and the PROXY
protocol (``listen ... proxy_protocol``), resolved once per configuration (startup, reload)
into ``Transports``, which the accept loop asks for an accepted socket's local address."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from framework.config.models import Config
from framework.core.tls import prepare_context

Address = tuple[str, int]


class TlsSetupError(Exception):
    """A certificate or key of the configuration cannot be loaded."""


@dataclass(frozen=True, slots=True)
class ListenTransport:
    """How connections to one listen address start: ``tls`` is its server context."""

    tls: ssl.SSLContext | None
    proxy_protocol: bool


class Transports:
    """``ListenTransport`` per listen address; an address not listed is plain HTTP."""

    __slots__ = ("_by_address",)

    def __init__(self, by_address: dict[Address, ListenTransport]) -> None:
        self._by_address = by_address

    def __bool__(self) -> bool:
        return bool(self._by_address)

    def for_local(self, local: Address) -> ListenTransport | None:
        """The transport of the listen address a connection to ``local`` came in on: that
        exact address, else the wildcard of its family and port (as nginx finds a
        connection's address configuration)."""
        found = self._by_address.get(local)
        if found is None and self._by_address:
            wildcard = "::" if ":" in local[0] else "0.0.0.0"
            found = self._by_address.get((wildcard, local[1]))
        return found


def build_transports(config: Config) -> Transports:
    """The transports of ``config`` (raises ``TlsSetupError``)."""
    ssl_addresses: set[Address] = set()
    proxied: set[Address] = set()
    for server in config.servers:
        for listen in server.listens:
            if listen.ssl:
                ssl_addresses.add(listen.address)
            if listen.proxy_protocol:
                proxied.add(listen.address)
    if not ssl_addresses and not proxied:
        return Transports({})
    contexts = _server_contexts(config) if ssl_addresses else {}
    by_address: dict[Address, ListenTransport] = {}
    for address in ssl_addresses | proxied:
        context = contexts.get(address) if address in ssl_addresses else None
        if address in ssl_addresses and context is None:
            raise TlsSetupError(f'no "ssl_certificate" is defined for {address[0]}:{address[1]}')
        if context is not None:
            prepare_context(context)
        by_address[address] = ListenTransport(context, address in proxied)
    return Transports(by_address)


def _server_contexts(config: Config) -> dict[Address, ssl.SSLContext]:
    try:
        from framework import tls as tls_config  # the TLS configuration's contexts
    except ImportError:
        return _minimal_contexts(config)
    try:
        return tls_config.server_contexts(config)  # type: ignore[no-any-return]
    except tls_config.TlsSetupError as exc:  # type: ignore[attr-defined]
        raise TlsSetupError(str(exc)) from None


def _minimal_contexts(config: Config) -> dict[Address, ssl.SSLContext]:
    """Stand-in until ``framework.tls`` exists: one context per certificate, chosen by
    exact SNI name, the default server's otherwise."""
    per_server: dict[int, ssl.SSLContext] = {}
    result: dict[Address, ssl.SSLContext] = {}
    names: dict[Address, dict[str, ssl.SSLContext]] = {}
    for server in config.servers:
        cert = getattr(server, "ssl_certificate", None)
        if cert is None:
            continue
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        try:
            context.load_cert_chain(cert, server.ssl_certificate_key or cert)
        except (OSError, ssl.SSLError) as exc:
            raise TlsSetupError(f'cannot load certificate "{cert}": {exc}') from None
        per_server[id(server)] = context
        for listen in server.listens:
            if not listen.ssl:
                continue
            if listen.address not in result or listen.default_server:
                result[listen.address] = context
            for name in server.server_names:
                names.setdefault(listen.address, {}).setdefault(name.lower(), context)
    for address, context in result.items():
        by_name = names.get(address, {})

        def choose(
            sslobj: ssl.SSLObject,
            name: str | None,
            ctx: ssl.SSLContext,
            by_name: dict[str, ssl.SSLContext] = by_name,
        ) -> None:
            chosen = by_name.get(name.lower()) if name else None
            if chosen is not None and chosen is not ctx:
                sslobj.context = chosen

        context.sni_callback = choose  # type: ignore[assignment]
    return result
