"""Built-in handlers. Importing this package registers them in ``framework.registry``,
through the same API that plugins use."""

from handlers import (
    access,
    auth_basic,
    autoindex,
    cgi,
    gzip,
    headers,
    redirect,
    static,
    try_files,
    upload,
)

__all__ = [
    "access",
    "auth_basic",
    "autoindex",
    "cgi",
    "gzip",
    "headers",
    "redirect",
    "static",
    "try_files",
    "upload",
]
