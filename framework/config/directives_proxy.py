"""The reverse proxy: ``proxy_pass``, ``proxy_*`` and ``upstream NAME { ... }``: their rows of
the directive table, their value parsers and the fields they fill (``ProxyFields`` in
``LocationConfig``, ``UpstreamFields`` in ``Config``). This module must not import
``framework.config.models``, which mixes them in."""

from __future__ import annotations

from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec


class ProxyFields(Model):
    """The ``LocationConfig`` fields of the proxy directives."""


class UpstreamFields(Model):
    """The ``Config`` fields of ``upstream`` blocks."""


SPECS: list[DirectiveSpec] = []

__all__ = ["SPECS", "ProxyFields", "UpstreamFields"]
