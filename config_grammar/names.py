"""Directive names the parser knows, used only to spot a missing ``;``.

``listen 80`` followed on the next line by ``root www;`` is valid syntax (one directive with
three arguments), so the parser cannot see the missing ``;`` from the grammar alone. When a
directive's arguments continue on a new line that starts with one of these names, the parser
reports the missing ``;`` instead.
"""

from __future__ import annotations

KNOWN_DIRECTIVES: frozenset[str] = frozenset(
    {
        "access_log", "alias", "allow_methods", "autoindex", "autoindex_format", "cgi",
        "cgi_buffer_request_body", "cgi_timeout", "client_body_timeout",
        "client_header_max_size", "client_header_timeout", "client_max_body_size",
        "default_type", "error_log", "error_page", "event_loop", "handler", "http", "include",
        "index", "keepalive_timeout", "listen", "load_module", "location", "max_connections",
        "pid", "return", "root", "send_timeout", "server", "server_name", "shutdown_timeout",
        "types", "upload_store", "workers",
    }
)  # fmt: skip
