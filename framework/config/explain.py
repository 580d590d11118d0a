"""``validate-config --explain URL``: which server and location answer a URL, and why.

Uses the runtime matchers (``framework.routing``), so the answer is the server's own.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from framework.config.directives_map import MapTable
from framework.config.explain_apps import answered_by_app, content_lines
from framework.config.models import Config, Listen, LocationConfig, ServerConfig, shown_address

_SKIPPED_FIELDS = {"modifier", "pattern", "span", "children", "regex", "upstreams"}  # proxy line
_TLS_FIELDS = (
    "ssl_certificate",
    "ssl_certificate_key",
    "ssl_protocols",
    "ssl_ciphers",
    "ssl_prefer_server_ciphers",
    "ssl_session_tickets",
    "ssl_session_timeout",
    "ssl_session_cache",
)


# host[:port] after any userinfo: a bracketed IPv6 literal may only be followed by ":port"
# (urlsplit reads "[::1]x" as ::1 and drops the "x")
_HOST_PORT = re.compile(r"(\[[^\]]*\]|[^\[\]]*)(:[^:\[\]]*)?")


class ExplainError(ValueError):
    """The URL given to ``--explain`` is not one a client could send."""


def check_url(url: str) -> None:
    """Raise ``ExplainError`` unless ``url`` is ``/path``, ``host[:port]/path`` or an http(s)
    URL (checked before the config is loaded, so a typo is a usage error)."""
    _split(url, "127.0.0.1:8080")


def _split(url: str, authority: str) -> tuple[str, str, int, str]:
    """(display URL, lower-case host, port, path?query) of ``url``."""
    if not url or any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise ExplainError(f"invalid URL {url!r}: it is empty or contains spaces")
    if "://" not in url:  # "/path" or "host:port/path"
        url = "http://" + (authority + url if url.startswith("/") else url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ExplainError(f"invalid URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ExplainError(f"invalid URL {url!r}: only http:// and https:// URLs are served")
    if not parts.hostname:
        raise ExplainError(f"invalid URL {url!r}: it has no host")
    if not _HOST_PORT.fullmatch(parts.netloc.rpartition("@")[2]):
        raise ExplainError(f"invalid URL {url!r}: text after the IPv6 address is not a :port")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    default_port = 443 if parts.scheme == "https" else 80
    # port 0 is kept (not the default): no listener can have it, and the answer says so
    return (
        parts.geturl(),
        parts.hostname.lower(),
        default_port if port is None else port,
        target,
    )


def explain(config: Config, url: str) -> str:
    """A human-readable account of how ``url`` is routed by ``config``; raises
    ``ExplainError`` for a URL no client could send."""
    from framework.http.errors import HTTPError
    from framework.routing.locations import LocationMatcher
    from framework.routing.paths import map_path, normalize_target
    from framework.routing.servers import ServerSelector

    if not config.servers:
        return f"URL       {url}\nno server is configured\n"
    if url.startswith("/") and _is_tls(config, config.servers[0].listens[0]):
        url = "https://" + _first_authority(config) + url
    shown, host, port, target = _split(url, _first_authority(config))
    https = shown.startswith("https://")
    lines = [f"URL       {shown}"]
    if "@" in urlsplit(shown).netloc:
        lines.append(
            "          the user name and password are not sent in the request line or Host: "
            "clients send them in an Authorization header"
        )

    listen = _listen_for(config, host, port)
    if listen is None:
        lines.extend(_unreached(config, host, port, https))
        return "\n".join(lines) + "\n"
    selector = ServerSelector(config)
    server = selector.select((listen.host, listen.port), host)
    tls = _is_tls(config, listen)
    lines.extend(_transport_lines(selector, listen, tls, https, host))
    if tls != https:
        return "\n".join(lines) + "\n"
    lines.append(f"server    {_server_title(server)} at {server.span}")
    lines.append(f"          {_server_reason(selector, server, listen, host)}")

    try:
        path, query = normalize_target(target)
    except HTTPError as exc:
        lines.append(f"request   rejected with {exc.status}: {_reason(exc)}")
        return "\n".join(lines) + "\n"
    lines.append(f"path      {path}" + (f"  (query {query!r} is not matched)" if query else ""))
    location = LocationMatcher(server).match(path)
    lines.append(f"location  {_location_title(location)}" + _at(location))
    lines.append(f"          {_location_reason(location)}")
    lines.extend(content_lines(location))
    if location.return_ is None and not location.handlers and not answered_by_app(location):
        try:
            lines.append(f"file      {map_path(location, path)}")
        except HTTPError as exc:
            lines.append(f"file      refused with {exc.status}: {_reason(exc)}")
    lines.append("effective settings:")
    lines.extend(_settings(server, location, tls))
    return "\n".join(lines) + "\n"


def _is_tls(config: Config, listen: Listen) -> bool:
    """Whether connections to ``listen``'s address speak TLS: one ``ssl`` on the address,
    in any server, makes all of it TLS (nginx shares the socket)."""
    return any(
        lst.ssl and lst.address == listen.address for s in config.servers for lst in s.listens
    )


def _unreached(config: Config, host: str, port: int, https: bool) -> list[str]:
    """Why no listen socket takes a connection to ``host:port``."""
    if port == 0:
        return [
            "no server listens on port 0: a client cannot connect to port 0, and no listen can "
            f"use it ({_ports(config)})"
        ]
    on_port = [lst for s in config.servers for lst in s.listens if lst.port == port]
    if on_port:
        listening = ", ".join(dict.fromkeys(_address(lst) for lst in on_port))
        lines = [f"no server listens on {shown_address((host, port))} ({listening})"]
        if _family(host) == 6 and any(lst.host == "0.0.0.0" for lst in on_port):
            lines.append(f"          0.0.0.0 takes IPv4 connections only: add listen [::]:{port}")
        return lines
    lines = [f"no server listens on port {port} ({_ports(config)})"]
    if https and not any(lst.ssl for s in config.servers for lst in s.listens):
        lines.append("          no listen has ssl: this configuration serves no https:// URL")
    return lines


def _ports(config: Config) -> str:
    plain = sorted({lst.port for s in config.servers for lst in s.listens if not lst.ssl})
    tls = sorted({lst.port for s in config.servers for lst in s.listens if lst.ssl})
    parts = [f"http: {', '.join(map(str, plain))}"] if plain else []
    parts += [f"https: {', '.join(map(str, tls))}"] if tls else []
    return "; ".join(parts)


def _transport_lines(selector, listen: Listen, tls: bool, https: bool, host: str) -> list[str]:
    """The listener line, the TLS certificate SNI selects, or why the scheme does not fit."""
    address = _address(listen)
    if not tls:
        line = f"listener  {address} (plain HTTP)"
        if https:
            return [
                line,
                "          an https:// client fails its TLS handshake here: this address has "
                "no ssl listen",
            ]
        return [line]
    line = f"listener  {address} ssl (TLS)"
    if not https:
        return [
            line,
            '          a plain http:// request here is answered 400 "The plain HTTP request '
            'was sent to HTTPS port"; use https://',
        ]
    default = selector.default_for((listen.host, listen.port))
    if _is_ip(host):
        chosen, why = default, "no SNI (clients send none for an IP address): default server"
    else:
        chosen = selector.select((listen.host, listen.port), host)
        why = f'SNI "{host}"'
    cert = chosen.ssl_certificate if chosen.ssl_certificate is not None else None
    if cert is None and default.ssl_certificate is not None:
        cert, why = default.ssl_certificate, why + " (its server has none: the default's)"
    shown = str(cert) if cert is not None else "(none: the handshake cannot succeed)"
    return [line, f"tls       certificate {shown}", f"          {why}"]


def _address(listen: Listen) -> str:
    return shown_address((listen.host, listen.port))


def _is_ip(host: str) -> bool:
    return _family(host) is not None


def _reason(exc: Exception) -> str:
    """The error's detail, without the status code already shown."""
    return getattr(exc, "detail", "") or "no detail"


