"""Directives for access control: ``allow``/``deny``, ``auth_basic``, ``auth_basic_user_file``:
their rows of the directive table, their value parsers and the ``LocationConfig`` fields
they fill. This module must not import ``framework.config.models``, which mixes
``AccessFields`` in."""

from __future__ import annotations

from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec


class AccessFields(Model):
    """The ``LocationConfig`` fields of these directives."""


SPECS: list[DirectiveSpec] = []
