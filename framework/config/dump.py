"""``validate-config --dump``: the effective configuration, like ``nginx -T``."""

from __future__ import annotations

import argparse

from framework.config.build import LoadResult


def command_dump(args: argparse.Namespace, result: LoadResult) -> int:
    """Print the effective config of ``result``; the exit code."""
    raise NotImplementedError("validate-config --dump is being built")
