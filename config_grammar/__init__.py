"""The configuration language: Lark grammar, parser with spans, includes, diagnostics, fmt.

- ``grammar.lark``: the LALR grammar of the generic nginx syntax (terminals and rules).
- ``parser``: ``parse_text`` / ``parse_file`` -> ``ParseResult(nodes, diagnostics, sources)``.
- ``tree``: ``Span``, ``Arg``, ``Directive``, ``Comment``.
- ``diagnostics`` / ``render``: ``Diagnostic`` and the text, JSON and SARIF renderers.
- ``fmt``: ``format_text`` (``webserv fmt``).

Submodules are imported explicitly (``from config_grammar.parser import parse_text``) so that
importing ``config_grammar.tree`` stays cheap.
"""
