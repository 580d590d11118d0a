"""Directives that host Python apps in a location: ``asgi``, ``wsgi`` and their settings.
Their rows of the directive table, their value parsers and the ``LocationConfig`` fields they
fill. This module must not import ``framework.config.models``, which mixes ``AppFields`` in."""

from __future__ import annotations

from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec


class AppFields(Model):
    """The ``LocationConfig`` fields of the app directives."""


SPECS: list[DirectiveSpec] = []

__all__ = ["SPECS", "AppFields"]
