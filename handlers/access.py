"""Built-in handler: allow and deny."""
