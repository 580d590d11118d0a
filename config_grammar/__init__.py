"""The configuration language: Lark grammar, parser with spans, includes, diagnostics, fmt."""
