"""``webserv cert NAME...``: a self-signed certificate and key for development."""

from __future__ import annotations

import argparse


def add_cert_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``cert`` subcommand's arguments."""
    parser.add_argument("names", nargs="+", metavar="NAME", help="DNS names or IP addresses")


def command_cert(args: argparse.Namespace) -> int:
    """Write the certificate and key; the exit code."""
    raise NotImplementedError("webserv cert is being built")
