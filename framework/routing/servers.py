"""Virtual server selection: by the accepting socket's address, then by ``Host``.

nginx rules: the servers listening on the exact ``ip:port`` of the accepted connection are
the candidates, else those on the wildcard address with that port. Among them, the
``server_name`` match by precedence -- exact, longest ``*.example.org`` (or
``.example.org``), longest ``example.*``, first ``~regex`` in file order -- else the
address's default server (the ``default_server`` one, else the first listed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from framework.bounded_cache import BoundedCache, bounded_memo
from framework.config.models import Config, ServerConfig
from framework.http.variables import captures_of

_WILDCARDS = ("0.0.0.0", "::")
MEMO_ENTRIES = 4096  # (address, Host) pairs: a few per virtual server in practice
SOCKNAME_ENTRIES = 256  # local addresses the server accepts on
HOST_MEMO_MAX = 255  # longer Host values are no DNS name: routed, not remembered


@dataclass
class _AddressGroup:
    """The servers sharing one listen address, with their names precomputed."""

    default: ServerConfig
    exact: dict[str, ServerConfig] = field(default_factory=dict)
    leading: list[tuple[str, ServerConfig]] = field(default_factory=list)  # ".example.org"
    trailing: list[tuple[str, ServerConfig]] = field(default_factory=list)  # "example."
    regexes: list[tuple[re.Pattern[str], ServerConfig]] = field(default_factory=list)

    def add(self, server: ServerConfig) -> None:
        for raw in server.server_names:
            name = raw.lower()
            if name.startswith("~"):
                self.regexes.append((re.compile(raw[1:], re.IGNORECASE), server))
            elif name.startswith("*."):
                self.leading.append((name[1:], server))
            elif name.startswith("."):
                self.exact.setdefault(name[1:], server)
                self.leading.append((name, server))
            elif name.endswith(".*"):
                self.trailing.append((name[:-1], server))
            else:
                self.exact.setdefault(name, server)

    def finish(self) -> None:
        # longest first; sort is stable, so equal lengths keep file order
        self.leading.sort(key=lambda item: -len(item[0]))
        self.trailing.sort(key=lambda item: -len(item[0]))

    def find(self, host: str) -> ServerConfig:
        server = self.exact.get(host)
        if server is not None:
            return server
        for suffix, server in self.leading:
            if host.endswith(suffix) and len(host) > len(suffix):
                return server
        for prefix, server in self.trailing:
            if host.startswith(prefix) and len(host) > len(prefix):
                return server
        for regex, server in self.regexes:
            if regex.search(host):
                return server
        return self.default


def _plain_ip(ip: str) -> str:
    if ip.startswith("::ffff:") and "." in ip:
        return ip[7:]
    return ip


class ServerSelector:
    """Chooses the ``ServerConfig`` for a request; everything is precomputed here."""

    def __init__(self, config: Config) -> None:
        if not config.servers:
            raise ValueError("configuration has no server")
        self._fallback = config.servers[0]
        members: dict[tuple[str, int], list[ServerConfig]] = {}
        defaults: dict[tuple[str, int], ServerConfig] = {}
        for server in config.servers:
            for listen in server.listens:
                address = (_plain_ip(listen.host), listen.port)
                listed = members.setdefault(address, [])
                if not any(member is server for member in listed):
                    listed.append(server)
                if listen.default_server and address not in defaults:
                    defaults[address] = server
        self._groups: dict[tuple[str, int], _AddressGroup] = {}
        for address, servers in members.items():
            group = _AddressGroup(default=defaults.get(address, servers[0]))
            for server in servers:
                group.add(server)
            group.finish()
            self._groups[address] = group
        # an address that no listen directive names gets the first server, whatever the Host
        self._unknown_address = _AddressGroup(default=self._fallback)
        self._by_sockname: BoundedCache[tuple[str, int], _AddressGroup] = BoundedCache(
            SOCKNAME_ENTRIES
        )
        self._remembered = bounded_memo(MEMO_ENTRIES)(self._select)
        # the servers named by a regex, whose captures ($1, (?<name>...)) are variables
        self._regex_names: dict[int, list[re.Pattern[str]]] = {}
        for server in config.servers:
            regexes = [
                re.compile(raw[1:], re.IGNORECASE)
                for raw in server.server_names
                if raw.startswith("~")
            ]
            if regexes:
                self._regex_names[id(server)] = regexes

    def _group(self, sockname: tuple[Any, ...]) -> _AddressGroup:
        key = (sockname[0], sockname[1])
        group = self._by_sockname.get(key)
        if group is not None:
            return group
        ip = _plain_ip(key[0])
        port = key[1]
        group = self._groups.get((ip, port))
        if group is None:
            first = "::" if ":" in ip else "0.0.0.0"
            for wildcard in (first, *_WILDCARDS):
                group = self._groups.get((wildcard, port))
                if group is not None:
                    break
        if group is None:
            group = self._unknown_address
        self._by_sockname.put(key, group)
        return group

    def default_for(self, sockname: tuple[Any, ...]) -> ServerConfig:
        """The default server of the address that accepted the connection."""
        return self._group(sockname).default

    def captures(self, server: ServerConfig, host: str) -> dict[str, str] | None:
        """The captures of ``server``'s first ``server_name ~regex`` that matches
        ``host`` (nginx makes them variables: ``$1``, ``$sub`` of ``(?<sub>...)``), or
        None."""
        regexes = self._regex_names.get(id(server))
        if regexes is None:
            return None
        if host[-1:] == ".":
            host = host[:-1]
        for regex in regexes:
            match = regex.search(host)
            if match is not None:
                return captures_of(match)
        return None

    def select(self, sockname: tuple[Any, ...], host: str) -> ServerConfig:
        """The server for a request that arrived on ``sockname`` with ``host`` (already
        without port and lower-cased; '' when absent)."""
        if host[-1:] == ".":  # "example.org." is "example.org" (nginx drops one final dot)
            host = host[:-1]
        if len(host) <= HOST_MEMO_MAX:
            return self._remembered(sockname[0], sockname[1], host)
        return self._select(sockname[0], sockname[1], host)

    def _select(self, ip: str, port: int, host: str) -> ServerConfig:
        return self._group((ip, port)).find(host)
