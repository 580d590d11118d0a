"""Directives for TLS: ``ssl_certificate``, ``ssl_certificate_key``, ``ssl_protocols``,
``ssl_ciphers``, session settings: their rows of the directive table, their value parsers
and the ``ServerConfig`` fields they fill. This module must not import
``framework.config.models``, which mixes ``TlsFields`` in."""

from __future__ import annotations

from pathlib import Path

from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec


class TlsFields(Model):
    """The ``ServerConfig`` fields of these directives (nginx's defaults)."""

    ssl_certificate: Path | None = None  # PEM: the certificate, then its chain
    ssl_certificate_key: Path | None = None  # PEM private key
    ssl_protocols: frozenset[str] = frozenset({"TLSv1.2", "TLSv1.3"})
    ssl_ciphers: str = "HIGH:!aNULL:!MD5"  # OpenSSL cipher list (TLS 1.2 and below)
    ssl_prefer_server_ciphers: bool = False
    ssl_session_tickets: bool = True
    ssl_session_timeout: float = 300.0  # seconds


SPECS: list[DirectiveSpec] = []
