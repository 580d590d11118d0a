"""What each listening address speaks besides HTTP: TLS (``listen ... ssl``) and the PROXY
protocol (``listen ... proxy_protocol``), resolved once per configuration (startup, reload)
into ``Transports``, which the accept loop asks for an accepted socket's local address."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from framework.config.models import Config
from framework.core.tls import prepare_context
from framework.tls import TlsSetupError, server_contexts

__all__ = ["ListenTransport", "TlsSetupError", "Transports", "build_transports"]

Address = tuple[str, int]


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
            host, port = local
            wildcards: tuple[str, ...] = ("::",) if ":" in host else ("0.0.0.0",)
            if host.startswith("::ffff:") and "." in host:  # IPv4 on a dual-stack socket
                found = self._by_address.get((host[7:], port))
                wildcards = ("0.0.0.0", "::")
            for wildcard in wildcards:
                if found is None:
                    found = self._by_address.get((wildcard, port))
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
    contexts = server_contexts(config) if ssl_addresses else {}
    by_address: dict[Address, ListenTransport] = {}
    for address in ssl_addresses | proxied:
        context = contexts.get(address) if address in ssl_addresses else None
        if address in ssl_addresses and context is None:
            raise TlsSetupError(f'no "ssl_certificate" is defined for {address[0]}:{address[1]}')
        if context is not None:
            prepare_context(context)
        by_address[address] = ListenTransport(context, address in proxied)
    return Transports(by_address)
