"""Built-in handlers. Importing this package registers them in ``framework.registry``,
through the same API that plugins use."""

from handlers import (
    access,
    asgi,
    auth_basic,
    autoindex,
    cgi,
    gzip,
    headers,
    proxy,
    redirect,
    static,
    try_files,
    upload,
    wsgi,
)

__all__ = [
    "access",
    "asgi",
    "auth_basic",
    "autoindex",
    "cgi",
    "gzip",
    "headers",
    "proxy",
    "redirect",
    "static",
    "try_files",
    "upload",
    "wsgi",
]
