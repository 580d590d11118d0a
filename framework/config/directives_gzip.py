"""Directives for compression: ``gzip*``, ``gzip_static``, ``brotli_static``: their rows of the
directive table, their value parsers and the ``LocationConfig`` fields they fill. This
module must not import ``framework.config.models``, which mixes ``GzipFields`` in."""

from __future__ import annotations

from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec


class GzipFields(Model):
    """The ``LocationConfig`` fields of these directives."""


SPECS: list[DirectiveSpec] = []
