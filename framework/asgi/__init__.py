"""ASGI 3.0 apps on the webserv engine: app loading (``loader``), the ``lifespan`` protocol
per worker, the ``http`` scope and its receive/send cycle (``scope``, ``http``) and the
``websocket`` scope (``websocket``). ``handlers/asgi.py`` puts them in a location's chain."""

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}
"""The ``scope["asgi"]`` dict (shared by every scope: apps only read it)."""
