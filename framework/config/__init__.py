"""Configuration: syntax tree -> validated, inherited models.

``build.load_config`` is the entry point; ``directives`` holds the directive table,
``values`` the argument parsers, ``handler_settings`` the plugin settings validation,
``lint`` the warnings, ``explain`` and ``schema`` the tooling, ``models`` the result.
"""