def _first_authority(config: Config) -> str:
    listen = config.servers[0].listens[0]
    host = "127.0.0.1" if listen.host in ("0.0.0.0", "::") else listen.host
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{listen.port}"


def _family(host: str) -> int | None:
    """4 or 6 for an IP address, None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]")).version
    except ValueError:
        return None


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a.strip("[]")) == ipaddress.ip_address(b.strip("[]"))
    except ValueError:
        return a == b


def _listen_for(config: Config, host: str, port: int) -> Listen | None:
    """The listen socket a client connecting to ``host:port`` would reach: one on that very
    address, else the wildcard of the address's family (``[::]`` is IPv6-only, as nginx's
    ipv6only=on). A name is not resolved: the wildcards, else the first listen on the port."""
    candidates = [lst for s in config.servers for lst in s.listens if lst.port == port]
    plain = "127.0.0.1" if host == "localhost" else host.strip("[]")
    for lst in candidates:
        if _same_ip(lst.host, plain):
            return lst
    family = _family(plain)
    wildcards = {4: ("0.0.0.0",), 6: ("::",), None: ("0.0.0.0", "::")}[family]
    for wildcard in wildcards:
        for lst in candidates:
            if lst.host == wildcard:
                return lst
    if family is not None:  # an IP address no listen socket is bound to
        return None
    return candidates[0] if candidates else None


def _server_title(server: ServerConfig) -> str:
    names = " ".join(f'"{n}"' for n in server.server_names)
    listens = ", ".join(
        _address(lst)
        + (" default_server" if lst.default_server else "")
        + (" ssl" if lst.ssl else "")
        for lst in server.listens
    )
    return f"server_name {names} (listen {listens})"


def _server_reason(selector, server: ServerConfig, listen: Listen, host: str) -> str:
    default = selector.default_for((listen.host, listen.port))
    names = [n.lower() for n in server.server_names]
    if host and host in names:
        return f'chosen by exact server_name "{host}"'
    if server is default and not any(_name_matches(n, host) for n in names):
        return f"default server for {_address(listen)} (no server_name matches {host!r})"
    return f'chosen by server_name matching "{host}" (wildcard or regex)'


def _name_matches(name: str, host: str) -> bool:
    if not host:
        return name == ""
    if name.startswith("*."):
        return host.endswith(name[1:])
    if name.endswith(".*"):
        return host.startswith(name[:-1])
    return name == host


def _location_title(location: LocationConfig) -> str:
    if not location.pattern:
        return "(none: server-level settings)"
    return f"{location.modifier} {location.pattern}".strip()


def _at(location: LocationConfig) -> str:
    return f" at {location.span}" if location.span is not None else ""


def _location_reason(location: LocationConfig) -> str:
    return (
        {
            "": "longest matching prefix, and no regex location matched",
            "=": "exact match (stops the search)",
            "^~": 'longest matching prefix with "^~" (regex locations are not tried)',
            "~": "first matching regex (case-sensitive) in file order",
            "~*": "first matching regex (case-insensitive) in file order",
        }[location.modifier]
        if location.pattern
        else "no location matches this path"
    )


def _settings(server: ServerConfig, location: LocationConfig, tls: bool = False) -> list[str]:
    rows: list[tuple[str, str]] = []
    for name in type(location).model_fields:
        if name in _SKIPPED_FIELDS:
            continue
        value = getattr(location, name)
        rows.append((name.rstrip("_"), _show(name, value)))
    for name in ("client_header_timeout", "keepalive_timeout", "client_header_max_size"):
        rows.append((name, _show(name, getattr(server, name))))
    if tls:
        rows.extend((name, _show(name, getattr(server, name))) for name in _TLS_FIELDS)
    width = max(len(k) for k, _ in rows)
    return [f"  {k.ljust(width)}  {v}" for k, v in rows]


def _show(name: str, value: object) -> str:
    if name == "types" and isinstance(value, dict):
        return f"{len(value)} extensions"
    if name == "maps" and isinstance(value, dict) and value:
        return "; ".join(_map_summary(table) for table in value.values())
    if isinstance(value, frozenset):
        return " ".join(sorted(value))
    if isinstance(value, list):
        if not value:
            return "(none)"
        return "; ".join(_show("", v) for v in value)
    if isinstance(value, dict):
        if not value:
            return "(none)"
        return "; ".join(f"{k} -> {_show('', v)}" for k, v in value.items())
    if hasattr(value, "model_dump"):
        data = value.model_dump(exclude={"span", "written_at"})  # type: ignore[attr-defined]
        return " ".join(f"{k}={v}" for k, v in data.items() if v not in (None, False))
    if name.endswith("size") and isinstance(value, int):
        return f"{value} bytes" + (" (unlimited)" if value == 0 else "")
    if name.endswith("timeout") and isinstance(value, float):
        return f"{value:g}s"
    if value == "":
        return '""'  # an empty string, not a blank (asgi_root_path)
    return "(none)" if value is None else str(value)


def _map_summary(table: MapTable) -> str:
    """``$expires from $sent_http_content_type (13 entries, default "1y")``."""
    entries = len(table.exact) + len(table.suffixes) + len(table.prefixes) + len(table.regexes)
    flags = "".join(f", {flag}" for flag in ("hostnames", "volatile") if getattr(table, flag))
    return (
        f"${table.variable} from {table.source} ({entries} "
        f'{"entry" if entries == 1 else "entries"}, default "{table.default}"{flags})'
    )
