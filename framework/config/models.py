"""Typed configuration models (pydantic v2).

These are the *effective* models: inheritance (top level -> server -> location -> nested
location) is already applied by ``framework.config.build``, so every ``LocationConfig`` holds
the complete settings that apply inside it. Handlers read them directly; nothing in the hot
path walks parents. Paths are absolute (resolved against the main config file's directory).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from config_grammar.tree import Span
from framework.config.directives_access import AccessFields
from framework.config.directives_apps import AppFields
from framework.config.directives_gzip import GzipFields
from framework.config.directives_headers import HeaderFields
from framework.config.directives_map import MapFields
from framework.config.directives_ops import OpsFields
from framework.config.directives_proxy import ProxyFields, UpstreamFields
from framework.config.directives_realip import RealIpFields
from framework.config.directives_tls import TlsFields
from framework.config.directives_try_files import TryFilesFields
from framework.config.directives_websocket import WebSocketFields
from framework.config.model_base import Model

__all__ = ["Model"]


def shown_address(address: tuple[str, int]) -> str:
    """``host:port`` as written in a URL or a listen line (``[::1]:8080`` for IPv6)."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Listen(Model):
    """``listen [ADDR:]PORT [default_server] [ssl] [proxy_protocol];`` -- ``host`` is a
    literal IP ('0.0.0.0', '::', '127.0.0.1'); ``localhost`` is stored as '127.0.0.1'.
    ``ssl``: connections on this address speak TLS; ``proxy_protocol``: each connection
    starts with a PROXY protocol (v1 or v2) header."""

    host: str = "0.0.0.0"
    port: int = 8080
    default_server: bool = False
    ssl: bool = False
    proxy_protocol: bool = False
    span: Span | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


class ErrorPage(Model):
    """``error_page CODE ... [=NEW] URI;`` for one code."""

    uri: str
    status_override: int | None = None  # from '=code'; None keeps the original status


class CgiRule(Model):
    """``cgi EXT [INTERPRETER] [virtual];``"""

    extension: str  # with the leading dot, e.g. '.py'
    interpreter: Path | None = None  # None: exec the script itself
    virtual: bool = False


class AccessLog(Model):
    target: Literal["stdout", "off"] | Path = "stdout"
    format: Literal["combined", "json"] = "combined"


class Return(Model):
    """``return CODE [URL|TEXT];`` or ``return URL;`` (302)."""

    status: int
    url: str | None = None  # for 301/302/303/307/308
    text: str | None = None  # for other codes


class HandlerSpec(Model):
    """``handler NAME { SETTING VALUE; ... }`` after validation against the handler's
    ``Settings`` model (a pydantic model instance)."""

    name: str
    settings: Any
    span: Span | None = None


LocationModifier = Literal["", "=", "^~", "~", "~*"]


class LocationConfig(
    RealIpFields,
    HeaderFields,
    GzipFields,
    AccessFields,
    TryFilesFields,
    MapFields,
    AppFields,
    WebSocketFields,
    ProxyFields,
    Model,
):
    """A ``location`` block (or, for ``modifier == "" and pattern == ""``, the implicit
    server-level context used when no location matches) with effective settings."""

    modifier: LocationModifier = ""
    pattern: str = ""
    span: Span | None = None
    children: list[LocationConfig] = Field(default_factory=list)
    regex: re.Pattern[str] | None = None  # compiled for '~' / '~*'

    # content
    root: Path = Path("html")
    alias: Path | None = None
    index: list[str] = Field(default_factory=lambda: ["index.html"])
    autoindex: bool = False
    autoindex_format: Literal["html", "json"] = "html"
    allow_methods: frozenset[str] = frozenset({"GET", "HEAD", "POST"})
    return_: Return | None = None  # not inherited into nested locations
    error_pages: dict[int, ErrorPage] = Field(default_factory=dict)
    types: dict[str, str] = Field(default_factory=dict)  # extension (no dot, lower) -> MIME
    default_type: str = "application/octet-stream"

    # limits and timeouts (seconds / bytes); 0 body size = unlimited
    client_max_body_size: int = 1024 * 1024
    client_body_timeout: float = 60.0
    client_body_min_rate: int = 500  # bytes/s, after client_body_timeout; 0 = off
    send_timeout: float = 60.0

    # logging
    access_log: AccessLog = Field(default_factory=AccessLog)

    # upload / cgi / plugins
    upload_store: Path | None = None
    cgi: list[CgiRule] = Field(default_factory=list)
    cgi_timeout: float = 60.0
    cgi_buffer_request_body: bool = True
    handlers: list[HandlerSpec] = Field(default_factory=list)


class ServerConfig(TlsFields, Model):
    listens: list[Listen] = Field(default_factory=lambda: [Listen()])
    server_names: list[str] = Field(default_factory=lambda: [""])
    span: Span | None = None
    # settings that apply where no location matches, and the template locations inherit from
    context: LocationConfig = Field(default_factory=LocationConfig)
    locations: list[LocationConfig] = Field(default_factory=list)
    client_header_timeout: float = 60.0
    keepalive_timeout: float = 75.0
    client_header_max_size: int = 16 * 1024


class ErrorLog(Model):
    target: Literal["stderr"] | Path = "stderr"
    level: Literal["debug", "info", "warn", "error"] = "warn"


class Config(OpsFields, UpstreamFields, Model):
    """The whole validated configuration."""

    source: Path | None = None  # the main config file; None for the embedded default
    workers: int = 1  # 'auto' is resolved to os.cpu_count()
    event_loop: Literal["auto", "asyncio", "uvloop"] = "auto"
    error_log: ErrorLog = Field(default_factory=ErrorLog)
    pid: Path | None = None
    shutdown_timeout: float = 30.0
    load_modules: list[str] = Field(default_factory=list)
    max_connections: int = 1024
    servers: list[ServerConfig] = Field(default_factory=list)
