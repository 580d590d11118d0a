"""Built-in handlers. Importing this package registers them in ``framework.registry``."""

import importlib

BUILTIN_MODULES = ("redirect", "upload", "cgi", "static", "autoindex")

for _name in BUILTIN_MODULES:
    try:
        importlib.import_module(f"handlers.{_name}")
    except ModuleNotFoundError as exc:  # TEMPORARY during parallel development
        if exc.name != f"handlers.{_name}":
            raise
