"""Directives for operating it: ``user``: their rows of the directive table, their value
parsers and the ``Config`` fields they fill. This module must not import
``framework.config.models``, which mixes ``OpsFields`` in."""

from __future__ import annotations

from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec


class OpsFields(Model):
    """The ``Config`` fields of these directives."""


SPECS: list[DirectiveSpec] = []
