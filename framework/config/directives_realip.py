"""Directives for proxy awareness: ``set_real_ip_from``, ``real_ip_header``,
``real_ip_recursive``, ``absolute_redirect``, ``port_in_redirect``: their rows of the
directive table, their value parsers and the ``LocationConfig`` fields they fill. This
module must not import ``framework.config.models``, which mixes ``RealIpFields`` in."""

from __future__ import annotations

from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec


class RealIpFields(Model):
    """The ``LocationConfig`` fields of these directives."""


SPECS: list[DirectiveSpec] = []
