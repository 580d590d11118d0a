"""``webserv lsp``: a Language Server Protocol server for webserv configs (pygls)."""

from __future__ import annotations

import logging
import os
import sys


def serve_stdio() -> int:
    """Serve LSP on stdin/stdout until the client exits; returns the exit code (0 after a
    ``shutdown`` request, 1 when the client exits or disconnects without one).

    stdout carries the protocol only: the server writes to a private copy of it, and file
    descriptor 1 and ``sys.stdout`` are pointed at stderr, so that a ``load_module``d plugin
    that prints (or a child process it starts) cannot corrupt the stream."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="webserv lsp: %(levelname)s %(message)s"
    )
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    from framework.lsp.server import build_server

    server = build_server()
    try:
        server.start_io(sys.stdin.buffer, protocol_out)
    finally:
        protocol_out.close()
    return 0 if server.shutdown_requested else 1
