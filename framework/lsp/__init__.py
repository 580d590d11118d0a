"""``webserv lsp``: a Language Server Protocol server for webserv configs (pygls)."""

from __future__ import annotations


def serve_stdio() -> int:
    """Serve LSP on stdin/stdout until the client exits; returns the exit code."""
    raise NotImplementedError("the language server is being written")
