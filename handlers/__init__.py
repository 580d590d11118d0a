"""Built-in handlers. Importing this package registers them in ``framework.registry``,
through the same API that plugins use."""

from handlers import autoindex, cgi, redirect, static, upload

__all__ = ["autoindex", "cgi", "redirect", "static", "upload"]
